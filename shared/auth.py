"""Passwords (bcrypt), tokens (JWT HS256), auth cookies, and who is calling."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import bcrypt
import jwt
from chalice.app import Request

from shared import cached, errors
from shared.settings import get_settings
from shared.sql import users as users_sql
from shared.web.request import cookies

ACCESS_COOKIE = "accessToken"
REFRESH_COOKIE = "refreshToken"
ALGORITHM = "HS256"


# ------------------------------------------------------------------------------------ passwords


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(get_settings().bcrypt_rounds)).decode()


def verify_password(password: str, password_hash: str) -> bool:
    encoded = password.encode("utf-8")
    if len(encoded) > 72:  # bcrypt's limit; such a password was never accepted, so it cannot match
        encoded = encoded[:72]
        bcrypt.checkpw(encoded, password_hash.encode())
        return False
    try:
        return bcrypt.checkpw(encoded, password_hash.encode())
    except ValueError:
        return False


@lru_cache(maxsize=4)
def _dummy_hash(rounds: int) -> str:
    return bcrypt.hashpw(secrets.token_bytes(16).hex().encode(), bcrypt.gensalt(rounds)).decode()


def burn_password_check(password: str) -> None:
    """Spend the same bcrypt time as a real check, so an unknown account cannot be told apart by timing."""
    verify_password(password, _dummy_hash(get_settings().bcrypt_rounds))


# ------------------------------------------------------------------------------------ tokens


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def issue_access_token(user: dict[str, Any], session_id: uuid.UUID) -> str:
    settings = get_settings()
    now = int(time.time())
    claims = {"id": str(user["id"]), "email": user["email"], "username": user["username"],
              "sid": str(session_id), "typ": "access", "iat": now, "exp": now + settings.access_token_ttl}
    return jwt.encode(claims, settings.access_token_secret, algorithm=ALGORITHM)


def issue_refresh_token(user_id: uuid.UUID, session_id: uuid.UUID) -> str:
    settings = get_settings()
    now = int(time.time())
    # jti makes every token unique even when two are issued within the same second.
    claims = {"id": str(user_id), "sid": str(session_id), "typ": "refresh", "jti": secrets.token_urlsafe(16),
              "iat": now, "exp": now + settings.refresh_token_ttl}
    return jwt.encode(claims, settings.refresh_token_secret, algorithm=ALGORITHM)


@lru_cache(maxsize=4096)
def _verified_claims(token: str, secret: str, typ: str) -> dict[str, Any]:
    """Signature, structure and claims of a token, checked once per distinct token (a client sends the same
    access token on every request for 15 minutes; verifying it is a sixth of a cached read's CPU). Expiry is
    not decided here: it changes with time, so `_decode` checks it on every use. Failures are not cached."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM],
                            options={"require": ["exp", "iat"], "verify_exp": False})
    except jwt.InvalidSignatureError:
        raise errors.NotAuthenticated("invalid signature") from None
    except jwt.InvalidAlgorithmError:
        raise errors.NotAuthenticated("invalid algorithm") from None
    except jwt.DecodeError:
        raise errors.NotAuthenticated("jwt malformed") from None
    except jwt.InvalidTokenError:
        raise errors.NotAuthenticated("invalid token") from None
    if claims.get("typ") != typ or not isinstance(claims["exp"], int | float):
        raise errors.NotAuthenticated("invalid token")
    try:
        claims["id"] = uuid.UUID(str(claims["id"]))
        claims["sid"] = uuid.UUID(str(claims["sid"]))
    except (KeyError, ValueError):
        raise errors.NotAuthenticated("invalid token") from None
    return claims


def _decode(token: str, secret: str, typ: str) -> dict[str, Any]:
    """Verify a token; failures carry jsonwebtoken's messages, which the original's clients already see."""
    claims = _verified_claims(token, secret, typ)
    if claims["exp"] <= time.time():  # as PyJWT (and jsonwebtoken) decide it, with no leeway
        raise errors.NotAuthenticated("jwt expired")
    return dict(claims)  # the cached claims stay as verified, whatever a caller does with its copy


def decode_access_token(token: str) -> dict[str, Any]:
    return _decode(token, get_settings().access_token_secret, "access")


def decode_refresh_token(token: str) -> dict[str, Any]:
    try:
        return _decode(token, get_settings().refresh_token_secret, "refresh")
    except errors.NotAuthenticated:
        raise errors.NotAuthenticated("Invalid refresh token") from None


# ------------------------------------------------------------------------------------ cookies


def _cookie(name: str, value: str, max_age: int) -> str:
    """One auth cookie. SameSite and Domain come from settings (COOKIE_SAMESITE, COOKIE_DOMAIN): a clearing cookie
    carries the same Domain, or the browser would keep the one it has."""
    settings = get_settings()
    parts = [f"{name}={value}", f"Max-Age={max_age}", "Path=/", "HttpOnly", f"SameSite={settings.cookie_samesite}"]
    if max_age == 0:
        parts.insert(2, "Expires=Thu, 01 Jan 1970 00:00:00 GMT")
    if settings.cookie_domain:
        parts.insert(3 if max_age == 0 else 2, f"Domain={settings.cookie_domain}")
    if settings.cookie_secure:
        parts.append("Secure")
    return "; ".join(parts)


def auth_cookies(access_token: str, refresh_token: str) -> list[str]:
    settings = get_settings()
    return [_cookie(ACCESS_COOKIE, access_token, settings.access_token_ttl),
            _cookie(REFRESH_COOKIE, refresh_token, settings.refresh_token_ttl)]


def cleared_cookies() -> list[str]:
    return [_cookie(ACCESS_COOKIE, "", 0), _cookie(REFRESH_COOKIE, "", 0)]


# ------------------------------------------------------------------------------------ the caller


@dataclass(frozen=True)
class CurrentUser:
    id: uuid.UUID
    session_id: uuid.UUID
    profile: dict[str, Any]  # the PublicUser row


def access_token_from(request: Request) -> str | None:
    """Cookie `accessToken` first (as the original), then `Authorization: Bearer <token>`."""
    token = cookies(request).get(ACCESS_COOKIE)
    if token:
        return token
    header = (request.headers.get("authorization") or "").strip()
    if not header:
        return None
    scheme, _, rest = header.partition(" ")
    if rest and scheme.lower() == "bearer":
        return rest.strip() or None
    return header if not rest else None


def require_user(request: Request) -> CurrentUser:
    """The signed-in user; 401 when there is no valid token or its session was revoked or expired.

    The session check is cached (it was a third of a cached read's cost) under a guard that logout, password
    changes, refresh-token reuse and profile edits retire after they commit (shared.cached.forget_sign_ins), so a
    revoked session is refused at once and a renamed user is seen at once, in every process.
    """
    token = access_token_from(request)
    if not token:
        raise errors.NotAuthenticated("Unauthorized request")
    claims = decode_access_token(token)
    user_id, session_id = claims["id"], claims["sid"]
    row = cached.session(session_id, user_id,
                         lambda: users_sql.get_authenticated(user_id=user_id, session_id=session_id),
                         ttl=get_settings().cache_ttl_seconds, fresh=lambda value: value["session_expires"] > time.time())
    if row is None:
        raise errors.NotAuthenticated("Invalid Access Token")
    profile = {k: v for k, v in row.items() if k != "session_expires"}  # JSON-native: ids and times as strings
    return CurrentUser(id=user_id, session_id=session_id, profile=profile)


def refresh_token_from(request: Request, body: dict[str, Any]) -> str | None:
    token = cookies(request).get(REFRESH_COOKIE)
    if token:
        return token
    value = body.get("refreshToken")
    if value is not None and not isinstance(value, str):
        raise errors.ValidationFailed("refreshToken must be a string")
    return value or None
