"""Every SQL statement that touches watch history."""

from __future__ import annotations

import uuid
from typing import Any

from shared import db
from shared.sql.videos import EXTRA_COLUMNS_V, OWNER_COLUMNS_U, VIDEO_COLUMNS_V


def list_for_user(*, user_id: uuid.UUID, limit: int, offset: int) -> list[dict[str, Any]]:
    """Newest first; another user's video that is now unpublished is hidden."""
    return db.fetch_all(
        f"SELECT {VIDEO_COLUMNS_V}, {EXTRA_COLUMNS_V}, {OWNER_COLUMNS_U}"
        " FROM watch_history h JOIN videos v ON v.id = h.video_id JOIN users u ON u.id = v.user_id"
        " WHERE h.user_id = :uid AND (v.is_published OR v.user_id = :uid)"
        " ORDER BY h.watched_at DESC, h.id DESC LIMIT :limit OFFSET :offset",
        uid=user_id, limit=limit, offset=offset,
    )

