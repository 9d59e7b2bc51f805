"""What each kind of background job does."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from shared import cache, errors
from shared.jobs import Retry, handler
from shared.media_probe import ProbeError, probe_video
from shared.sql import uploads as uploads_sql
from shared.sql import videos as videos_sql
from shared.storage import get_storage

log = logging.getLogger(__name__)
SWEEP_EVERY_SECONDS = 300
_last_sweep = 0.0


def _set_processing(*, video_id: uuid.UUID, **changes: Any) -> None:
    videos_sql.set_processing(video_id=video_id, **changes)
    cache.forget_video(video_id)


@handler("delete_media")
def delete_media(payload: dict[str, Any]) -> None:
    storage = get_storage()
    if payload.get("storage", storage.name) != storage.name:
        raise Retry(f"media stored on {payload['storage']}, this process uses {storage.name}")
    storage.delete(payload["public_id"], resource_type=payload["resource_type"])


@handler("process_video")
def process_video(payload: dict[str, Any]) -> None:
    """Read the stored video's facts; PROCESSING becomes COMPLETED, or FAILED with the reason."""
    video_id = uuid.UUID(payload["video_id"])
    row = videos_sql.get(video_id=video_id)
    if row is None:
        return  # deleted meanwhile
    storage = get_storage()
    if row["storage"] == "local":
        path = storage.resolve(row["video_file_public_id"])  # type: ignore[attr-defined]
        if path is None or not path.is_file():
            _set_processing(video_id=video_id, status="FAILED", error="video file missing from storage")
            return
        try:
            facts = probe_video(path)
        except ProbeError as exc:
            _set_processing(video_id=video_id, status="FAILED", error=str(exc))
            return
        _set_processing(video_id=video_id, status="COMPLETED", duration=facts.duration,
                                  width=facts.width, height=facts.height)
        return
    described = storage.describe(row["video_file_public_id"], resource_type="video")  # type: ignore[attr-defined]
    if described is None:
        _set_processing(video_id=video_id, status="FAILED", error="video file missing from storage")
        return
    _set_processing(video_id=video_id, status="COMPLETED", duration=described.get("duration"),
                              width=described.get("width"), height=described.get("height"))


def sweep_expired_uploads() -> int:
    """Direct uploads that were never registered: forget them and delete what they stored."""
    storage = get_storage()
    removed = 0
    for upload in uploads_sql.take_expired():
        if upload["public_id"] and upload["storage"] == storage.name:
            try:
                storage.delete(upload["public_id"], resource_type="video" if upload["kind"] == "video" else "image")
            except errors.AppError:
                log.warning("could not delete expired upload %s", upload["public_id"])
        removed += 1
    return removed


def periodic() -> None:
    """Housekeeping the worker does every few minutes."""
    global _last_sweep
    if time.monotonic() - _last_sweep >= SWEEP_EVERY_SECONDS:
        _last_sweep = time.monotonic()
        sweep_expired_uploads()
