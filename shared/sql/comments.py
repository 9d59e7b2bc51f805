"""Every SQL statement that touches comments."""

from __future__ import annotations

import uuid
from typing import Any

from shared import db
from shared.sql.moderation import not_blocked
from shared.sql.paging import fetch_page, with_total

COLUMNS = ("c.id, c.content, c.user_id, c.video_id, c.created_at, c.updated_at, c.parent_id, c.status,"
           " c.replies_count, c.deleted_at")
_RETURNING = "id, content, user_id, video_id, created_at, updated_at, parent_id, status, replies_count, deleted_at"
_AUTHOR = ("u.username AS owner_username, u.fullname AS owner_fullname, u.avatar AS owner_avatar,"
           " (SELECT count(*) FROM likes l WHERE l.comment_id = c.id) AS likes_count")

# A video's threads: its published top-level comments, and a deleted one only while replies hang under it. Both
# the page and its total read comments_threads_idx.
_THREADS_WHERE = ("c.video_id = :vid AND c.parent_id IS NULL AND c.status = 'published'"
                  " AND (c.deleted_at IS NULL OR c.replies_count > 0)")
_COUNT_THREADS = f"SELECT count(*) FROM comments c WHERE {_THREADS_WHERE}"
_COUNT_REPLIES = "SELECT count(*) FROM comments WHERE parent_id = :pid AND status = 'published'"
_COUNT_HELD = "SELECT count(*) FROM comments WHERE video_id = :vid AND status = 'held'"


def _unblocked(viewer_id: uuid.UUID | None) -> tuple[str, dict[str, Any]]:
    """The condition (and its parameter) that hides the comments of users the viewer blocks (issue #15, point 6)."""
    if viewer_id is None:
        return "", {}
    return f" AND {not_blocked(':viewer', 'c.user_id')}", {"viewer": viewer_id}


def list_for_video(*, video_id: uuid.UUID, limit: int, offset: int,
                   viewer_id: uuid.UUID | None = None) -> tuple[list[dict[str, Any]], int]:
    """A video's threads newest first, each with its author, like count and reply count, and how many threads there
    are, in one round trip; without the threads of users `viewer_id` blocks."""
    unblocked, params = _unblocked(viewer_id)
    count = _COUNT_THREADS + unblocked
    return fetch_page(
        f"SELECT {COLUMNS}, {_AUTHOR}, {with_total(count)}"
        # LEFT JOIN: a "deleted comment" whose author deleted their account has no user (migration 0019).
        f" FROM comments c LEFT JOIN users u ON u.id = c.user_id WHERE {_THREADS_WHERE}{unblocked}"
        " ORDER BY c.created_at DESC, c.id DESC LIMIT :limit OFFSET :offset",
        count, vid=video_id, limit=limit, offset=offset, **params,
    )


def list_replies(*, parent_id: uuid.UUID, limit: int, offset: int,
                 viewer_id: uuid.UUID | None = None) -> tuple[list[dict[str, Any]], int]:
    """A thread's published replies, oldest first (a conversation reads down), from comments_replies_idx; without
    the replies of users `viewer_id` blocks."""
    unblocked, params = _unblocked(viewer_id)
    count = _COUNT_REPLIES.replace("FROM comments WHERE", "FROM comments c WHERE") + unblocked
    return fetch_page(
        f"SELECT {COLUMNS}, {_AUTHOR}, {with_total(count)}"
        " FROM comments c JOIN users u ON u.id = c.user_id WHERE c.parent_id = :pid AND c.status = 'published'"
        f"{unblocked} ORDER BY c.created_at, c.id LIMIT :limit OFFSET :offset",
        count, pid=parent_id, limit=limit, offset=offset, **params,
    )


def list_held(*, video_id: uuid.UUID, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """A video's comments held for approval, oldest first (a queue), from comments_held_idx."""
    return fetch_page(
        f"SELECT {COLUMNS}, {_AUTHOR}, {with_total(_COUNT_HELD)}"
        " FROM comments c JOIN users u ON u.id = c.user_id WHERE c.video_id = :vid AND c.status = 'held'"
        " ORDER BY c.created_at, c.id LIMIT :limit OFFSET :offset",
        _COUNT_HELD, vid=video_id, limit=limit, offset=offset,
    )


def insert(*, video_id: uuid.UUID, user_id: uuid.UUID, content: str, status: str = "published") -> dict[str, Any]:
    row = db.fetch_one(
        "INSERT INTO comments (video_id, user_id, content, status) VALUES (:vid, :uid, :content, :status)"
        f" RETURNING {_RETURNING}",
        vid=video_id, uid=user_id, content=content, status=status)
    assert row is not None
    return row


def insert_reply(*, parent_id: uuid.UUID, video_id: uuid.UUID, user_id: uuid.UUID, content: str,
                 status: str) -> dict[str, Any] | None:
    """A reply under the top-level comment `parent_id` of `video_id`, counted on it in the same statement; None when
    that parent is gone, deleted or not a published thread of this video.

    Counting the reply is an UPDATE of the parent row: a delete of the parent racing it either waits for it and
    then sees the new count (so keeps the thread as a "deleted comment"), or wins and this finds no parent."""
    return db.fetch_one(
        "WITH parent AS (UPDATE comments SET"
        "  replies_count = replies_count + CASE WHEN :status = 'published' THEN 1 ELSE 0 END,"
        "  held_replies_count = held_replies_count + CASE WHEN :status = 'held' THEN 1 ELSE 0 END"
        " WHERE id = :pid AND video_id = :vid AND parent_id IS NULL AND status = 'published' AND deleted_at IS NULL"
        " RETURNING id)"
        " INSERT INTO comments (video_id, user_id, content, status, parent_id)"
        f" SELECT :vid, :uid, :content, :status, parent.id FROM parent RETURNING {_RETURNING}",
        pid=parent_id, vid=video_id, uid=user_id, content=content, status=status)


def get_with_video(*, comment_id: uuid.UUID) -> dict[str, Any] | None:
    """A comment with its video's owner and visibility (who may see, edit or delete it)."""
    return db.fetch_one(
        f"SELECT {COLUMNS}, v.user_id AS video_owner_id, v.privacy AS video_privacy,"
        " v.taken_down_at IS NOT NULL AS video_taken_down FROM comments c JOIN videos v ON v.id = c.video_id"
        " WHERE c.id = :id",
        id=comment_id)


def update_content(*, comment_id: uuid.UUID, content: str) -> dict[str, Any] | None:
    return db.fetch_one(
        "UPDATE comments SET content = :content, updated_at = now() WHERE id = :id AND deleted_at IS NULL"
        f" RETURNING {_RETURNING}",
        id=comment_id, content=content)


_MAY_DELETE = "(c.user_id = :by OR EXISTS (SELECT 1 FROM videos v WHERE v.id = c.video_id AND v.user_id = :by))"


def delete(*, comment_id: uuid.UUID, by: uuid.UUID, moderator: bool = False) -> bool:
    """Delete a comment `by` its author or its video's owner (or a moderator taking it down, `moderator`: the service
    checked the role); False when it was not there to delete.

    The comment's row is locked first, so of concurrent deletes that all passed the handler's checks only one finds
    it (the others wait, then see it gone), and a reply being added waits too. A top-level comment with replies
    stays as a "deleted comment" (text erased) and keeps its thread; a reply is uncounted on its parent, and a
    deleted parent goes with its last reply. Rows are always locked child first, then parent: no deadlock."""
    with db.transaction() as tx:
        row = tx.fetch_one(
            "SELECT c.parent_id, c.status, c.replies_count + c.held_replies_count AS replies FROM comments c"
            f" WHERE c.id = :id AND c.deleted_at IS NULL AND {'TRUE' if moderator else _MAY_DELETE} FOR UPDATE",
            id=comment_id, by=by)
        if row is None:
            return False
        if row["replies"]:
            tx.execute("UPDATE comments SET deleted_at = now(), content = '', updated_at = now() WHERE id = :id",
                       id=comment_id)
            return True
        tx.execute("DELETE FROM comments WHERE id = :id", id=comment_id)
        if row["parent_id"] is not None:
            held = row["status"] == "held"
            tx.execute(
                "UPDATE comments SET replies_count = replies_count - :published, held_replies_count ="
                " held_replies_count - :held WHERE id = :pid",
                pid=row["parent_id"], published=0 if held else 1, held=1 if held else 0)
            tx.execute("DELETE FROM comments WHERE id = :pid AND deleted_at IS NOT NULL"
                       " AND replies_count = 0 AND held_replies_count = 0", pid=row["parent_id"])
    return True


def approve(*, comment_id: uuid.UUID) -> dict[str, Any] | None:
    """Publish a held comment; a reply moves from its parent's held count to its reply count in the same statement.
    Approving one already published changes nothing (two approvals racing: the second waits on the row lock, then
    finds it published) and answers the comment as it is; None when it is gone."""
    with db.transaction() as tx:
        row = tx.fetch_one(
            f"UPDATE comments SET status = 'published' WHERE id = :id AND status = 'held' RETURNING {_RETURNING}",
            id=comment_id)
        if row is None:
            return tx.fetch_one(f"SELECT {_RETURNING} FROM comments WHERE id = :id", id=comment_id)
        if row["parent_id"] is not None:
            tx.execute("UPDATE comments SET replies_count = replies_count + 1,"
                       " held_replies_count = held_replies_count - 1 WHERE id = :pid", pid=row["parent_id"])
        return row
