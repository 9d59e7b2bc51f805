"""Every SQL statement that touches watch history."""

from __future__ import annotations

import uuid
from typing import Any

from shared.sql.paging import fetch_page, with_total
from shared.sql.videos import EXTRA_COLUMNS_V, OWNER_COLUMNS_U, VIDEO_COLUMNS_V, reachable_by

_MAY_OPEN = reachable_by(":uid")  # the caller's own list: an unlisted video they watched stays in it
_COUNT_FOR_USER = ("SELECT count(*) FROM watch_history h JOIN videos v ON v.id = h.video_id"
                   f" WHERE h.user_id = :uid AND {_MAY_OPEN}")


def list_for_user(*, user_id: uuid.UUID, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Newest first, and how many there are; another user's video that is now private is hidden."""
    return fetch_page(
        f"SELECT {VIDEO_COLUMNS_V}, {EXTRA_COLUMNS_V}, {OWNER_COLUMNS_U}, {with_total(_COUNT_FOR_USER)},"
        # where the caller stopped in each (issue #17.4): the primary key of watch_progress, per row of the page
        " p.position_seconds, p.finished AS position_finished"
        " FROM watch_history h JOIN videos v ON v.id = h.video_id JOIN users u ON u.id = v.user_id"
        " LEFT JOIN watch_progress p ON p.user_id = h.user_id AND p.video_id = h.video_id"
        f" WHERE h.user_id = :uid AND {_MAY_OPEN}"
        " ORDER BY h.watched_at DESC, h.id DESC LIMIT :limit OFFSET :offset",
        _COUNT_FOR_USER, uid=user_id, limit=limit, offset=offset,
    )

