"""Background jobs: enqueue a row, run it now or let a worker pick it up; retried with backoff.

Handlers register with `@handler("kind")`. In the one-box server each process runs a small worker
thread (`start_worker`); tests and scripts call `run_pending()`; a scheduled Lambda does the same.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

from shared import db, errors
from shared.sql import jobs as jobs_sql

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]
_handlers: dict[str, Handler] = {}
_wake = threading.Event()
_worker: threading.Thread | None = None
_worker_lock = threading.Lock()
POLL_SECONDS = 2.0


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
    """Record a job (inside the caller's transaction when there is one) and nudge this process's worker."""
    job_id = jobs_sql.insert(kind=kind, payload=payload, delay_seconds=delay_seconds)
    _wake.set()
    return job_id


def _backoff(attempts: int) -> float:
    return min(3600.0, 5.0 * 2 ** (attempts - 1))


def run_one(job_id: uuid.UUID | None = None, kinds: list[str] | None = None) -> bool:
    """Claim and run one job; False when nothing was runnable."""
    _load_handlers()
    job = jobs_sql.claim(job_id=job_id, kinds=kinds)
    if job is None:
        return False
    func = _handlers.get(job["kind"])
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
    done = 0
    while done < limit and run_one(kinds=kinds):
        done += 1
    return done


def _loop() -> None:
    from shared.services.job_handlers import periodic

    while True:
        _wake.wait(POLL_SECONDS)
        _wake.clear()
        try:
            periodic()
            run_pending(limit=50)
        except Exception:  # noqa: BLE001 - the worker must outlive a bad moment (database restart)
            log.exception("job worker pass failed")


def start_worker() -> None:
    """Start this process's worker thread once (one-box server)."""
    global _worker
    with _worker_lock:
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_loop, name="viztube-jobs", daemon=True)
            _worker.start()
