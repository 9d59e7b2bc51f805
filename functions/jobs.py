"""Background jobs on serverless: an SQS consumer runs the job each message names; a schedule sweeps the rest."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from chalice import Blueprint

from shared import jobs
from shared.services.job_handlers import periodic

bp = Blueprint(__name__)
log = logging.getLogger(__name__)
QUEUE_NAME = "viztube-jobs"  # the queue JOBS_QUEUE_URL points at (infra/ creates it)


@bp.on_sqs_message(queue=QUEUE_NAME, batch_size=1)
def run_queued_jobs(event: Any) -> dict[str, list[dict[str, str]]]:
    """Each message is a nudge {"jobId": ...}: the row in the jobs table is the job (claimed, retried there).

    Answers a partial batch response (the event source declares FunctionResponseTypes: ReportBatchItemFailures,
    infra/sam/resources.yaml): the messages whose job is not done are reported, so SQS keeps them, delivers them
    again, and after maxReceiveCount moves them to the dead-letter queue; the others are deleted."""
    failures: list[dict[str, str]] = []
    for record in event:
        message_id = record.to_dict()["messageId"]
        try:
            job_id = uuid.UUID(json.loads(record.body)["jobId"])
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # not one of ours: drop it rather than poison the queue
        try:
            settled = jobs.run_queued(job_id)
        except Exception:
            log.exception("job %s from SQS message %s could not be run", job_id, message_id)
            settled = False
        if not settled:
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}


@bp.schedule("rate(1 minute)")
def sweep_jobs(event: Any) -> None:  # noqa: ARG001 - the schedule's event carries nothing we need
    """Scheduled videos whose time has come (published within a minute), retries whose backoff has passed, jobs a
    dead container left behind, expired uploads."""
    periodic()
    jobs.run_pending(limit=50)
