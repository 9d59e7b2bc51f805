"""Every SQL statement that touches jobs."""

from __future__ import annotations

import uuid
from typing import Any

from shared import db
from shared.node import Worker, current_worker

# A running job's heartbeat renews this; left longer, its worker died and any node claims it again. The engine
# passes the JOB_LEASE setting; this default is for callers that do not.
DEFAULT_LEASE_SECONDS = 45
_EXCLUSIVE_LOCK = 0x4A6F6273  # "Jobs": with the node's hash, serialises one node's claims of one-at-a-time kinds


def insert(*, kind: str, payload: dict[str, Any], delay_seconds: float = 0, max_attempts: int = 8,
           node: str | None = None) -> uuid.UUID:
    """`node`: only that node may run the job (it needs a file on that node's disk); None: any node."""
    return db.fetch_value(
        "INSERT INTO jobs (kind, payload, run_after, max_attempts, node)"
        " VALUES (:kind, CAST(:payload AS jsonb), now() + make_interval(secs => :delay), :max, :node) RETURNING id",
        kind=kind, payload=_json(payload), delay=delay_seconds, max=max_attempts, node=node,
    )


def claim(*, worker: Worker | None = None, lease_seconds: float = DEFAULT_LEASE_SECONDS,
          job_id: uuid.UUID | None = None, kinds: list[str] | None = None, exclude: list[str] | None = None,
          exclusive: bool = False) -> dict[str, Any] | None:
    """Take one runnable job (or the given one) for `worker` (this process by default), so no other worker can;
    None when there is none. Jobs pinned to another node are never taken.

    `exclusive`: claim only while no job of these kinds runs on the worker's node (one transcode at a time per
    host; other nodes transcode meanwhile).
    """
    worker = worker or current_worker()
    with db.transaction() as tx:
        if exclusive:
            # Taken before the claim's snapshot, so the NOT EXISTS below sees the claim a sibling process of this
            # node committed just before; other nodes hash to other keys and never wait on it.
            tx.execute("SELECT pg_advisory_xact_lock(:lock, hashtext(coalesce(CAST(:node AS text), '')))",
                       lock=_EXCLUSIVE_LOCK, node=worker.node)
        return tx.fetch_one(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, updated_at = now(),"
            " worker_node = :node, worker_host = :host, worker_pid = :pid, worker_token = :token"
            " WHERE id = (SELECT id FROM jobs"
            "   WHERE (status = 'pending' OR (status = 'running' AND updated_at < now() - make_interval(secs => :lease)))"
            "   AND run_after <= now()"
            "   AND (node IS NULL OR node = CAST(:node AS text))"
            "   AND (CAST(:job_id AS uuid) IS NULL OR id = :job_id)"
            "   AND (CAST(:kinds AS text[]) IS NULL OR kind = ANY(CAST(:kinds AS text[])))"
            "   AND (CAST(:exclude AS text[]) IS NULL OR kind <> ALL(CAST(:exclude AS text[])))"
            "   AND (NOT :exclusive OR NOT EXISTS (SELECT 1 FROM jobs r WHERE r.kind = ANY(CAST(:kinds AS text[]))"
            "        AND r.status = 'running' AND r.worker_node IS NOT DISTINCT FROM CAST(:node AS text)"
            "        AND r.updated_at >= now() - make_interval(secs => :lease)))"
            "   ORDER BY run_after, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
            " RETURNING id, kind, payload, attempts, max_attempts",
            lease=lease_seconds, job_id=job_id, kinds=kinds, exclude=exclude, exclusive=exclusive,
            node=worker.node, host=worker.host, pid=worker.pid, token=worker.token,
        )


# The claim a worker holds is (job id, its token, the attempt number the claim made). Every later write is fenced
# on it: once a lease ran out and another worker took the job over, the first one can no longer move it.
_MINE = "id = :id AND status = 'running' AND worker_token = :token AND attempts = :attempts"


def touch(*, job_id: uuid.UUID, token: str, attempts: int) -> bool:
    """Heartbeat of a running job: renews its lease; False when the claim was lost to another worker."""
    return db.execute(f"UPDATE jobs SET updated_at = now() WHERE {_MINE}", id=job_id, token=token,
                      attempts=attempts) == 1


def complete(*, job_id: uuid.UUID, token: str, attempts: int) -> bool:
    return db.execute(f"UPDATE jobs SET status = 'done', last_error = NULL, updated_at = now() WHERE {_MINE}",
                      id=job_id, token=token, attempts=attempts) == 1


def fail(*, job_id: uuid.UUID, token: str, attempts: int, error: str, retry_in_seconds: float | None) -> bool:
    """Back to pending after `retry_in_seconds`, or failed for good when None."""
    return db.execute(
        "UPDATE jobs SET last_error = :error, updated_at = now(),"
        " status = CASE WHEN CAST(:retry AS double precision) IS NULL THEN 'failed' ELSE 'pending' END,"
        " run_after = now() + make_interval(secs => coalesce(CAST(:retry AS double precision), 0))"
        f" WHERE {_MINE}",
        id=job_id, token=token, attempts=attempts, error=error[:2000], retry=retry_in_seconds,
    ) == 1


def running_on(*, node: str) -> list[dict[str, Any]]:
    """The jobs workers of this node are running, with who runs each."""
    return db.fetch_all(
        "SELECT id, kind, attempts, worker_host, worker_pid, worker_token FROM jobs"
        " WHERE status = 'running' AND worker_node = :node", node=node)


def release(*, job_id: uuid.UUID, token: str, attempts: int, error: str) -> bool:
    """A running job whose worker is gone becomes claimable now, without waiting out its lease."""
    return db.execute(
        f"UPDATE jobs SET status = 'pending', run_after = now(), updated_at = now(), last_error = :error WHERE {_MINE}",
        id=job_id, token=token, attempts=attempts, error=error[:2000]) == 1


def get(*, job_id: uuid.UUID) -> dict[str, Any] | None:
    return db.fetch_one(
        "SELECT id, kind, payload, status, attempts, last_error, node, worker_node, worker_pid FROM jobs WHERE id = :id",
        id=job_id)


def waiting(*, kinds: list[str]) -> int:
    """Jobs of these kinds not finished yet (pending or running)."""
    return db.fetch_value("SELECT count(*) FROM jobs WHERE status IN ('pending', 'running') AND kind = ANY(:kinds)",
                          kinds=kinds)


def depth() -> dict[str, int]:
    rows = db.fetch_all("SELECT status, count(*) AS n FROM jobs WHERE status IN ('pending', 'running') GROUP BY status")
    return {r["status"]: r["n"] for r in rows}


def _json(value: dict[str, Any]) -> str:
    import json

    return json.dumps(value, default=str)
