"""Every SQL statement that touches tweets (community posts)."""

from __future__ import annotations

import uuid
from typing import Any

from shared import db
from shared.sql.moderation import not_blocked
from shared.sql.paging import fetch_page, with_total

_COLUMNS = "id, content, user_id, created_at, updated_at"


def insert(*, user_id: uuid.UUID, content: str) -> dict[str, Any]:
    row = db.fetch_one(f"INSERT INTO tweets (user_id, content) VALUES (:uid, :content) RETURNING {_COLUMNS}",
                       uid=user_id, content=content)
    assert row is not None
    return row


_COUNT_FOR_USER = "SELECT count(*) FROM tweets WHERE user_id = :uid"


def list_for_user(*, user_id: uuid.UUID, limit: int, offset: int,
                  viewer_id: uuid.UUID | None = None) -> tuple[list[dict[str, Any]], int]:
    """Newest first, each with its like count, and how many the user has posted; none at all for a viewer who blocks
    the user (issue #15, point 6: one uncorrelated check, evaluated once)."""
    unblocked = f" AND {not_blocked(':viewer', ':uid')}" if viewer_id is not None else ""
    count = _COUNT_FOR_USER + unblocked
    return fetch_page(
        "SELECT t.id, t.content, t.user_id, t.created_at, t.updated_at,"
        f" (SELECT count(*) FROM likes l WHERE l.tweet_id = t.id) AS likes_count, {with_total(count)}"
        f" FROM tweets t WHERE t.user_id = :uid{unblocked}"
        " ORDER BY t.created_at DESC, t.id DESC LIMIT :limit OFFSET :offset",
        count, uid=user_id, limit=limit, offset=offset, viewer=viewer_id)


def get(*, tweet_id: uuid.UUID) -> dict[str, Any] | None:
    return db.fetch_one(f"SELECT {_COLUMNS} FROM tweets WHERE id = :id", id=tweet_id)


def update_content(*, tweet_id: uuid.UUID, content: str) -> dict[str, Any] | None:
    return db.fetch_one(
        f"UPDATE tweets SET content = :content, updated_at = now() WHERE id = :id RETURNING {_COLUMNS}",
        id=tweet_id, content=content)


def delete(*, tweet_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """Delete the author's tweet; False when it was not there to delete (of concurrent deletes, only one
    finds the row: the others wait on its row lock, then see it gone)."""
    return db.execute("DELETE FROM tweets WHERE id = :id AND user_id = :uid", id=tweet_id, uid=user_id) == 1
