"""Background jobs on serverless: an SQS consumer runs the job each message names; a schedule sweeps the rest."""

from __future__ import annotations

import json
import uuid
from typing import Any

from chalice import Blueprint

from shared import jobs
from shared.services.job_handlers import periodic

bp = Blueprint(__name__)
QUEUE_NAME = "viztube-jobs"  # the queue JOBS_QUEUE_URL points at (infra/ creates it)


@bp.on_sqs_message(queue=QUEUE_NAME, batch_size=1)
def run_queued_jobs(event: Any) -> None:
    """Each message is a nudge {"jobId": ...}: the row in the jobs table is the job (claimed, retried there)."""
    for record in event:
        try:
            job_id = uuid.UUID(json.loads(record.body)["jobId"])
        except (ValueError, KeyError, TypeError):
            continue  # not one of ours: drop it rather than poison the queue
        jobs.run_one(job_id)


@bp.schedule("rate(5 minutes)")
def sweep_jobs(event: Any) -> None:  # noqa: ARG001 - the schedule's event carries nothing we need
    """Retries whose backoff has passed, jobs a dead container left behind, expired uploads."""
    periodic()
    jobs.run_pending(limit=50)
