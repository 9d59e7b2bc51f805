"""Every SQL statement that touches comments."""

from __future__ import annotations

import uuid
from typing import Any

from shared import db

COLUMNS = "c.id, c.content, c.user_id, c.video_id, c.created_at, c.updated_at"
_RETURNING = "id, content, user_id, video_id, created_at, updated_at"


def list_for_video(*, video_id: uuid.UUID, limit: int, offset: int) -> list[dict[str, Any]]:
    """Newest first, each with its author and like count, in one round trip."""
    return db.fetch_all(
        f"SELECT {COLUMNS}, u.username AS owner_username, u.fullname AS owner_fullname, u.avatar AS owner_avatar,"
        " (SELECT count(*) FROM likes l WHERE l.comment_id = c.id) AS likes_count"
        " FROM comments c JOIN users u ON u.id = c.user_id WHERE c.video_id = :vid"
        " ORDER BY c.created_at DESC, c.id DESC LIMIT :limit OFFSET :offset",
        vid=video_id, limit=limit, offset=offset,
    )


def insert(*, video_id: uuid.UUID, user_id: uuid.UUID, content: str) -> dict[str, Any]:
    row = db.fetch_one(
        f"INSERT INTO comments (video_id, user_id, content) VALUES (:vid, :uid, :content) RETURNING {_RETURNING}",
        vid=video_id, uid=user_id, content=content)
    assert row is not None
    return row


def get_with_video(*, comment_id: uuid.UUID) -> dict[str, Any] | None:
    """A comment with its video's owner and visibility (who may see, edit or delete it)."""
    return db.fetch_one(
        f"SELECT {COLUMNS}, v.user_id AS video_owner_id, v.is_published AS video_published"
        " FROM comments c JOIN videos v ON v.id = c.video_id WHERE c.id = :id",
        id=comment_id)


def update_content(*, comment_id: uuid.UUID, content: str) -> dict[str, Any] | None:
    return db.fetch_one(
        f"UPDATE comments SET content = :content, updated_at = now() WHERE id = :id RETURNING {_RETURNING}",
        id=comment_id, content=content)


def delete(*, comment_id: uuid.UUID, by: uuid.UUID) -> bool:
    """Delete a comment `by` its author or its video's owner; False when it was not there to delete.

    The statement itself decides who deleted it: of concurrent deletes that all passed the handler's checks,
    only one finds the row (the others wait on its row lock, then see it gone), so only one may answer 200.
    """
    return db.execute(
        "DELETE FROM comments c WHERE c.id = :id"
        " AND (c.user_id = :by OR EXISTS (SELECT 1 FROM videos v WHERE v.id = c.video_id AND v.user_id = :by))",
        id=comment_id, by=by) == 1
