"""Every SQL statement that touches jobs."""

from __future__ import annotations

import uuid
from typing import Any

from shared import db

LEASE_SECONDS = 300  # a running job's heartbeat renews this; left longer, its worker died and it is claimed again
_EXCLUSIVE_LOCK = (0x4A6F6273, 1)  # "Jobs": serialises claims of one-at-a-time kinds across processes


def insert(*, kind: str, payload: dict[str, Any], delay_seconds: float = 0, max_attempts: int = 8) -> uuid.UUID:
    return db.fetch_value(
        "INSERT INTO jobs (kind, payload, run_after, max_attempts)"
        " VALUES (:kind, CAST(:payload AS jsonb), now() + make_interval(secs => :delay), :max) RETURNING id",
        kind=kind, payload=_json(payload), delay=delay_seconds, max=max_attempts,
    )


def claim(*, job_id: uuid.UUID | None = None, kinds: list[str] | None = None, exclude: list[str] | None = None,
          exclusive: bool = False) -> dict[str, Any] | None:
    """Take one runnable job (or the given one), so no other worker can; None when there is none.

    `exclusive`: claim only while no job of these kinds runs anywhere (one transcode at a time per box).
    """
    with db.transaction() as tx:
        if exclusive:
            tx.execute("SELECT pg_advisory_xact_lock(:a, :b)", a=_EXCLUSIVE_LOCK[0], b=_EXCLUSIVE_LOCK[1])
        return tx.fetch_one(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, updated_at = now()"
            " WHERE id = (SELECT id FROM jobs"
            "   WHERE (status = 'pending' OR (status = 'running' AND updated_at < now() - make_interval(secs => :lease)))"
            "   AND run_after <= now()"
            "   AND (CAST(:job_id AS uuid) IS NULL OR id = :job_id)"
            "   AND (CAST(:kinds AS text[]) IS NULL OR kind = ANY(CAST(:kinds AS text[])))"
            "   AND (CAST(:exclude AS text[]) IS NULL OR kind <> ALL(CAST(:exclude AS text[])))"
            "   AND (NOT :exclusive OR NOT EXISTS (SELECT 1 FROM jobs r WHERE r.kind = ANY(CAST(:kinds AS text[]))"
            "        AND r.status = 'running' AND r.updated_at >= now() - make_interval(secs => :lease)))"
            "   ORDER BY run_after, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
            " RETURNING id, kind, payload, attempts, max_attempts",
            lease=LEASE_SECONDS, job_id=job_id, kinds=kinds, exclude=exclude, exclusive=exclusive,
        )


def touch(*, job_id: uuid.UUID) -> None:
    """Heartbeat of a running job: renews its lease."""
    db.execute("UPDATE jobs SET updated_at = now() WHERE id = :id AND status = 'running'", id=job_id)


def complete(*, job_id: uuid.UUID) -> None:
    db.execute("UPDATE jobs SET status = 'done', last_error = NULL, updated_at = now() WHERE id = :id", id=job_id)


def fail(*, job_id: uuid.UUID, error: str, retry_in_seconds: float | None) -> None:
    """Back to pending after `retry_in_seconds`, or failed for good when None."""
    db.execute(
        "UPDATE jobs SET last_error = :error, updated_at = now(),"
        " status = CASE WHEN CAST(:retry AS double precision) IS NULL THEN 'failed' ELSE 'pending' END,"
        " run_after = now() + make_interval(secs => coalesce(CAST(:retry AS double precision), 0))"
        " WHERE id = :id",
        id=job_id, error=error[:2000], retry=retry_in_seconds,
    )


def get(*, job_id: uuid.UUID) -> dict[str, Any] | None:
    return db.fetch_one("SELECT id, kind, payload, status, attempts, last_error FROM jobs WHERE id = :id", id=job_id)


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
