"""The worker role: `python -m infra.worker` runs jobs only (probing, the HLS ladder, posters, media clean-up,
housekeeping), no HTTP, so transcoding can live on machines of its own while API nodes run with JOBS=off.

Jobs are claimed from PostgreSQL (`FOR UPDATE SKIP LOCKED`, the engine's lease and reclaim: shared.jobs), or, when
JOBS_QUEUE_URL is set (the serverless profile), taken from that SQS queue: each message names a job row, which is
claimed and run the same way, and the message is deleted once the job is settled. With HEAVY_JOBS_QUEUE_URL
(Lambda runs the light kinds from JOBS_QUEUE_URL, workers on EC2/ECS the transcodes) it consumes that queue instead.
Run as many as you like, on one host or many (`systemctl start viztube-worker@{1..4}`,
infra/systemd/viztube-worker@.service); each is a worker of the node its VIZTUBE_HOME names. SIGTERM (or Ctrl-C)
lets the job in hand finish for up to STOP_GRACE seconds.

Without DATABASE_URL it joins the embedded PostgreSQL of its VIZTUBE_HOME (the one `make run` started there).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
import uuid
from types import FrameType

from shared import jobs
from shared.logs import configure_logging
from shared.settings import get_settings, reset_settings

log = logging.getLogger("viztube.worker")
STOP_GRACE_SECONDS = 30.0
SQS_WAIT_SECONDS = 10  # long polling: an idle worker asks the queue a few times a minute
SWEEP_SECONDS = 60.0


def _database() -> None:
    settings = get_settings()
    if not settings.database_url:
        from shared.embedded_pg import ensure_embedded

        os.environ["DATABASE_URL"] = ensure_embedded(settings.pgdata_dir)
        reset_settings()


def _consume_queue(queue_url: str, stop: threading.Event, sweep: list[str] | None = None) -> None:
    """Take job ids from SQS until told to stop; a message is deleted once its job is settled, else it comes back
    after the queue's visibility timeout (and after maxReceiveCount goes to the dead-letter queue). `sweep`: kinds
    nothing else runs (the heavy queue's, which Lambda's sweep leaves alone), whose retries this worker also takes
    from PostgreSQL every SWEEP_SECONDS, so a job whose message went to the dead-letter queue is still retried."""
    from shared.aws import sqs_client

    sqs = sqs_client()
    next_sweep = 0.0
    while not stop.is_set():
        if sweep and time.monotonic() >= next_sweep:
            try:
                jobs.run_pending(limit=10, kinds=sweep)
            except Exception:
                log.exception("sweeping %s jobs failed", ", ".join(sweep))
            next_sweep = time.monotonic() + SWEEP_SECONDS
        answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=SQS_WAIT_SECONDS)
        for message in answer.get("Messages", []):
            try:
                job_id = uuid.UUID(json.loads(message["Body"])["jobId"])
            except (ValueError, KeyError, TypeError):
                log.warning("dropping a message that names no job: %.200s", message.get("Body"))
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                continue
            try:
                settled = jobs.run_queued(job_id)
            except Exception:
                log.exception("job %s could not be run", job_id)
                settled = False
            if settled:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def main() -> int:
    settings = get_settings()
    configure_logging(settings.log_level)
    _database()
    from shared.migrate import migrate
    from shared.services import job_handlers  # noqa: F401 - registers every job kind, as the app's wiring does

    migrate()  # safe beside the API's own (an advisory lock): a worker started first finds the tables there
    from infra.housekeeping import start_scratch_sweeper

    # What a killed worker left in scratch (a download, HLS output) goes: a worker host may run no server at all.
    start_scratch_sweeper(settings.scratch_dir, settings.staging_sweep_seconds)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:  # noqa: ARG001 - the signal API's shape
        log.info("worker stopping (signal %d): finishing the job in hand", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # With a heavy jobs' queue (serverless: Lambda runs the light kinds) the worker is one of its consumers.
    heavy_queue = get_settings().heavy_jobs_queue_url
    queue_url = heavy_queue or get_settings().jobs_queue_url
    source = "PostgreSQL" if not queue_url else "the heavy jobs' SQS queue" if heavy_queue else "SQS"
    log.info("worker started (pid %d): jobs from %s", os.getpid(), source)
    if queue_url:
        consumer = threading.Thread(target=_consume_queue, name="viztube-sqs", daemon=True,
                                    args=(queue_url, stop, jobs.HEAVY_KINDS if heavy_queue else None))
        consumer.start()
        stop.wait()
        consumer.join(STOP_GRACE_SECONDS + SQS_WAIT_SECONDS)
        return 0
    jobs.start_worker()
    stop.wait()
    if not jobs.stop_worker(STOP_GRACE_SECONDS):
        log.warning("a job was still running after %.0f s; it is taken over when its lease lapses", STOP_GRACE_SECONDS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
