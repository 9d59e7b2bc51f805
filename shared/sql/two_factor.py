"""Every SQL statement that touches two-factor sign-in: the TOTP enrolment, recovery codes and login challenges."""

from __future__ import annotations

import uuid
from typing import Any

from shared import db


def get(*, user_id: uuid.UUID) -> dict[str, Any] | None:
    return db.fetch_one(
        "SELECT secret_enc, confirmed_at IS NOT NULL AS enabled, last_step FROM two_factor WHERE user_id = :uid",
        uid=user_id)


def enabled(*, user_id: uuid.UUID) -> bool:
    return bool(db.fetch_value(
        "SELECT EXISTS (SELECT 1 FROM two_factor WHERE user_id = :uid AND confirmed_at IS NOT NULL)", uid=user_id))


def start_enrolment(*, user_id: uuid.UUID, secret_enc: bytes) -> bool:
    """A new pending secret (replacing a pending one); False when two-factor is already on (nothing changes)."""
    return db.fetch_value(
        "INSERT INTO two_factor (user_id, secret_enc) VALUES (:uid, :secret)"
        " ON CONFLICT (user_id) DO UPDATE SET secret_enc = EXCLUDED.secret_enc, last_step = -1, created_at = now()"
        " WHERE two_factor.confirmed_at IS NULL RETURNING true",
        uid=user_id, secret=secret_enc) is not None


def use_step(*, user_id: uuid.UUID, step: int, confirming: bool) -> bool:
    """Record `step` as the last one used, atomically, and only when later than the last: of two requests with the
    same code exactly one wins. `confirming` also switches two-factor on (and requires it to be pending)."""
    return db.fetch_value(
        "UPDATE two_factor SET last_step = :step,"
        " confirmed_at = CASE WHEN CAST(:confirming AS boolean) THEN now() ELSE confirmed_at END"
        " WHERE user_id = :uid AND last_step < :step"
        " AND (confirmed_at IS NULL) = CAST(:confirming AS boolean) RETURNING true",
        uid=user_id, step=step, confirming=confirming) is not None


def replace_recovery_codes(*, user_id: uuid.UUID, code_hashes: list[bytes]) -> None:
    db.execute("DELETE FROM two_factor_recovery_codes WHERE user_id = :uid", uid=user_id)
    db.execute("INSERT INTO two_factor_recovery_codes (user_id, code_hash) SELECT :uid, unnest(CAST(:hashes AS bytea[]))",
               uid=user_id, hashes=code_hashes)


def use_recovery_code(*, user_id: uuid.UUID, code_hash: bytes) -> bool:
    """Spend a recovery code: True once, for an unused code of this user."""
    return db.fetch_value(
        "UPDATE two_factor_recovery_codes SET used_at = now()"
        " WHERE user_id = :uid AND code_hash = :h AND used_at IS NULL RETURNING true",
        uid=user_id, h=code_hash) is not None


def remaining_recovery_codes(*, user_id: uuid.UUID) -> int:
    return int(db.fetch_value(
        "SELECT count(*) FROM two_factor_recovery_codes WHERE user_id = :uid AND used_at IS NULL", uid=user_id))


def delete(*, user_id: uuid.UUID) -> int:
    db.execute("DELETE FROM two_factor_recovery_codes WHERE user_id = :uid", uid=user_id)
    db.execute("DELETE FROM login_challenges WHERE user_id = :uid", uid=user_id)
    return db.execute("DELETE FROM two_factor WHERE user_id = :uid", uid=user_id)


# ------------------------------------------------------------------------------------ login challenges


def create_challenge(*, user_id: uuid.UUID, token_hash: bytes, ttl_seconds: int) -> None:
    # An account's expired challenges go as a new one comes: the table holds only what could still be answered.
    db.execute("DELETE FROM login_challenges WHERE user_id = :uid AND expires_at <= now()", uid=user_id)
    db.execute(
        "INSERT INTO login_challenges (user_id, token_hash, expires_at)"
        " VALUES (:uid, :h, now() + make_interval(secs => :ttl))",
        uid=user_id, h=token_hash, ttl=ttl_seconds)


def attempt_challenge(*, token_hash: bytes, max_attempts: int) -> uuid.UUID | None:
    """Count one attempt at a live challenge and return its user; None when it is unknown, expired or spent."""
    return db.fetch_value(
        "UPDATE login_challenges SET attempts = attempts + 1"
        " WHERE token_hash = :h AND expires_at > now() AND attempts < :max RETURNING user_id",
        h=token_hash, max=max_attempts)


def consume_challenge(*, token_hash: bytes) -> bool:
    """The challenge answered: it goes, and only one of two concurrent answers gets True."""
    return db.fetch_value("DELETE FROM login_challenges WHERE token_hash = :h RETURNING true", h=token_hash) is not None
