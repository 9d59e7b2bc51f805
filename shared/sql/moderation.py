"""Every SQL statement of moderation: roles and bans, abuse reports, takedowns, the moderation log, user blocks."""

from __future__ import annotations

import json
import uuid
from typing import Any

from shared import db
from shared.sql.paging import fetch_page, with_total

# ------------------------------------------------------------------------------------ roles and bans


def acting_role(*, user_id: uuid.UUID) -> str | None:
    """The user's role read now (never from a cache: it decides what they may do); None when banned or gone."""
    return db.fetch_value("SELECT role FROM users WHERE id = :id AND banned_at IS NULL", id=user_id)


def set_role(*, username: str, role: str) -> dict[str, Any] | None:
    """Give a user a role; their id and the role they had, or None when there is no such user. The row lock of the
    UPDATE orders concurrent changes, and `old` reads the row as it was before this one."""
    return db.fetch_one(
        "UPDATE users u SET role = :role FROM (SELECT id, role FROM users WHERE username = :username FOR UPDATE) old"
        " WHERE u.id = old.id RETURNING u.id, u.username, old.role AS old_role",
        username=username, role=role)


def ban(*, user_id: uuid.UUID) -> bool:
    """Mark a user banned; False when they already were (or are gone)."""
    return db.execute("UPDATE users SET banned_at = now() WHERE id = :id AND banned_at IS NULL", id=user_id) == 1


def is_banned(*, user_id: uuid.UUID) -> bool:
    return bool(db.fetch_value("SELECT banned_at IS NOT NULL FROM users WHERE id = :id", id=user_id))


# ------------------------------------------------------------------------------------ takedowns


def take_down_video(*, video_id: uuid.UUID) -> dict[str, Any] | None:
    """Take a video down (the trigger turns is_published off with it); its schedule, if any, is cancelled so it never
    "goes public" while down. None when it is gone or was down already."""
    return db.fetch_one(
        "UPDATE videos SET taken_down_at = now(), publish_at = NULL, updated_at = now()"
        " WHERE id = :id AND taken_down_at IS NULL RETURNING id, user_id, title",
        id=video_id)


def take_down_videos_of(*, user_id: uuid.UUID) -> list[uuid.UUID]:
    """Take every video of a banned user down (through videos_user_created_idx); their ids."""
    rows = db.fetch_all(
        "UPDATE videos SET taken_down_at = now(), publish_at = NULL, updated_at = now()"
        " WHERE user_id = :uid AND taken_down_at IS NULL RETURNING id",
        uid=user_id)
    return [r["id"] for r in rows]


# ------------------------------------------------------------------------------------ reports

_REPORT_COLUMNS = ("r.id, r.reporter_id, r.target_type, r.target_id, r.target_owner_id, r.reason, r.text, r.state,"
                   " r.created_at, r.decided_at, r.decided_by, r.action, r.note")
_RETURNING = _REPORT_COLUMNS.replace("r.", "")


def insert_report(*, reporter_id: uuid.UUID, target_type: str, target_id: uuid.UUID,
                  target_owner_id: uuid.UUID | None, reason: str, text: str) -> dict[str, Any] | None:
    """A new open report; None when this reporter already has an open report of this target (reports_open_once_idx
    decides, so two identical reports sent at once make one row)."""
    return db.fetch_one(
        "INSERT INTO reports (reporter_id, target_type, target_id, target_owner_id, reason, text)"
        " VALUES (:reporter, :type, :target, :owner, :reason, :text)"
        " ON CONFLICT (reporter_id, target_type, target_id) WHERE state = 'open' DO NOTHING"
        f" RETURNING {_RETURNING}",
        reporter=reporter_id, type=target_type, target=target_id, owner=target_owner_id, reason=reason, text=text)


def get_report(*, report_id: uuid.UUID) -> dict[str, Any] | None:
    return db.fetch_one(f"SELECT {_REPORT_COLUMNS} FROM reports r WHERE r.id = :id", id=report_id)


# What a moderator sees of the target beside the report: a video's title, a comment's or post's text, a user's name
# (null once the target is gone). Each is one primary-key lookup per row of the page.
_TARGET_SUMMARY = (
    "CASE r.target_type"
    " WHEN 'video' THEN (SELECT v.title FROM videos v WHERE v.id = r.target_id)"
    " WHEN 'comment' THEN (SELECT c.content FROM comments c WHERE c.id = r.target_id)"
    " WHEN 'tweet' THEN (SELECT t.content FROM tweets t WHERE t.id = r.target_id)"
    " WHEN 'user' THEN (SELECT u.username FROM users u WHERE u.id = r.target_id) END AS target_summary")
_COUNT_STATE = "SELECT count(*) FROM reports WHERE state = :state"


def list_reports(*, state: str, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """A page of the queue in one state, from reports_state_created_idx: open ones oldest first (first come, first
    decided), decided ones newest first; each with its reporter's name and a summary of its target."""
    direction = "ASC" if state == "open" else "DESC"
    return fetch_page(
        f"SELECT {_REPORT_COLUMNS}, rp.username AS reporter_username, {_TARGET_SUMMARY}, {with_total(_COUNT_STATE)}"
        " FROM reports r JOIN users rp ON rp.id = r.reporter_id WHERE r.state = :state"
        f" ORDER BY r.state, r.created_at {direction}, r.id {direction} LIMIT :limit OFFSET :offset",
        _COUNT_STATE, state=state, limit=limit, offset=offset)


def decide(*, report_id: uuid.UUID, by: uuid.UUID, action: str, note: str) -> dict[str, Any] | None:
    """Decide an open report. Conditional on `state = 'open'`: of two moderators deciding at once, the second waits
    on the first's row lock, then re-checks the condition on the committed row and updates nothing (None)."""
    return db.fetch_one(
        "UPDATE reports SET state = CASE WHEN :action = 'dismiss' THEN 'dismissed' ELSE 'actioned' END,"
        " action = :action, note = :note, decided_by = :by, decided_at = now()"
        f" WHERE id = :id AND state = 'open' RETURNING {_RETURNING}",
        id=report_id, by=by, action=action, note=note)


def close_others(*, report: dict[str, Any], by: uuid.UUID, note: str) -> list[dict[str, Any]]:
    """The other open reports of a target that was just acted on are actioned with it (through reports_target_idx);
    their ids and reporters, to tell them."""
    return db.fetch_all(
        "UPDATE reports SET state = 'actioned', action = :action, note = :note, decided_by = :by, decided_at = now()"
        " WHERE target_type = :type AND target_id = :target AND state = 'open' AND id <> :id"
        " RETURNING id, reporter_id",
        type=report["target_type"], target=report["target_id"], id=report["id"], action=report["action"], by=by,
        note=note)


# ------------------------------------------------------------------------------------ the log


def log_action(*, actor_id: uuid.UUID | None, action: str, target_type: str, target_id: uuid.UUID,
               report_id: uuid.UUID | None = None, note: str = "", details: dict[str, Any] | None = None) -> None:
    db.execute(
        "INSERT INTO moderation_log (actor_id, action, target_type, target_id, report_id, note, details)"
        " VALUES (:actor, :action, :type, :target, :report, :note, CAST(:details AS jsonb))",
        actor=actor_id, action=action, type=target_type, target=target_id, report=report_id, note=note,
        details=json.dumps(details or {}))


_COUNT_LOG = "SELECT count(*) FROM moderation_log"


def list_log(*, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """The log newest first (moderation_log_created_idx), each entry with its actor's name (null: the command line,
    or an account since deleted)."""
    return fetch_page(
        "SELECT m.id, m.actor_id, a.username AS actor_username, m.action, m.target_type, m.target_id, m.report_id,"
        f" m.note, m.details, m.created_at, {with_total(_COUNT_LOG)}"
        " FROM moderation_log m LEFT JOIN users a ON a.id = m.actor_id"
        " ORDER BY m.created_at DESC, m.id DESC LIMIT :limit OFFSET :offset",
        _COUNT_LOG, limit=limit, offset=offset)


# ------------------------------------------------------------------------------------ blocks

def not_blocked(viewer: str, author: str) -> str:
    """The SQL face of a block, for the lists that hide a blocked user's words: true when `viewer` (a named
    parameter) has not blocked `author` (a column or a parameter), one probe of user_blocks' primary key."""
    return f"NOT EXISTS (SELECT 1 FROM user_blocks b WHERE b.blocker_id = {viewer} AND b.blocked_id = {author})"


def block(*, blocker_id: uuid.UUID, blocked_id: uuid.UUID) -> bool:
    """Block a user; False when already blocked (a repeat is harmless)."""
    return db.execute(
        "INSERT INTO user_blocks (blocker_id, blocked_id) VALUES (:blocker, :blocked) ON CONFLICT DO NOTHING",
        blocker=blocker_id, blocked=blocked_id) == 1


def unblock(*, blocker_id: uuid.UUID, blocked_id: uuid.UUID) -> bool:
    return db.execute("DELETE FROM user_blocks WHERE blocker_id = :blocker AND blocked_id = :blocked",
                      blocker=blocker_id, blocked=blocked_id) == 1


_COUNT_BLOCKS = "SELECT count(*) FROM user_blocks WHERE blocker_id = :uid"


def list_blocks(*, blocker_id: uuid.UUID, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """The users I block, the latest first (user_blocks_blocker_created_idx)."""
    return fetch_page(
        "SELECT u.id, u.username, u.fullname, u.avatar, b.created_at AS blocked_at,"
        f" {with_total(_COUNT_BLOCKS)} FROM user_blocks b JOIN users u ON u.id = b.blocked_id"
        " WHERE b.blocker_id = :uid ORDER BY b.created_at DESC, b.blocked_id LIMIT :limit OFFSET :offset",
        _COUNT_BLOCKS, uid=blocker_id, limit=limit, offset=offset)
