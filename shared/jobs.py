"""Background jobs: enqueue a row, run it now or let a worker pick it up; retried with backoff.

Handlers register with `@handler("kind")`. In the one-box server each process runs a small worker
thread (`start_worker`); tests and scripts call `run_pending()`; a scheduled Lambda does the same.

Across nodes (issue #10): a job that needs a file on one node's disk is pinned to that node and only
claimed there; a job is `done` only when its handler returned, otherwise retried, then `failed` (and
the handler's give-up hook records why, e.g. the video FAILED). Every claim records the worker process;
its heartbeat renews a lease of JOB_LEASE seconds (45 by default), after which any node takes the job
over, and a starting node resumes its own dead processes' jobs at once.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from shared import db, errors
from shared.node import current_worker, is_alive
from shared.settings import get_settings
from shared.sql import jobs as jobs_sql

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]
GiveUp = Callable[[dict[str, Any], str], None]
_handlers: dict[str, Handler] = {}
_give_up_hooks: dict[str, GiveUp] = {}
_wake = threading.Event()
_heavy_wake = threading.Event()
_workers: list[threading.Thread] = []
_worker_lock = threading.Lock()
_stopping = threading.Event()  # set by stop_worker: the loops finish the job in hand and take no other
POLL_SECONDS = 2.0
# CPU-heavy kinds: run by their own thread, one at a time across every process of a node (host).
HEAVY_KINDS = ["transcode_hls"]


class Retry(Exception):
    """Raised by a handler for a failure worth trying again later."""


class WorkerLost(Exception):
    """A job whose workers kept dying while running it (say, killed for memory): not tried again."""


def handler(kind: str, *, on_give_up: GiveUp | None = None) -> Callable[[Handler], Handler]:
    """Register a job kind. `on_give_up(payload, reason)` runs once the job has failed for good."""
    def register(func: Handler) -> Handler:
        _handlers[kind] = func
        if on_give_up is not None:
            _give_up_hooks[kind] = on_give_up
        return func

    return register


def heartbeat_seconds() -> float:
    """Well inside the lease (15 s of the default 45): two beats can be missed (a slow database) before the
    job is taken over."""
    return get_settings().job_lease_seconds / 3


_housekeeping: list[Callable[[], None]] = []


class Every:
    """A periodic task's pace in this process: `due()` is true at most once per `seconds` (the first call: true).
    Each sweep keeps one, so the worker's pass (every few seconds) and the serverless schedule (every minute) can
    call every sweep each time."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._next = 0.0

    def due(self) -> bool:
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = now + self.seconds
        return True

    def reset(self) -> None:
        """The next `due()` is true (tests, and whatever must sweep at once)."""
        self._next = 0.0


def housekeeping(task: Callable[[], None]) -> Callable[[], None]:
    """Register a task the worker runs on every pass (the task decides how often it really does anything)."""
    _housekeeping.append(task)
    return task


def enqueue(kind: str, payload: dict[str, Any], *, delay_seconds: float = 0, node: str | None = None) -> uuid.UUID:
    """Record a job (inside the caller's transaction when there is one); once committed, nudge a worker:
    this process's threads, and on serverless the SQS queue whose consumer runs it.

    `node`: the node that must run it, because the file it works on is on that node's disk (shared.node);
    None lets any node run it."""
    job_id = jobs_sql.insert(kind=kind, payload=payload, delay_seconds=delay_seconds, node=node)
    db.on_commit(_wake.set)
    db.on_commit(_heavy_wake.set)
    queue_url = queue_for(kind)
    if queue_url:
        db.on_commit(lambda: _send_to_queue(queue_url, job_id, delay_seconds))
    return job_id


def queue_for(kind: str) -> str | None:
    """The SQS queue announcing jobs of this kind: the heavy kinds' own (HEAVY_JOBS_QUEUE_URL, consumed by workers
    on machines of their own) when there is one, else JOBS_QUEUE_URL; None without SQS."""
    settings = get_settings()
    if kind in HEAVY_KINDS and settings.heavy_jobs_queue_url:
        return settings.heavy_jobs_queue_url
    return settings.jobs_queue_url


def _send_to_queue(queue_url: str, job_id: uuid.UUID, delay_seconds: float) -> None:
    from shared.aws import sqs_client

    sqs_client().send_message(QueueUrl=queue_url, MessageBody=f'{{"jobId": "{job_id}"}}',
                              DelaySeconds=min(900, int(delay_seconds)))


def _backoff(attempts: int) -> float:
    return min(3600.0, 5.0 * 2 ** (attempts - 1))


def run_one(job_id: uuid.UUID | None = None, kinds: list[str] | None = None, exclude: list[str] | None = None,
            exclusive: bool = False) -> bool:
    """Claim and run one job; False when nothing was runnable."""
    worker = current_worker()
    job = jobs_sql.claim(worker=worker, lease_seconds=get_settings().job_lease_seconds, job_id=job_id, kinds=kinds,
                         exclude=exclude, exclusive=exclusive)
    if job is None:
        return False
    claim = {"job_id": job["id"], "token": worker.token, "attempts": job["attempts"]}
    func = _handlers.get(job["kind"])
    beating = threading.Event()
    every = heartbeat_seconds()

    def heartbeat() -> None:  # keeps a long job's lease while it runs
        while not beating.wait(every):
            try:
                if not jobs_sql.touch(**claim):
                    log.warning("job %s was taken over by another worker after its lease ran out", job["id"])
                    return
            except errors.AppError:
                log.warning("job heartbeat failed", exc_info=True)

    threading.Thread(target=heartbeat, name="viztube-job-heartbeat", daemon=True).start()
    try:
        if job["attempts"] > job["max_attempts"]:  # the last attempts ended with their worker, not with an error
            raise WorkerLost(f"its worker stopped while running it, {job['attempts'] - 1} attempts in all")
        if func is None:
            raise LookupError(f"no handler for job kind {job['kind']!r}")
        func(job["payload"])
    except Exception as exc:
        final = job["attempts"] >= job["max_attempts"] or not isinstance(exc, (Retry, errors.AppError, OSError))
        retry = None if final else _backoff(job["attempts"])
        log.warning("job %s (%s) failed%s: %s", job["id"], job["kind"], "" if final else f", retry in {retry:.0f}s",
                    exc)
        recorded = jobs_sql.fail(**claim, error=f"{type(exc).__name__}: {exc}", retry_in_seconds=retry)
        if final and recorded:
            _give_up(job, str(exc) or type(exc).__name__)
    else:
        if not jobs_sql.complete(**claim):
            log.warning("job %s finished after another worker took it over; its outcome is theirs", job["id"])
    finally:
        beating.set()
    return True


def _give_up(job: dict[str, Any], reason: str) -> None:
    hook = _give_up_hooks.get(job["kind"])
    if hook is None:
        return
    try:
        hook(job["payload"], reason)
    except Exception:
        log.exception("give-up hook of job %s (%s) failed", job["id"], job["kind"])


def resume_dead_workers() -> int:
    """Make this node's jobs whose worker process is gone (crashed, killed, restarted) claimable at once,
    instead of waiting out their lease; return how many. Other nodes' jobs are left to their lease: their
    pids mean nothing here."""
    me = current_worker()
    if me.node is None:
        return 0
    released = 0
    for job in jobs_sql.running_on(node=me.node):
        if is_alive(host=job["worker_host"], pid=job["worker_pid"], token=job["worker_token"]):
            continue
        # Fenced on the dead worker's claim: if another node took the job over meanwhile, nothing changes.
        if jobs_sql.release(job_id=job["id"], token=job["worker_token"], attempts=job["attempts"],
                            error=f"its worker (pid {job['worker_pid']}) died while running it"):
            released += 1
            log.warning("job %s (%s) resumed: its worker, pid %s, is gone", job["id"], job["kind"], job["worker_pid"])
            (_heavy_wake if job["kind"] in HEAVY_KINDS else _wake).set()
    return released


def run_queued(job_id: uuid.UUID) -> bool:
    """Run the job an SQS message names (serverless). True when the message may be deleted: the job is done, or
    gone. False while the job still needs running (it failed and waits for a retry, failed for good, or another
    worker holds it): the message then comes back after the queue's visibility timeout, and after the queue's
    maxReceiveCount deliveries SQS moves it to the dead-letter queue, where a failing job is seen."""
    run_one(job_id)
    job = jobs_sql.get(job_id=job_id)
    return job is None or job["status"] == "done"


def run_now(job_id: uuid.UUID) -> None:
    """Try a just-enqueued job right away (after its transaction committed); a failure stays queued."""
    if db.in_transaction():
        raise RuntimeError("run_now must be called after the enqueuing transaction committed")
    try:
        run_one(job_id)
    except errors.AppError:
        log.warning("could not run job %s now; it stays queued", job_id, exc_info=True)


def run_pending(limit: int = 1000, kinds: list[str] | None = None) -> int:
    """Run runnable jobs until none is left (tests, scripts and the scheduled Lambda). With HEAVY_JOBS_QUEUE_URL the
    heavy kinds belong to the workers of that queue: left to them unless `kinds` asks for them."""
    exclude = HEAVY_KINDS if kinds is None and get_settings().heavy_jobs_queue_url else None
    done = 0
    while done < limit and run_one(kinds=kinds, exclude=exclude):
        done += 1
    return done


def _light_loop() -> None:
    _wake.set()  # the first pass runs at once: it resumes what this node's dead processes left running
    next_resume = 0.0
    while not _stopping.is_set():
        _wake.wait(POLL_SECONDS)
        _wake.clear()
        try:
            if time.monotonic() >= next_resume:  # at start, then now and then: a sibling process may have died
                resume_dead_workers()
                next_resume = time.monotonic() + heartbeat_seconds()
            for task in _housekeeping:
                task()
            while not _stopping.is_set() and run_one(exclude=HEAVY_KINDS):
                pass
        except Exception:
            log.exception("job worker pass failed")


def _heavy_loop() -> None:
    while not _stopping.is_set():
        _heavy_wake.wait(POLL_SECONDS)
        _heavy_wake.clear()
        try:
            while not _stopping.is_set() and run_one(kinds=HEAVY_KINDS, exclusive=True):
                pass
        except Exception:
            log.exception("transcode worker pass failed")


def start_worker() -> None:
    """Start this process's worker threads once (one-box server): light jobs, and one heavy job at a time."""
    with _worker_lock:
        if not any(t.is_alive() for t in _workers):
            _stopping.clear()
            _workers[:] = [threading.Thread(target=_light_loop, name="viztube-jobs", daemon=True),
                           threading.Thread(target=_heavy_loop, name="viztube-transcode", daemon=True)]
            for thread in _workers:
                thread.start()


def stop_worker(timeout: float) -> bool:
    """Let the worker threads finish the job in hand and take no other; True when they ended within `timeout`
    seconds. A job still running then keeps its lease until this process exits: its node's next worker resumes it
    at once (resume_dead_workers), any other node once the lease lapses."""
    _stopping.set()
    _wake.set()
    _heavy_wake.set()
    deadline = time.monotonic() + timeout
    for thread in list(_workers):
        thread.join(max(0.0, deadline - time.monotonic()))
    return not any(t.is_alive() for t in _workers)
