"""Every SQL statement behind the creator dashboard (always the caller's own channel)."""

from __future__ import annotations

import uuid
from typing import Any

from shared import db
from shared.sql.videos import EXTRA_COLUMNS_V, VIDEO_COLUMNS_V


def stats(*, user_id: uuid.UUID) -> dict[str, Any]:
    """Contract §11 in one round trip; likes are counted per video through likes_video_idx (the original
    scanned the whole likes table)."""
    row = db.fetch_one(
        "SELECT coalesce((SELECT sum(views) FROM videos WHERE user_id = :uid), 0) AS total_views,"
        " (SELECT count(*) FROM subscriptions WHERE channel_id = :uid) AS total_subscribers,"
        " (SELECT count(*) FROM videos WHERE user_id = :uid) AS total_videos,"
        " (SELECT count(*) FROM videos v JOIN likes l ON l.video_id = v.id WHERE v.user_id = :uid) AS total_likes",
        uid=user_id)
    assert row is not None
    return row


def videos(*, user_id: uuid.UUID, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    with db.transaction(snapshot=True) as tx:  # the page and its total from one snapshot
        rows = tx.fetch_all(
            f"SELECT {VIDEO_COLUMNS_V}, {EXTRA_COLUMNS_V},"
            " (SELECT count(*) FROM likes l WHERE l.video_id = v.id) AS likes_count"
            " FROM videos v WHERE v.user_id = :uid ORDER BY v.created_at DESC, v.id DESC LIMIT :limit OFFSET :offset",
            uid=user_id, limit=limit, offset=offset)
        total = tx.fetch_value("SELECT count(*) FROM videos WHERE user_id = :uid", uid=user_id)
    return rows, total
