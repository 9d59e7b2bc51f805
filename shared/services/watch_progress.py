"""Resume positions (issue #17, point 4): a viewer's player reports where it is every few seconds; at most one write
per video per viewer per WATCH_PROGRESS_INTERVAL (10 s) is kept, decided by the write itself (shared/sql/
watch_progress.py: one statement, no read first, safe under concurrent reports from several tabs and processes).
The watch page and the watch history show the position; "continue watching" lists the videos started and not
finished."""

from __future__ import annotations

import uuid
from typing import Any

from shared import errors
from shared.auth import CurrentUser
from shared.schemas.playback import position_of
from shared.services.presenters import present_with_owner
from shared.settings import get_settings
from shared.sql import history as history_sql
from shared.sql import watch_progress as progress_sql


def report(viewer: CurrentUser, video_id: uuid.UUID, seconds: float) -> dict[str, Any]:
    """Record the viewer's position (unless one was written within the interval); the position now stored and
    whether this report was it (schemas.playback.ProgressSaved). 404 for a video the viewer may not open, 400 for a
    position past its end."""
    row = progress_sql.record(viewer_id=viewer.id, video_id=video_id, position=seconds,
                              interval_seconds=get_settings().watch_progress_interval_seconds)
    if not row["found"]:
        raise errors.NotFound("Video not found")
    if row["too_far"]:
        raise errors.BadRequest(f"currentTime is past the end of the video ({float(row['duration']):.3f} s long)")
    position = position_of(row)
    assert position is not None  # a position is stored: this one or an earlier one
    return {**position, "saved": row["saved"]}


def _with_positions(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**present_with_owner(r), "watchPosition": position_of(r)} for r in rows]


def continue_watching(viewer: CurrentUser, *, page: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    """A page of the viewer's started, unfinished videos (most recently watched first) and how many there are."""
    rows, total = progress_sql.continue_watching(viewer_id=viewer.id, limit=limit, offset=(page - 1) * limit)
    return _with_positions(rows), total


def history(viewer: CurrentUser, *, page: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    """A page of the viewer's watch history (newest first) with where they stopped in each, and the total."""
    rows, total = history_sql.list_for_user(user_id=viewer.id, limit=limit, offset=(page - 1) * limit)
    return _with_positions(rows), total
