"""Scheduled publishing (issue #15, point 1): a private video with `publishAt` turns public once its time has come,
without a request. Every worker's housekeeping pass (shared.jobs, every couple of seconds, throttled here to one
sweep per SWEEP_SECONDS per process) and, on serverless, the one-minute schedule (functions/jobs.py) sweep; so within
a minute either way. Each sweep is one indexed statement (videos_publish_at_idx) that flips the due videos to public;
then the caches forget them and the store is told their media are public now (shared.services.media_visibility)."""

from __future__ import annotations

import logging
import uuid

from shared import cached, db, jobs
from shared.services import notifications
from shared.services.media_visibility import schedule_sync
from shared.sql import videos as videos_sql

log = logging.getLogger(__name__)
SWEEP_SECONDS = 15.0
PACE = jobs.Every(SWEEP_SECONDS)


def publish_due() -> list[uuid.UUID]:
    """Publish every scheduled video whose time has come (in batches); their ids. Concurrent sweeps (other processes,
    other nodes) split the work: a row one holds, the others skip."""
    published: list[uuid.UUID] = []
    while True:
        with db.transaction():
            ids = videos_sql.publish_due()
            syncs = [schedule_sync(video_id) for video_id in ids]
            for video_id in ids:
                cached.forget_video(video_id)
                notifications.announce_published(video_id)  # its subscribers are told (a job: the fan-out)
        for sync in syncs:
            if sync is not None:
                jobs.run_now(sync)
        published += ids
        if len(ids) < videos_sql.PUBLISH_DUE_BATCH:
            break
    if published:
        log.info("published %d scheduled video(s)", len(published))
    return published


def sweep() -> None:
    """The housekeeping entry: at most once per SWEEP_SECONDS in this process."""
    if PACE.due():
        publish_due()
