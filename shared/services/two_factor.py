"""Two-factor sign-in (TOTP, RFC 6238, through pyotp): enrolment, recovery codes, the sign-in challenge, and
checking a code so that none is accepted twice.

The secret is kept encrypted (AES-GCM, the user id as associated data, so a row copied onto another account does
not decrypt) and leaves the server once only: in the enrolment answer, for the authenticator app.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import io
import os
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import pyotp
import segno
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared import auth, cached, db, errors, ratelimit
from shared.settings import get_settings
from shared.sql import two_factor as two_factor_sql
from shared.sql import users as users_sql

ISSUER = "VizTube"
CHALLENGE_TTL_SECONDS = 5 * 60  # the second step of a sign-in must follow the first within 5 minutes
CHALLENGE_ATTEMPTS = 5  # wrong codes one challenge takes before it is spent (the per-account limit counts too)
RECOVERY_CODES = 10
STEPS_ACCEPTED = (-1, 0, 1)  # the current 30 s step and one either side, for clocks a little off (RFC 6238 §5.2)


@dataclass(frozen=True)
class Enrolment:
    secret: str
    otpauth_uri: str
    qr_svg: str


@dataclass(frozen=True)
class Challenge:
    """What a password sign-in of an enrolled account answers instead of tokens."""

    challenge: str


# ------------------------------------------------------------------------------------ the secret at rest


def _key() -> bytes:
    settings = get_settings()
    material = settings.two_factor_key or settings.access_token_secret
    # HMAC as a key-derivation function: a key of its own, even when derived from the token secret.
    return hmac.new(material.encode(), b"viztube two-factor secrets v1", hashlib.sha256).digest()


def _seal(user_id: uuid.UUID, secret: str) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(_key()).encrypt(nonce, secret.encode(), user_id.bytes)


def _open(user_id: uuid.UUID, sealed: bytes) -> str:
    try:
        return AESGCM(_key()).decrypt(sealed[:12], sealed[12:], user_id.bytes).decode()
    except InvalidTag:
        # The key changed (TWO_FACTOR_KEY, or ACCESS_TOKEN_SECRET when that is unset) since this user enrolled.
        raise errors.InternalError("This account's two-factor secret cannot be read: its key changed") from None


# ------------------------------------------------------------------------------------ codes


def _hash(code: str) -> bytes:
    return hashlib.sha256(code.encode()).digest()


def _normalize(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _new_recovery_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()  # 80 bits, 16 characters
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _matching_step(secret: str, code: str) -> int | None:
    """The time step whose TOTP is `code`, among the accepted ones; every candidate is compared (constant time)."""
    totp = pyotp.TOTP(secret)
    now = totp.timecode(_now())
    found = None
    for offset in STEPS_ACCEPTED:
        if hmac.compare_digest(totp.generate_otp(now + offset), code):
            found = now + offset
    return found


def _check_code(user_id: uuid.UUID, code: str, *, confirming: bool = False) -> bool:
    """Whether `code` (a TOTP code, or a recovery code unless confirming) is good now, spending it if so: a TOTP
    code's step becomes the last used, atomically, so the same code (or an older one) is refused from then on."""
    ratelimit.hit("two_factor", user_id)
    row = two_factor_sql.get(user_id=user_id)
    if row is None or row["enabled"] == confirming:
        return False
    given = _normalize(code)
    if len(given) == 6 and given.isdigit():
        step = _matching_step(_open(user_id, row["secret_enc"]), given)
        return step is not None and two_factor_sql.use_step(user_id=user_id, step=step, confirming=confirming)
    if confirming:
        return False
    return two_factor_sql.use_recovery_code(user_id=user_id, code_hash=_hash(given))


def check_code(user_id: uuid.UUID, code: str) -> bool:
    """For other services that ask an enrolled user for a code (account deletion): whether `code`, a TOTP or recovery
    code, is good now, spending it if so; rate-limited per account like every code tried."""
    return _check_code(user_id, code)


def _check_password(user_id: uuid.UUID, password: str) -> None:
    ratelimit.hit("two_factor", user_id)
    stored = users_sql.get_password_hash(user_id=user_id)
    if stored is None:
        raise errors.NotFound("User not found")
    if not auth.verify_password(password, stored):
        raise errors.BadRequest("Invalid password")


# ------------------------------------------------------------------------------------ enrolment


def enroll(current: auth.CurrentUser, *, password: str) -> Enrolment:
    """A new secret, pending until confirmed with a first code (enrolling again before that replaces it)."""
    _check_password(current.id, password)
    secret = pyotp.random_base32()
    if not two_factor_sql.start_enrolment(user_id=current.id, secret_enc=_seal(current.id, secret)):
        raise errors.Conflict("Two-factor sign-in is already enabled")
    uri = pyotp.TOTP(secret).provisioning_uri(name=current.profile["email"], issuer_name=ISSUER)
    svg = io.BytesIO()
    segno.make(uri, error="m").save(svg, kind="svg", scale=4, xmldecl=False)
    return Enrolment(secret=secret, otpauth_uri=uri, qr_svg=svg.getvalue().decode())


def confirm(current: auth.CurrentUser, *, code: str) -> list[str]:
    """Switch two-factor on with a first good code; answer the ten recovery codes (shown this once)."""
    row = two_factor_sql.get(user_id=current.id)
    if row is None:
        raise errors.Conflict("Two-factor enrolment has not been started (POST /api/v2/user/2fa/enroll)")
    if row["enabled"]:
        raise errors.Conflict("Two-factor sign-in is already enabled")
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    with db.transaction():
        if not _check_code(current.id, code, confirming=True):
            raise errors.BadRequest("Invalid two-factor code")
        two_factor_sql.replace_recovery_codes(user_id=current.id,
                                              code_hashes=[_hash(_normalize(c)) for c in codes])
        cached.forget_sign_ins(current.id)  # the user's object now says twoFactorEnabled
    return codes


def disable(current: auth.CurrentUser, *, password: str, code: str) -> None:
    _check_password(current.id, password)
    if not two_factor_sql.enabled(user_id=current.id):
        raise errors.Conflict("Two-factor sign-in is not enabled")
    with db.transaction():
        if not _check_code(current.id, code):
            raise errors.BadRequest("Invalid two-factor code")
        two_factor_sql.delete(user_id=current.id)
        cached.forget_sign_ins(current.id)


# ------------------------------------------------------------------------------------ signing in


def challenge_for(user: dict[str, Any]) -> Challenge | None:
    """After a good password: a challenge when the account is enrolled, else None (sign in at once)."""
    if not two_factor_sql.enabled(user_id=user["id"]):
        return None
    token = secrets.token_urlsafe(32)
    two_factor_sql.create_challenge(user_id=user["id"], token_hash=_hash(token), ttl_seconds=CHALLENGE_TTL_SECONDS)
    return Challenge(challenge=token)


def answer_challenge(challenge: str, code: str) -> uuid.UUID:
    """The user a challenge was issued to, once `code` is good for them; the challenge is then spent."""
    token_hash = _hash(challenge)
    # Counted in a statement of its own, before the code is checked: a wrong code's attempt stays counted.
    user_id = two_factor_sql.attempt_challenge(token_hash=token_hash, max_attempts=CHALLENGE_ATTEMPTS)
    if user_id is None:
        raise errors.NotAuthenticated("Invalid or expired two-factor challenge")
    with db.transaction():  # of two concurrent good answers one spends the challenge; the other's step rolls back
        if not _check_code(user_id, code) or not two_factor_sql.consume_challenge(token_hash=token_hash):
            raise errors.NotAuthenticated("Invalid two-factor code")
    return user_id
