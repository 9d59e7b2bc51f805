"""Every SQL statement that touches notifications and notification settings (mutes)."""

from __future__ import annotations

import uuid
from typing import Any

from shared import db
from shared.sql.videos import reachable_by

# A type is delivered unless the recipient muted it: an anti-join on notification_mutes' primary key.
_NOT_MUTED = ("NOT EXISTS (SELECT 1 FROM notification_mutes m WHERE m.user_id = {recipient} AND m.type = :type)")
# Nothing a user did reaches someone who blocked them (user_blocks, migration 0017: "their comments and posts are
# hidden for the blocker"): an anti-join on user_blocks' primary key (blocker_id, blocked_id).
_NOT_BLOCKED = "NOT EXISTS (SELECT 1 FROM user_blocks b WHERE b.blocker_id = {recipient} AND b.blocked_id = {actor})"


def insert(*, recipient_id: uuid.UUID, type: str, actor_id: uuid.UUID | None, video_id: uuid.UUID | None,
           comment_id: uuid.UUID | None, report_id: uuid.UUID | None, export_id: uuid.UUID | None) -> bool:
    """One notification, unless the recipient muted its type (or it is a video announced to them already); True
    when a row was written. Joins the caller's transaction when there is one."""
    return db.execute(
        "INSERT INTO notifications (recipient_id, type, actor_id, video_id, comment_id, report_id, export_id)"
        " SELECT :rid, :type, :aid, :vid, :cid, :repid, :expid"
        f" WHERE {_NOT_MUTED.format(recipient=':rid')}"
        f" AND (CAST(:aid AS uuid) IS NULL OR {_NOT_BLOCKED.format(recipient=':rid', actor=':aid')})"
        " ON CONFLICT DO NOTHING",
        rid=recipient_id, type=type, aid=actor_id, vid=video_id, cid=comment_id, repid=report_id, expid=export_id,
    ) == 1


def insert_for_video_owner(*, video_id: uuid.UUID, type: str) -> bool:
    """News of a video for its owner (its processing finished or failed), unless muted; True when written."""
    return db.execute(
        "INSERT INTO notifications (recipient_id, type, video_id) SELECT v.user_id, :type, v.id FROM videos v"
        f" WHERE v.id = :vid AND {_NOT_MUTED.format(recipient='v.user_id')}", vid=video_id, type=type) == 1


# A comment's recipients, one row each: the author of the comment it answers (`comment.reply`) and the video's owner
# (`comment.created`), never the comment's own author. A reply tells the owner once: as `comment.reply` when the owner
# wrote the comment answered. A held comment (an `approval` video) is news for the owner only, who decides on it; the
# author answered hears of it once approved (comment_approved).
_COMMENT_NEWS = (
    "INSERT INTO notifications (recipient_id, type, actor_id, video_id, comment_id)"
    " SELECT r.recipient_id, r.type, c.user_id, c.video_id, c.id"
    " FROM comments c JOIN videos v ON v.id = c.video_id LEFT JOIN comments p ON p.id = c.parent_id"
    " CROSS JOIN LATERAL (VALUES (p.user_id, 'comment.reply'), (v.user_id, 'comment.created')) r (recipient_id, type)"
    " WHERE c.id = :cid AND r.recipient_id IS NOT NULL AND r.recipient_id <> c.user_id AND ({which})"
    " AND NOT EXISTS (SELECT 1 FROM notification_mutes m WHERE m.user_id = r.recipient_id AND m.type = r.type)"
    f" AND {_NOT_BLOCKED.format(recipient='r.recipient_id', actor='c.user_id')}"
    " ON CONFLICT DO NOTHING"
)
_POSTED = ("(r.type = 'comment.reply' AND c.status = 'published')"
           " OR (r.type = 'comment.created' AND (c.status = 'held' OR p.user_id IS DISTINCT FROM v.user_id))")
_APPROVED = "r.type = 'comment.reply' AND c.status = 'published' AND p.user_id <> v.user_id"


def comment_posted(*, comment_id: uuid.UUID) -> int:
    """Tell a new comment's recipients, in one statement; how many were told."""
    return db.execute(_COMMENT_NEWS.format(which=_POSTED), cid=comment_id)


def comment_approved(*, comment_id: uuid.UUID) -> int:
    """A held reply was approved by the video's owner (who heard of it when it was held): tell the author of the
    comment it answers. The unique index on (comment_id, recipient_id, type) makes a second approval tell no one."""
    return db.execute(_COMMENT_NEWS.format(which=_APPROVED), cid=comment_id)


def has_subscribers(*, video_id: uuid.UUID) -> bool:
    """Whether anyone follows the video's channel (one probe of subscriptions_channel_idx)."""
    return bool(db.fetch_value(
        "SELECT EXISTS (SELECT 1 FROM videos v JOIN subscriptions s ON s.channel_id = v.user_id WHERE v.id = :vid)",
        vid=video_id))


def fan_out_published(*, video_id: uuid.UUID, after: uuid.UUID | None, limit: int) -> tuple[int, uuid.UUID | None]:
    """Announce a public video to the next `limit` subscribers of its channel past `after` (in subscriber id order,
    a range of subscriptions_channel_idx), in one statement: (subscribers read, the last one's id). Nothing is
    written when the video is no longer public; muted subscribers and ones announced to already are skipped."""
    row = db.fetch_one(
        "WITH video AS (SELECT v.id, v.user_id FROM videos v WHERE v.id = :vid AND v.is_published),"
        " chunk AS (SELECT s.subscriber_id FROM subscriptions s JOIN video ON s.channel_id = video.user_id"
        "  WHERE s.subscriber_id > CAST(:after AS uuid) ORDER BY s.subscriber_id LIMIT :limit),"
        " written AS (INSERT INTO notifications (recipient_id, type, actor_id, video_id)"
        "  SELECT c.subscriber_id, 'video.published', video.user_id, video.id FROM chunk c CROSS JOIN video"
        "  WHERE NOT EXISTS (SELECT 1 FROM notification_mutes m"
        "                    WHERE m.user_id = c.subscriber_id AND m.type = 'video.published')"
        f"  AND {_NOT_BLOCKED.format(recipient='c.subscriber_id', actor='video.user_id')}"
        "  ON CONFLICT DO NOTHING RETURNING 1)"
        " SELECT (SELECT count(*) FROM chunk) AS n, (SELECT count(*) FROM written) AS written,"
        " (SELECT subscriber_id FROM chunk ORDER BY subscriber_id DESC LIMIT 1) AS last",
        vid=video_id, after=after or uuid.UUID(int=0), limit=limit,
    )
    assert row is not None
    return int(row["n"]), row["last"]


# The page: the recipient's notifications newest first from the primary key (recipient_id, id) (or, for unread=true,
# notifications_unread_idx), cut at the cursor, then joined to what they are about. A video the recipient may no
# longer open (deleted, someone else's private video, taken down: whatever reachable_by excludes) is joined as nothing,
# so the doc shows `video: null`, and so is a comment under such a video (its text is not the recipient's to read),
# a deleted comment, and one by a user the recipient blocked since (the actor stays: it names who, not what);
# the notification itself stays, so counts and cursors never depend on other users' later actions.
_PAGE = (
    "SELECT n.id, n.type, n.read_at, n.created_at, n.report_id, n.export_id,"
    " a.id AS actor_id, a.username AS actor_username, a.fullname AS actor_fullname, a.avatar AS actor_avatar,"
    " v.id AS video_id, v.title AS video_title, v.thumbnail_url AS video_thumbnail,"
    " v.thumbnail_public_id AS video_thumbnail_public_id, v.privacy AS video_privacy,"
    " c.id AS comment_id, c.content AS comment_content"
    " FROM (SELECT * FROM notifications WHERE recipient_id = :rid{unread}{bound} ORDER BY id DESC LIMIT :limit) n"
    " LEFT JOIN users a ON a.id = n.actor_id"
    f" LEFT JOIN videos v ON v.id = n.video_id AND {reachable_by('n.recipient_id')}"
    " LEFT JOIN comments c ON c.id = n.comment_id AND c.deleted_at IS NULL AND v.id IS NOT NULL"
    f"  AND {_NOT_BLOCKED.format(recipient='n.recipient_id', actor='c.user_id')}"
    " ORDER BY n.id DESC"
)


def page_sql(*, unread: bool, after: bool) -> str:
    return _PAGE.format(unread=" AND read_at IS NULL" if unread else "",
                        bound=" AND id < :after" if after else "")


def page(*, recipient_id: uuid.UUID, limit: int, after: uuid.UUID | None, unread: bool) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"rid": recipient_id, "limit": limit}
    if after is not None:
        params["after"] = after
    return db.fetch_all(page_sql(unread=unread, after=after is not None), **params)


UNREAD_COUNT = "SELECT count(*) FROM notifications WHERE recipient_id = :rid AND read_at IS NULL"


def unread_count(*, recipient_id: uuid.UUID) -> int:
    """An index-only count over notifications_unread_idx, which holds unread rows only."""
    return int(db.fetch_value(UNREAD_COUNT, rid=recipient_id))


def mark_read(*, notification_id: uuid.UUID, recipient_id: uuid.UUID) -> int | None:
    """1 when the recipient's notification turned read, 0 when it was read already (idempotent), None when the
    recipient has no such notification (another user's is "not found" too). One statement: the row is read and
    updated under one lock, so two concurrent calls count it once."""
    row = db.fetch_one(
        "WITH target AS (SELECT id, read_at FROM notifications WHERE id = :id AND recipient_id = :rid FOR UPDATE),"
        " marked AS (UPDATE notifications n SET read_at = now() FROM target"
        "  WHERE n.id = target.id AND target.read_at IS NULL RETURNING 1)"
        " SELECT (SELECT count(*) FROM target) AS found, (SELECT count(*) FROM marked) AS marked",
        id=notification_id, rid=recipient_id)
    assert row is not None
    return int(row["marked"]) if row["found"] else None


def mark_all_read(*, recipient_id: uuid.UUID) -> int:
    """Every unread notification of the recipient (found through notifications_unread_idx); how many."""
    return db.execute("UPDATE notifications SET read_at = now() WHERE recipient_id = :rid AND read_at IS NULL",
                      rid=recipient_id)


def muted_types(*, user_id: uuid.UUID) -> set[str]:
    return {row["type"] for row in db.fetch_all("SELECT type FROM notification_mutes WHERE user_id = :uid",
                                                uid=user_id)}


def set_muted(*, user_id: uuid.UUID, mute: list[str], unmute: list[str]) -> None:
    """Mute and unmute types in one transaction (each statement idempotent, so concurrent PATCHes never conflict:
    the last one to touch a type decides it)."""
    with db.transaction() as tx:
        if mute:
            tx.execute("INSERT INTO notification_mutes (user_id, type) SELECT :uid, unnest(CAST(:types AS text[]))"
                       " ON CONFLICT DO NOTHING", uid=user_id, types=mute)
        if unmute:
            tx.execute("DELETE FROM notification_mutes WHERE user_id = :uid AND type = ANY(CAST(:types AS text[]))",
                       uid=user_id, types=unmute)


def delete_older_than(*, boundary: uuid.UUID, limit: int) -> int:
    """Retention: up to `limit` notifications whose (time-ordered) id is below `boundary` (found through
    notifications_id_brin_idx, deleted by their row addresses); how many went."""
    return db.execute(
        "DELETE FROM notifications WHERE ctid = ANY(ARRAY(SELECT ctid FROM notifications WHERE id < :b LIMIT :limit))",
        b=boundary, limit=limit)
