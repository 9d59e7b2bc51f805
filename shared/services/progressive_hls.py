"""Making a video's HLS stream progressively (issue #17): playable as soon as its first rendition is published, the
master playlist rewritten as each further one finishes, a storyboard beside it; and how a video object shows that
(`stream_fields`).

What is published is recorded in the video's row (shared.sql.video_streams) once its files are in the store (a
rendition's segments, then its playlist, then the master that lists it): a transcode retried after its worker died
(the same job, so the same `attempt` token) resumes in the same stream folder and does not make again what is
`ready`; a rendition published but not yet recorded is made and published again over itself (same names, same
folder). Any other transcode (a retry of a FAILED video, a payload without a token) starts afresh; the stream the
video has keeps playing until the new master replaces it.

The job (shared.services.job_handlers.transcode_hls) owns the video's status: PROCESSING until `make_stream`
returns, then COMPLETED; a give-up marks what was not made `failed` (`fail_unfinished`)."""

from __future__ import annotations

import logging
import shutil
import uuid
from pathlib import Path
from typing import Any

from shared import cached, db
from shared.media import progressive
from shared.media.probe import VideoFacts, probe_video
from shared.media.storyboard import FOLDER as STORYBOARD_FOLDER
from shared.media.storyboard import VTT_NAME
from shared.services import media_visibility
from shared.sql import video_streams as streams_sql
from shared.sql import videos as videos_sql
from shared.storage import Storage, get_storage

log = logging.getLogger(__name__)
PENDING, PROCESSING, READY, FAILED = "pending", "processing", "ready", "failed"


def make_stream(video_id: uuid.UUID, source_public_id: str, *, attempt: str | None) -> VideoFacts | None:
    """Transcode and publish the video's stream stage by stage from a copy of its file on this node; the facts read
    there. None when the video was deleted meanwhile. Raises `errors.NotFound` when the file is gone,
    `ProbeError`/`TranscodeError` as the media layer does."""
    storage = get_storage()
    with storage.working_copy(source_public_id, resource_type="video") as source:
        facts = probe_video(source)
        plan = progressive.plan_stream(source, facts)
        log.info("video %s: %s; remux %s (%s)", video_id, "+".join(r.name for r in plan.renditions),
                 "chosen" if plan.remux.chosen else "not chosen", plan.remux.reason)
        current = streams_sql.state(video_id=video_id)
        if current is None:
            return None
        renditions, folder, storyboard_done, resumed = _resume_or_start(video_id, storage, plan, current, attempt)
        first = not resumed  # this try's first publication: the poster too, and the row points at this folder
        work = storage.hls_workdir(video_id)
        shutil.rmtree(work, ignore_errors=True)  # an interrupted try's half-made files: made again
        work.mkdir(parents=True)
        try:
            for index, stage in enumerate(plan.stages):
                todo = [r for r in stage.renditions if renditions[r.name]["state"] != READY]
                if not todo and (storyboard_done or not stage.storyboard):
                    continue
                _record(video_id, renditions, {r.name: PROCESSING for r in todo})
                progressive.run_stage(source, work, plan, stage, index=index)
                if first:
                    progressive.make_poster(source, work, facts)
                _publish_stage(video_id, storage, folder, work, plan, index, todo, renditions, facts,
                               with_storyboard=stage.storyboard and not storyboard_done, first=first)
                storyboard_done = storyboard_done or stage.storyboard
                first = False
        finally:
            shutil.rmtree(work, ignore_errors=True)
    storage.retire_streams(video_id, keep=folder)  # an earlier stream of the video no master points at any more
    return facts


def _resume_or_start(video_id: uuid.UUID, storage: Storage, plan: progressive.StreamPlan, current: dict[str, Any],
                     attempt: str | None) -> tuple[dict[str, dict[str, Any]], str, bool, bool]:
    """The renditions' records, the stream folder, whether the storyboard is published and whether this resumes:
    those of the interrupted try of this same transcode, or fresh ones."""
    names = [r.name for r in plan.renditions]
    recorded = {r["name"]: r for r in current["hls_renditions"] or []}
    master = current["hls_master_public_id"]
    if attempt is not None and current["stream_attempt"] == attempt and master and list(recorded) == names:
        folder = storage.open_stream(video_id, resume=master.rsplit("/", 1)[0])
        if folder == master.rsplit("/", 1)[0]:
            return recorded, folder, current["storyboard"] is not None, True
    fresh = {r.name: {"name": r.name, "height": r.height, "state": PENDING} for r in plan.renditions}
    streams_sql.start(video_id=video_id, attempt=attempt, renditions=list(fresh.values()))
    cached.forget_video(video_id)
    return fresh, storage.open_stream(video_id, resume=None), False, False


def _record(video_id: uuid.UUID, renditions: dict[str, dict[str, Any]], states: dict[str, str]) -> None:
    for name, new_state in states.items():
        renditions[name]["state"] = new_state
    streams_sql.set_renditions(video_id=video_id, renditions=list(renditions.values()))
    cached.forget_video(video_id)


def _publish_stage(video_id: uuid.UUID, storage: Storage, folder: str, work: Path, plan: progressive.StreamPlan,
                   index: int, todo: list[progressive.Rendition], renditions: dict[str, dict[str, Any]],
                   facts: VideoFacts, *, with_storyboard: bool, first: bool) -> None:
    """The stage's files into the store (segments, then playlists, the poster with the first, then the master
    listing every ready rendition), then, in one transaction, the row that says so."""
    current = streams_sql.state(video_id=video_id)
    if current is None:
        return  # deleted meanwhile: its stream folder goes with it (the delete's job)
    private = not current["is_published"]
    for rendition in todo:
        # measured before publishing: a store may move the files out of the work folder
        renditions[rendition.name]["variant"] = progressive.variant_attributes(work, index, rendition.name)
        storage.publish_stream_files(folder, work, progressive.rendition_files(work, rendition.name), private=private)
        renditions[rendition.name]["state"] = READY
    storyboard = None
    if with_storyboard:
        storage.publish_stream_files(folder, work, progressive.storyboard_files(plan.layout), private=private)
        storyboard = {"vtt": f"{STORYBOARD_FOLDER}/{VTT_NAME}",
                      "sprites": [f"{STORYBOARD_FOLDER}/{name}" for name in plan.layout.sprite_names()],
                      "interval": plan.layout.interval, "tiles": plan.layout.tiles}
    if first:
        storage.publish_stream_files(folder, work, ["poster.jpg"], private=private)
    ready = [(r.name, renditions[r.name]["variant"]) for r in plan.renditions if renditions[r.name]["state"] == READY]
    (work / "master.m3u8").write_text(progressive.master_text(ready))
    storage.publish_stream_files(folder, work, ["master.m3u8"], private=private)
    with db.transaction():
        now = videos_sql.get(video_id=video_id, for_update=True)  # a toggle of visibility waits for this
        if now is None:
            return
        streams_sql.set_renditions(video_id=video_id, renditions=list(renditions.values()))
        if storyboard is not None:
            streams_sql.set_storyboard(video_id=video_id, storyboard=storyboard)
        if first:
            videos_sql.set_stream(video_id=video_id, hls_master_public_id=f"{folder}/master.m3u8",
                                  poster_public_id=f"{folder}/poster.jpg")
            videos_sql.set_processing(video_id=video_id, status="PROCESSING", duration=facts.duration,
                                      width=facts.width, height=facts.height)
        if now["is_published"] != current["is_published"]:  # toggled while these files went up
            media_visibility.schedule_sync(video_id)
    cached.forget_video(video_id)



def fail_unfinished(video_id: uuid.UUID) -> None:
    """The transcode gave up: every rendition it did not publish says `failed` (those published stay `ready`)."""
    streams_sql.fail_unfinished(video_id=video_id)
    cached.forget_video(video_id)


def stream_fields(row: dict[str, Any], storage: Storage, *, private: bool) -> dict[str, Any]:
    """A video object's `playable`, `renditions` and `storyboard` (its URLs signed like the stream's while the video
    is not public). Playable: a stream to play (the first rendition is published), or processing done (a deployment
    without HLS plays the file itself)."""
    master = row.get("hls_master_public_id")
    fields: dict[str, Any] = {
        "playable": bool(master) or row.get("processing_status") == "COMPLETED",
        "renditions": [{"height": r["height"], "state": r["state"]} for r in row.get("hls_renditions") or ()],
        "storyboard": None,
    }
    board = row.get("storyboard")
    if board and master:
        folder = master.rsplit("/", 1)[0]  # the storyboard's paths are relative to the master's folder
        fields["storyboard"] = {
            "vtt_url": storage.hls_url(f"{folder}/{board['vtt']}", private=private),
            "sprite_urls": [storage.poster_url(f"{folder}/{sprite}", private=private) for sprite in board["sprites"]]}
    return fields
