"""Every SQL statement that touches account tokens (the single-use links mailed for email verification and password
reset; only their SHA-256 is stored) and a user's email-verified state."""

from __future__ import annotations

import uuid
from typing import Any

from shared import db
from shared.sql.users import PUBLIC_COLUMNS


def issue(*, user_id: uuid.UUID, purpose: str, token_hash: bytes, email: str, ttl_seconds: int) -> uuid.UUID:
    """A new token; the user's earlier unused ones for the same purpose stop working (only the newest link does)."""
    return db.fetch_value(
        "WITH retired AS (UPDATE account_tokens SET used_at = now()"
        "  WHERE user_id = :uid AND purpose = :purpose AND used_at IS NULL),"
        " purged AS (DELETE FROM account_tokens WHERE user_id = :uid AND expires_at < now() - interval '7 days')"
        " INSERT INTO account_tokens (user_id, purpose, token_hash, email, expires_at)"
        " VALUES (:uid, :purpose, :hash, :email, now() + make_interval(secs => :ttl)) RETURNING id",
        uid=user_id, purpose=purpose, hash=token_hash, email=email, ttl=ttl_seconds,
    )


def delete(*, token_id: uuid.UUID) -> None:
    db.execute("DELETE FROM account_tokens WHERE id = :id", id=token_id)


def consume(*, token_hash: bytes, purpose: str) -> dict[str, Any] | None:
    """Use a live token, atomically (of two concurrent uses exactly one succeeds); None when it is unknown, used,
    replaced or expired."""
    return db.fetch_one(
        "UPDATE account_tokens SET used_at = now()"
        " WHERE token_hash = :hash AND purpose = :purpose AND used_at IS NULL AND expires_at > now()"
        " RETURNING user_id, email",
        hash=token_hash, purpose=purpose,
    )


def state(*, token_hash: bytes, purpose: str) -> str | None:
    """Why a token cannot be used: 'used' (or replaced by a newer one), 'expired', or None when unknown."""
    return db.fetch_value(
        "SELECT CASE WHEN used_at IS NOT NULL THEN 'used' ELSE 'expired' END FROM account_tokens"
        " WHERE token_hash = :hash AND purpose = :purpose",
        hash=token_hash, purpose=purpose,
    )


def retire(*, user_id: uuid.UUID, purpose: str) -> None:
    db.execute("UPDATE account_tokens SET used_at = now() WHERE user_id = :uid AND purpose = :purpose"
               " AND used_at IS NULL", uid=user_id, purpose=purpose)


def mark_email_verified(*, user_id: uuid.UUID, email: str) -> dict[str, Any] | None:
    """The user proved `email`; None when it is no longer their email (changed after the link was sent)."""
    return db.fetch_one(
        "UPDATE users SET email_verified = true, email_verified_at = coalesce(email_verified_at, now())"
        f" WHERE id = :id AND email = :email RETURNING {PUBLIC_COLUMNS}",
        id=user_id, email=email,
    )


def clear_email_verified(*, user_id: uuid.UUID) -> dict[str, Any] | None:
    """A new email address is unproven: the user is unverified until its link is followed."""
    return db.fetch_one(
        "UPDATE users SET email_verified = false, email_verified_at = NULL"
        f" WHERE id = :id RETURNING {PUBLIC_COLUMNS}",
        id=user_id,
    )
