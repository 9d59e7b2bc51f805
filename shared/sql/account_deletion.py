"""Every SQL statement an account deletion runs beyond the cascades (shared/services/account_deletion.py): locking
the account, finding what it stored, and taking its comments out of other people's threads with their counts kept
right. Each runs inside the deletion's one transaction."""

from __future__ import annotations

import uuid
from typing import Any

from shared import db


def lock_account(*, user_id: uuid.UUID) -> dict[str, Any] | None:
    """The account's row, locked until the deletion commits: a concurrent deletion waits, then finds nothing; a
    concurrent insert naming the user (a comment, a like, a video) waits on the foreign key's share lock, then fails
    rather than leaving a row behind."""
    return db.fetch_one(
        "SELECT id, username, avatar_public_id, cover_image_public_id FROM users WHERE id = :id FOR UPDATE",
        id=user_id)


def videos_media(*, user_id: uuid.UUID) -> list[dict[str, Any]]:
    """The account's videos with where their media are stored (locked: a toggle or an edit racing waits)."""
    return db.fetch_all(
        "SELECT id, video_file_public_id, thumbnail_public_id, hls_master_public_id, storage, media_node"
        " FROM videos WHERE user_id = :id FOR UPDATE",
        id=user_id)


def stored_leftovers(*, user_id: uuid.UUID) -> list[dict[str, Any]]:
    """Other files the account stored that its rows' cascade would forget: uploads never registered as a video (or
    an avatar), and its data exports. (public_id, resource_type, storage, media_node)."""
    return db.fetch_all(
        "SELECT public_id, CASE WHEN kind = 'video' THEN 'video' ELSE 'image' END AS resource_type, storage,"
        " NULL::text AS media_node"
        " FROM uploads WHERE user_id = :id AND status <> 'consumed' AND public_id IS NOT NULL"
        " UNION ALL"
        " SELECT public_id, 'raw', storage, media_node FROM data_exports WHERE user_id = :id AND public_id IS NOT NULL",
        id=user_id)


def related_channels(*, user_id: uuid.UUID) -> list[uuid.UUID]:
    """The channels whose cached counts the deletion changes: those the user subscribed to, and their subscribers."""
    return [row["id"] for row in db.fetch_all(
        "SELECT channel_id AS id FROM subscriptions WHERE subscriber_id = :id"
        " UNION SELECT subscriber_id FROM subscriptions WHERE channel_id = :id",
        id=user_id)]


def remove_replies(*, user_id: uuid.UUID) -> list[uuid.UUID]:
    """Delete the account's replies and uncount each on its thread's parent in the same statement; answer the
    parents they hung under. Rows are locked child first, then parent, as comments_sql.delete does: no deadlock with
    a single comment's delete."""
    rows = db.fetch_all(
        "WITH gone AS (DELETE FROM comments WHERE user_id = :id AND parent_id IS NOT NULL"
        "  RETURNING parent_id, status),"
        " counts AS (SELECT parent_id, count(*) FILTER (WHERE status = 'published') AS published,"
        "  count(*) FILTER (WHERE status = 'held') AS held FROM gone GROUP BY parent_id)"
        " UPDATE comments c SET replies_count = c.replies_count - counts.published,"
        "  held_replies_count = c.held_replies_count - counts.held FROM counts WHERE c.id = counts.parent_id"
        " RETURNING c.id",
        id=user_id)
    return [row["id"] for row in rows]


def remove_emptied_threads(*, parent_ids: list[uuid.UUID]) -> None:
    """Deleted parents left without any reply (their last one was the account's): the thread goes, as it does when
    its last reply is deleted (comments_sql.delete). A statement of its own: within the one above, a DELETE would not
    see the counts its UPDATE just wrote."""
    if parent_ids:
        db.execute("DELETE FROM comments WHERE id = ANY(CAST(:ids AS uuid[])) AND deleted_at IS NOT NULL"
                   " AND replies_count = 0 AND held_replies_count = 0", ids=[str(i) for i in parent_ids])


def remove_top_level_comments(*, user_id: uuid.UUID) -> int:
    """The account's top-level comments: those nobody answered are deleted; those with replies stay as a "deleted
    comment" (text erased, no author) so others' threads read on. Deleted first, then kept: a reply racing in waits
    on the row lock, the DELETE then re-checks the row, skips it, and the UPDATE keeps it as a deleted comment."""
    db.execute("DELETE FROM comments WHERE user_id = :id AND parent_id IS NULL"
               " AND replies_count = 0 AND held_replies_count = 0", id=user_id)
    return db.execute(
        "UPDATE comments SET user_id = NULL, content = '', deleted_at = coalesce(deleted_at, now()),"
        " updated_at = now() WHERE user_id = :id AND parent_id IS NULL",
        id=user_id)


def delete_account(*, user_id: uuid.UUID) -> bool:
    """The users row; everything else it owns goes by cascade (videos and their comments, likes, playlists, history,
    subscriptions both ways, sessions, tokens, two-factor, uploads, exports, notifications)."""
    return db.execute("DELETE FROM users WHERE id = :id", id=user_id) == 1
