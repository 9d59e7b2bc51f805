"""Who may read a video's media straight from the store. Where anyone may read published media from the store itself
(an S3 bucket, a CDN in front of it: `Storage.tracks_visibility`), the store is told whenever a video's media start
or stop being public (public means the privacy level `public`, which `is_published` says: an unlisted video's media
are private there, reached through presigned URLs only): on publish and unpublish, a privacy change, a scheduled
video's time coming, when an upload becomes a published video, and when media are stored
for a video whose state changed meanwhile. It is told through a recorded job, tried at once by the request that
made the change, so a store that does not answer is told later, never forgotten (once the job's tries run out,
another is queued for an hour later, and so on while the video exists).

The job reads the video's state when it runs, not when it was queued, and reads it again once the store is told: if
the state changed meanwhile it tells the store again. So whatever order overlapping jobs finish in, the last one
leaves the store saying what the row says."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from shared import jobs
from shared.jobs import Retry, handler
from shared.sql import videos as videos_sql
from shared.storage import Storage, get_storage

log = logging.getLogger(__name__)

KIND = "sync_media_visibility"
RETRY_AFTER_GIVING_UP = 3600.0


def schedule_sync(video_id: uuid.UUID) -> uuid.UUID | None:
    """Record (in the caller's transaction) that the store must be told who may read this video's media now; the
    job's id, for `jobs.run_now` once committed. None where the store needs no telling."""
    if not get_storage().tracks_visibility:
        return None
    return jobs.enqueue(KIND, {"video_id": str(video_id)})


def media_of(row: dict[str, Any], storage: Storage) -> list[tuple[str, str]]:
    """A video's stored media as (public id, resource type): its file, thumbnail and HLS stream (poster included)."""
    media = [(row["video_file_public_id"], "video"), (row["thumbnail_public_id"], "image")]
    stream = storage.stream_folder(row["id"]) if row["hls_master_public_id"] else None
    if stream is not None:
        media.append((stream, "hls"))
    return media


def _state(row: dict[str, Any] | None) -> tuple[Any, ...] | None:
    if row is None:
        return None
    return row["is_published"], row["video_file_public_id"], row["thumbnail_public_id"], row["hls_master_public_id"]


def _try_again_later(payload: dict[str, Any], reason: str) -> None:
    """A store that keeps refusing (down for long, or a missing permission) is asked again every hour, for as long
    as the video exists: giving up could leave an unpublished video's media public."""
    log.error("could not tell the store who may read video %s's media (%s); trying again in an hour",
              payload.get("video_id"), reason)
    jobs.enqueue(KIND, payload, delay_seconds=RETRY_AFTER_GIVING_UP)


@handler(KIND, on_give_up=_try_again_later)
def sync_media_visibility(payload: dict[str, Any]) -> None:
    video_id = uuid.UUID(payload["video_id"])
    storage = get_storage()
    row = videos_sql.get(video_id=video_id)
    while row is not None:  # None: deleted, and its media with it
        if row["storage"] != storage.name:
            raise Retry(f"media stored on {row['storage']}, this process uses {storage.name}")
        storage.set_visibility(media_of(row, storage), private=not row["is_published"])
        again = videos_sql.get(video_id=video_id)
        if _state(again) == _state(row):
            return
        row = again
