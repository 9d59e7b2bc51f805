"""Every SQL statement that touches direct uploads."""

from __future__ import annotations

import uuid
from typing import Any

from shared import db
from shared.wire import to_json

_COLUMNS = ("id, user_id, kind, declared_type, declared_size, storage, public_id, status, stored_size, stored_type,"
            " url, expires_at, received_at, protocol, assembly")


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


# ------------------------------------------------------------------ resumable (tus) uploads

_RESUMABLE = f"{_COLUMNS}, received_bytes, filename, patching_until IS NOT NULL AND patching_until > now() AS busy"


def create_resumable(*, user_id: uuid.UUID, kind: str, declared_type: str, declared_size: int, storage: str,
                     filename: str | None, ttl_seconds: int) -> dict[str, Any]:
    row = db.fetch_one(
        "INSERT INTO uploads (user_id, kind, declared_type, declared_size, storage, expires_at, protocol, filename)"
        " VALUES (:uid, :kind, :type, :size, :storage, now() + make_interval(secs => :ttl), 'tus', :filename)"
        f" RETURNING {_RESUMABLE}",
        uid=user_id, kind=kind, type=declared_type, size=declared_size, storage=storage, ttl=ttl_seconds,
        filename=filename,
    )
    assert row is not None
    return row


def set_assembly(*, upload_id: uuid.UUID, assembly: dict[str, Any]) -> None:
    db.execute("UPDATE uploads SET assembly = CAST(:assembly AS jsonb) WHERE id = :id", id=upload_id,
               assembly=to_json(assembly))


def get_resumable(*, upload_id: uuid.UUID, user_id: uuid.UUID) -> dict[str, Any] | None:
    """The caller's tus upload, expired or not (the caller tells 404 from 410)."""
    return db.fetch_one(f"SELECT {_RESUMABLE} FROM uploads WHERE id = :id AND user_id = :uid AND protocol = 'tus'",
                        id=upload_id, uid=user_id)


def claim_for_append(*, upload_id: uuid.UUID, user_id: uuid.UUID, lease_seconds: int) -> dict[str, Any] | None:
    """Hold the caller's pending, unexpired tus upload for one PATCH: None when it is not there to append to or
    another request holds it (the row says which)."""
    return db.fetch_one(
        "UPDATE uploads SET patching_until = now() + make_interval(secs => :lease)"
        " WHERE id = :id AND user_id = :uid AND protocol = 'tus' AND status = 'pending' AND expires_at > now()"
        " AND (patching_until IS NULL OR patching_until <= now())"
        f" RETURNING {_RESUMABLE}",
        id=upload_id, uid=user_id, lease=lease_seconds,
    )


def record_progress(*, upload_id: uuid.UUID, received_bytes: int, assembly: dict[str, Any], stored_type: str | None,
                    ttl_seconds: int) -> dict[str, Any] | None:
    """After a chunk is durable: the new offset, the assembly's state, the type the first bytes showed, a later
    expiry; the hold is released."""
    return db.fetch_one(
        "UPDATE uploads SET received_bytes = :received, assembly = CAST(:assembly AS jsonb), patching_until = NULL,"
        " stored_type = :type, expires_at = greatest(expires_at, now() + make_interval(secs => :ttl))"
        f" WHERE id = :id AND protocol = 'tus' AND status = 'pending' RETURNING {_RESUMABLE}",
        id=upload_id, received=received_bytes, assembly=to_json(assembly), type=stored_type, ttl=ttl_seconds,
    )


def finish_resumable(*, upload_id: uuid.UUID, public_id: str, url: str, stored_size: int,
                     stored_type: str) -> dict[str, Any] | None:
    """The last chunk is in and the whole file stored: the upload is received, as a direct upload's would be."""
    return db.fetch_one(
        "UPDATE uploads SET status = 'received', received_bytes = declared_size, patching_until = NULL,"
        " assembly = NULL, public_id = :pid, url = :url, stored_size = :size, stored_type = :type, received_at = now()"
        f" WHERE id = :id AND protocol = 'tus' AND status = 'pending' RETURNING {_RESUMABLE}",
        id=upload_id, pid=public_id, url=url, size=stored_size, type=stored_type,
    )


def release(*, upload_id: uuid.UUID) -> None:
    """Give up the hold without progress (a chunk refused or failed)."""
    db.execute("UPDATE uploads SET patching_until = NULL WHERE id = :id", id=upload_id)


def take_resumable(*, upload_id: uuid.UUID, user_id: uuid.UUID) -> dict[str, Any] | None:
    """Terminate the caller's unfinished tus upload: the row goes; what it gathered is the caller's to throw away."""
    return db.fetch_one(
        "DELETE FROM uploads WHERE id = :id AND user_id = :uid AND protocol = 'tus' AND status = 'pending'"
        " AND (patching_until IS NULL OR patching_until <= now())"
        f" RETURNING {_RESUMABLE}",
        id=upload_id, uid=user_id,
    )
