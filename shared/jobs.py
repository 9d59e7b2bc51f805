"""Background jobs: enqueue a row, run it now or let a worker pick it up; retried with backoff.

Handlers register with `@handler("kind")`. In the one-box server each process runs a small worker
thread (`start_worker`); tests and scripts call `run_pending()`; a scheduled Lambda does the same.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from shared import db, errors
from shared.settings import get_settings
from shared.sql import jobs as jobs_sql

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]
_handlers: dict[str, Handler] = {}
_wake = threading.Event()
_workers: list[threading.Thread] = []
_worker_lock = threading.Lock()
POLL_SECONDS = 2.0
HEARTBEAT_SECONDS = 60.0
# CPU-heavy kinds: run by their own thread, one at a time across every process of the box.
HEAVY_KINDS = ["transcode_hls"]


class Retry(Exception):
    """Raised by a handler for a failure worth trying again later."""


def handler(kind: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        _handlers[kind] = func
        return func

    return register


def _load_handlers() -> None:
    import shared.services.job_handlers  # noqa: F401 - registers the handlers


def enqueue(kind: str, payload: dict[str, Any], *, delay_seconds: float = 0) -> uuid.UUID:
    """Record a job (inside the caller's transaction when there is one); once committed, nudge a worker:
    this process's thread, and on serverless the SQS queue whose consumer runs it."""
    job_id = jobs_sql.insert(kind=kind, payload=payload, delay_seconds=delay_seconds)
    db.on_commit(_wake.set)
    if get_settings().jobs_queue_url:
        db.on_commit(lambda: _send_to_queue(job_id, delay_seconds))
    return job_id


def _send_to_queue(job_id: uuid.UUID, delay_seconds: float) -> None:
    from shared.aws import sqs_client

    settings = get_settings()
    sqs_client().send_message(QueueUrl=settings.jobs_queue_url, MessageBody=f'{{"jobId": "{job_id}"}}',
                              DelaySeconds=min(900, int(delay_seconds)))


def _backoff(attempts: int) -> float:
    return min(3600.0, 5.0 * 2 ** (attempts - 1))


def run_one(job_id: uuid.UUID | None = None, kinds: list[str] | None = None, exclude: list[str] | None = None,
            exclusive: bool = False) -> bool:
    """Claim and run one job; False when nothing was runnable."""
    _load_handlers()
    job = jobs_sql.claim(job_id=job_id, kinds=kinds, exclude=exclude, exclusive=exclusive)
    if job is None:
        return False
    func = _handlers.get(job["kind"])
    beating = threading.Event()

    def heartbeat() -> None:  # keeps a long job's lease while it runs
        while not beating.wait(HEARTBEAT_SECONDS):
            try:
                jobs_sql.touch(job_id=job["id"])
            except errors.AppError:
                log.warning("job heartbeat failed", exc_info=True)

    threading.Thread(target=heartbeat, name="viztube-job-heartbeat", daemon=True).start()
    try:
        if func is None:
            raise LookupError(f"no handler for job kind {job['kind']!r}")
        func(job["payload"])
    except Exception as exc:  # noqa: BLE001 - a job's failure is recorded, never lost
        final = job["attempts"] >= job["max_attempts"] or not isinstance(exc, (Retry, errors.AppError, OSError))
        retry = None if final else _backoff(job["attempts"])
        log.warning("job %s (%s) failed%s: %s", job["id"], job["kind"], "" if final else f", retry in {retry:.0f}s",
                    exc)
        jobs_sql.fail(job_id=job["id"], error=f"{type(exc).__name__}: {exc}", retry_in_seconds=retry)
    else:
        jobs_sql.complete(job_id=job["id"])
    finally:
        beating.set()
    return True


def run_now(job_id: uuid.UUID) -> None:
    """Try a just-enqueued job right away (after its transaction committed); a failure stays queued."""
    if db.in_transaction():
        raise RuntimeError("run_now must be called after the enqueuing transaction committed")
    try:
        run_one(job_id)
    except errors.AppError:
        log.warning("could not run job %s now; it stays queued", job_id, exc_info=True)


def run_pending(limit: int = 1000, kinds: list[str] | None = None) -> int:
    """Run runnable jobs until none is left (tests, scripts and the scheduled Lambda)."""
    done = 0
    while done < limit and run_one(kinds=kinds):
        done += 1
    return done


def _light_loop() -> None:
    from shared.services.job_handlers import periodic

    while True:
        _wake.wait(POLL_SECONDS)
        _wake.clear()
        try:
            periodic()
            while run_one(exclude=HEAVY_KINDS):
                pass
        except Exception:  # noqa: BLE001 - the worker must outlive a bad moment (database restart)
            log.exception("job worker pass failed")


def _heavy_loop() -> None:
    while True:
        time.sleep(POLL_SECONDS)
        try:
            while run_one(kinds=HEAVY_KINDS, exclusive=True):
                pass
        except Exception:  # noqa: BLE001
            log.exception("transcode worker pass failed")


def start_worker() -> None:
    """Start this process's worker threads once (one-box server): light jobs, and one heavy job at a time."""
    with _worker_lock:
        if not any(t.is_alive() for t in _workers):
            _workers[:] = [threading.Thread(target=_light_loop, name="viztube-jobs", daemon=True),
                           threading.Thread(target=_heavy_loop, name="viztube-transcode", daemon=True)]
            for thread in _workers:
                thread.start()
