"""Every SQL statement that touches sessions (one row per signed-in device; refresh tokens stored hashed)."""

from __future__ import annotations

import uuid
from typing import Any

from shared import db


def create(*, user_id: uuid.UUID, user_agent: str, ip: str, ttl_seconds: int) -> uuid.UUID:
    """A new session row; its token hash is set by `set_token` once the token (which names the row) exists."""
    return db.fetch_value(
        "INSERT INTO sessions (user_id, token_hash, user_agent, ip, expires_at)"
        " VALUES (:uid, '\\x00'::bytea, :ua, :ip, now() + make_interval(secs => :ttl)) RETURNING id",
        uid=user_id, ua=user_agent, ip=ip, ttl=ttl_seconds,
    )


def set_token(*, session_id: uuid.UUID, token_hash: bytes) -> None:
    db.execute("UPDATE sessions SET token_hash = :h WHERE id = :id", h=token_hash, id=session_id)


def rotate(*, session_id: uuid.UUID, old_hash: bytes, new_hash: bytes, ttl_seconds: int) -> uuid.UUID | None:
    """Swap the current token for a new one, atomically; None when `old_hash` is not the current token."""
    return db.fetch_value(
        "UPDATE sessions SET token_hash = :new, generation = generation + 1, last_used_at = now(),"
        " expires_at = now() + make_interval(secs => :ttl)"
        " WHERE id = :id AND token_hash = :old AND revoked_at IS NULL AND expires_at > now()"
        " RETURNING user_id",
        id=session_id, old=old_hash, new=new_hash, ttl=ttl_seconds,
    )


def get(*, session_id: uuid.UUID) -> dict[str, Any] | None:
    return db.fetch_one(
        "SELECT id, user_id, revoked_at, expires_at > now() AS live FROM sessions WHERE id = :id", id=session_id)


def revoke(*, session_id: uuid.UUID, reason: str) -> int:
    """End a live session; 0 when it had already ended (so of concurrent revocations exactly one gets 1)."""
    return db.execute(
        "UPDATE sessions SET revoked_at = now(), revoked_reason = :reason WHERE id = :id AND revoked_at IS NULL",
        id=session_id, reason=reason,
    )


def revoke_others(*, user_id: uuid.UUID, keep_session_id: uuid.UUID, reason: str) -> int:
    return db.execute(
        "UPDATE sessions SET revoked_at = now(), revoked_reason = :reason"
        " WHERE user_id = :uid AND id <> :keep AND revoked_at IS NULL",
        uid=user_id, keep=keep_session_id, reason=reason,
    )


def list_live(*, user_id: uuid.UUID) -> list[dict[str, Any]]:
    """A user's signed-in devices (not revoked, not expired), the most recently used first."""
    return db.fetch_all(
        "SELECT id, user_agent, ip, created_at, last_used_at FROM sessions"
        " WHERE user_id = :uid AND revoked_at IS NULL AND expires_at > now()"
        " ORDER BY last_used_at DESC, id DESC LIMIT 1000",
        uid=user_id,
    )


def revoke_own(*, user_id: uuid.UUID, session_id: uuid.UUID, reason: str) -> int:
    """End one live session of this user; 0 when it is not theirs, or not live."""
    return db.execute(
        "UPDATE sessions SET revoked_at = now(), revoked_reason = :reason"
        " WHERE id = :id AND user_id = :uid AND revoked_at IS NULL AND expires_at > now()",
        id=session_id, uid=user_id, reason=reason,
    )


def revoke_all(*, user_id: uuid.UUID, reason: str) -> int:
    """End every live session of a user (a password reset: whoever knew the old password is signed out)."""
    return db.execute(
        "UPDATE sessions SET revoked_at = now(), revoked_reason = :reason WHERE user_id = :uid AND revoked_at IS NULL",
        uid=user_id, reason=reason,
    )
