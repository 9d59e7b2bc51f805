"""What each kind of background job does.

A handler that cannot do its work raises (`Retry` when another try may succeed), so the job is retried and
then recorded as failed, never `done`; the video's FAILED status is set when its job gives up for good.
Jobs that read a local file are pinned to the node holding it (shared.node), so they run where it is."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from shared import cached, db, errors, jobs, node
from shared.jobs import Retry, handler
from shared.media.hls import TranscodeError
from shared.services import (  # noqa: F401 - their job kinds (and housekeeping sweeps)
    account_mail,
    data_export,
    media_visibility,
    notifications,
    progressive_hls,
    scheduling,
    trending,
    webhook_events,  # also registers the webhook_deliver job kind
)
from shared.settings import get_settings
from shared.sql import uploads as uploads_sql
from shared.sql import videos as videos_sql
from shared.storage import get_storage

log = logging.getLogger(__name__)
UPLOADS_PACE = jobs.Every(300)


def _set_processing(*, video_id: uuid.UUID, **changes: Any) -> None:
    with db.transaction():  # the status and the owner's notification of it commit together
        videos_sql.set_processing(video_id=video_id, **changes)
        notifications.processing_changed(video_id=video_id, status=changes["status"])  # COMPLETED/FAILED: tell owner
        webhook_events.processing_changed(video_id, changes["status"])  # video.processed / video.failed webhooks
    cached.forget_video(video_id)


class MediaMissing(Exception):
    """The file a job works on is gone from the node that stored it: no retry will bring it back."""


def _processing_failed(payload: dict[str, Any], reason: str) -> None:
    """A video's processing job gave up for good: the video says FAILED, with the reason (and so do the renditions
    it did not make)."""
    with db.transaction():
        _set_processing(video_id=uuid.UUID(payload["video_id"]), status="FAILED", error=reason[:500])
        progressive_hls.fail_unfinished(uuid.UUID(payload["video_id"]))


def _missing(row: dict[str, Any]) -> Exception:
    here = node.node_id()
    # Gone for good where files are not kept on nodes (the store itself lost it), or from the node that stored it.
    if not get_storage().node_local or (row["media_node"] is not None and row["media_node"] == here):
        return MediaMissing("video file missing from storage")
    # Not the node that stored it (a job queued before jobs were pinned): the file may be on another node.
    return Retry(f"video file is not on this node ({here}); it was stored on node {row['media_node'] or 'unknown'}")


@handler("delete_media")
def delete_media(payload: dict[str, Any]) -> None:
    storage = get_storage()
    if payload.get("storage", storage.name) != storage.name:
        raise Retry(f"media stored on {payload['storage']}, this process uses {storage.name}")
    storage.delete(payload["public_id"], resource_type=payload["resource_type"])


@handler("process_video", on_give_up=_processing_failed)
def process_video(payload: dict[str, Any]) -> None:
    """Read the stored video's facts, then hand it to HLS transcoding (here) or to the store's own (Cloudinary's eager
    HLS, requested at upload and reported on the webhook).

    PROCESSING becomes COMPLETED when the stream is ready (or at once with HLS off), or FAILED with a reason
    once the job gives up.
    """
    video_id = uuid.UUID(payload["video_id"])
    row = videos_sql.get(video_id=video_id)
    if row is None:
        return  # deleted meanwhile
    storage = get_storage()
    transcode_here = get_settings().hls_enabled and not storage.makes_own_streams
    if transcode_here and not storage.node_local:
        # The transcode downloads the video (any node may: no file is on a node) and records the facts it reads
        # there; probing it here first would download it twice.
        jobs.enqueue("transcode_hls", {"video_id": str(video_id), "attempt": uuid.uuid4().hex})
        return
    # A local file is probed where it lies; a ProbeError gives up at once: the video FAILED with its reason.
    facts = storage.describe(row["video_file_public_id"], resource_type="video")
    if facts is None:
        raise _missing(row)
    with db.transaction():
        _set_processing(video_id=video_id,
                        status="PROCESSING" if transcode_here or storage.makes_own_streams else "COMPLETED",
                        duration=facts.duration, width=facts.width, height=facts.height)
        if transcode_here:  # transcoding reads the same file and writes beside it: the same node
            jobs.enqueue("transcode_hls", {"video_id": str(video_id), "attempt": uuid.uuid4().hex},
                         node=row["media_node"])


@handler("transcode_hls", on_give_up=_processing_failed)
def transcode_hls(payload: dict[str, Any]) -> None:
    """The video's HLS stream, made progressively (shared.services.progressive_hls) from a copy on this node's disk
    (the stored file itself where the store keeps files on nodes, else a scratch download removed afterwards): it
    plays once its first rendition is published and is COMPLETED once the whole ladder is; the facts as read there.
    `attempt` (set when the job is queued) lets a retry of this job resume what it published."""
    video_id = uuid.UUID(payload["video_id"])
    row = videos_sql.get(video_id=video_id)
    storage = get_storage()
    if row is None or storage.makes_own_streams:
        return
    try:
        facts = progressive_hls.make_stream(video_id, row["video_file_public_id"], attempt=payload.get("attempt"))
    except TranscodeError as exc:
        if exc.transient:
            raise Retry(str(exc)) from exc  # a full disk may have room later; the video stays PROCESSING
        raise  # the video itself cannot be transcoded: the job gives up and the video is FAILED
    except errors.NotFound:
        raise _missing(row) from None
    # ProbeError propagates as it is: the file is not a video, the job gives up and the video is FAILED.
    if facts is None:
        return  # deleted meanwhile
    with db.transaction():
        now = videos_sql.get(video_id=video_id, for_update=True)  # a toggle waits for this transaction
        if now is None:
            return
        _set_processing(video_id=video_id, status="COMPLETED", duration=facts.duration, width=facts.width,
                        height=facts.height)


def stream_ready(*, video_public_id: str, ok: bool, reason: str | None = None) -> bool:
    """The store's own HLS finished (webhook): the video is COMPLETED with its stream, or FAILED."""
    video_id = videos_sql.id_by_public_id(public_id=video_public_id)
    if video_id is None:
        return False
    with db.transaction():
        if ok:
            videos_sql.set_stream(video_id=video_id, hls_master_public_id=video_public_id,
                                  poster_public_id=video_public_id)
            _set_processing(video_id=video_id, status="COMPLETED")
        else:
            _set_processing(video_id=video_id, status="FAILED", error=reason or "Cloudinary could not make the stream")
    return True


def sweep_expired_uploads() -> int:
    """Direct and resumable uploads that were never registered: forget them and delete what they stored (and
    what an unfinished resumable upload gathered)."""
    storage = get_storage()
    removed = 0
    for upload in uploads_sql.take_expired():
        if upload["assembly"] and upload["storage"] == storage.name:  # an unfinished resumable upload's chunks
            storage.resumable_assembly().abort(upload["assembly"])
        if upload["public_id"] and upload["storage"] == storage.name:
            try:
                storage.delete(upload["public_id"], resource_type="video" if upload["kind"] == "video" else "image")
            except errors.AppError:
                log.warning("could not delete expired upload %s", upload["public_id"])
        removed += 1
    return removed


@jobs.housekeeping
def periodic() -> None:
    """Housekeeping the worker does on every pass (each task decides how often it really runs)."""
    scheduling.sweep()  # scheduled videos due: published within a minute of their time
    trending.sweep()  # the trending window moves on by the hour; old hourly view buckets go
    data_export.periodic()  # data exports whose 48 h are over: rows and zips go
    notifications.sweep_retention()  # notifications past their 180 days go
    if UPLOADS_PACE.due():
        sweep_expired_uploads()
