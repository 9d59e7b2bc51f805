"""Every SQL statement that touches direct uploads."""

from __future__ import annotations

import uuid
from typing import Any

from shared import db

_COLUMNS = ("id, user_id, kind, declared_type, declared_size, storage, public_id, status, stored_size, stored_type,"
            " url, expires_at, received_at")


def create(*, user_id: uuid.UUID, kind: str, declared_type: str, declared_size: int, storage: str,
           public_id: str | None, ttl_seconds: int) -> dict[str, Any]:
    row = db.fetch_one(
        "INSERT INTO uploads (user_id, kind, declared_type, declared_size, storage, public_id, expires_at)"
        " VALUES (:uid, :kind, :type, :size, :storage, :pid, now() + make_interval(secs => :ttl))"
        f" RETURNING {_COLUMNS}",
        uid=user_id, kind=kind, type=declared_type, size=declared_size, storage=storage, pid=public_id,
        ttl=ttl_seconds,
    )
    assert row is not None
    return row


def get_pending(*, upload_id: uuid.UUID) -> dict[str, Any] | None:
    return db.fetch_one(
        f"SELECT {_COLUMNS} FROM uploads WHERE id = :id AND status = 'pending' AND expires_at > now() FOR UPDATE",
        id=upload_id)


def mark_received(*, upload_id: uuid.UUID, public_id: str, url: str, stored_size: int, stored_type: str) -> None:
    db.execute(
        "UPDATE uploads SET status = 'received', public_id = :pid, url = :url, stored_size = :size,"
        " stored_type = :type, received_at = now() WHERE id = :id",
        id=upload_id, pid=public_id, url=url, size=stored_size, type=stored_type,
    )


def consume(*, upload_id: uuid.UUID, user_id: uuid.UUID, kind: str) -> dict[str, Any] | None:
    """Take an upload for a video, once: it must be the caller's, of this kind, unexpired and unused."""
    return db.fetch_one(
        "UPDATE uploads SET status = 'consumed', consumed_at = now()"
        " WHERE id = :id AND user_id = :uid AND kind = :kind AND status <> 'consumed' AND expires_at > now()"
        f" RETURNING {_COLUMNS}",
        id=upload_id, uid=user_id, kind=kind,
    )


def take_expired(*, limit: int = 100) -> list[dict[str, Any]]:
    """Expired, never-used uploads, removed from the table; their stored files are the caller's to delete."""
    return db.fetch_all(
        "DELETE FROM uploads WHERE id IN (SELECT id FROM uploads WHERE status <> 'consumed'"
        " AND expires_at < now() ORDER BY expires_at LIMIT :limit FOR UPDATE SKIP LOCKED)"
        f" RETURNING {_COLUMNS}",
        limit=limit,
    )
