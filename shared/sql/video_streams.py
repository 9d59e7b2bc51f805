"""Every SQL statement about a video's progressive HLS output (issue #17): its renditions as they are made, its
storyboard, and which transcode owns it (videos.hls_renditions, storyboard, stream_attempt; migration 0021)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from shared import db


def state(*, video_id: uuid.UUID, for_update: bool = False) -> dict[str, Any] | None:
    lock = " FOR UPDATE" if for_update else ""
    return db.fetch_one(
        "SELECT hls_renditions, storyboard, stream_attempt, hls_master_public_id, poster_public_id, is_published"
        f" FROM videos WHERE id = :id{lock}", id=video_id)


def start(*, video_id: uuid.UUID, attempt: str | None, renditions: list[dict[str, Any]]) -> None:
    """A transcode takes the stream over from scratch: every rendition pending, no storyboard yet. The master and
    poster already published (an earlier stream) stay where they are until this one replaces them."""
    db.execute("UPDATE videos SET stream_attempt = :attempt, hls_renditions = CAST(:renditions AS jsonb),"
               " storyboard = NULL WHERE id = :id",
               id=video_id, attempt=attempt, renditions=json.dumps(renditions))


def set_renditions(*, video_id: uuid.UUID, renditions: list[dict[str, Any]]) -> None:
    db.execute("UPDATE videos SET hls_renditions = CAST(:renditions AS jsonb) WHERE id = :id",
               id=video_id, renditions=json.dumps(renditions))


def set_storyboard(*, video_id: uuid.UUID, storyboard: dict[str, Any]) -> None:
    db.execute("UPDATE videos SET storyboard = CAST(:storyboard AS jsonb) WHERE id = :id",
               id=video_id, storyboard=json.dumps(storyboard))


def fail_unfinished(*, video_id: uuid.UUID) -> None:
    db.execute(
        "UPDATE videos SET hls_renditions = (SELECT coalesce(jsonb_agg(CASE WHEN r ->> 'state' = 'ready' THEN r"
        " ELSE jsonb_set(r, '{state}', '\"failed\"') END ORDER BY n), '[]'::jsonb)"
        " FROM jsonb_array_elements(hls_renditions) WITH ORDINALITY AS e(r, n)) WHERE id = :id", id=video_id)
