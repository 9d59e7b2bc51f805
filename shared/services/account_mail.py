"""Email verification and password reset (issue #16, points 2-3): the single-use links, and the jobs that mail them.

A request only records a job; the job makes the token, stores its SHA-256 and sends the mail (shared.mail), so a
slow or failing SMTP server never slows or fails a request, a failed send is retried (its token discarded), and the
token itself is never written anywhere but into the mail. A forgotten-password request records the same job whether
or not the account exists (the job looks it up), so its answer and its timing say nothing about which accounts
exist.

Tokens are `<random>.<signature>`: the HMAC (keyed from ACCESS_TOKEN_SECRET, bound to the token's purpose) refuses
a tampered or made-up token before any database work; the row then makes it single-use and expiring. A link that is
not one we sent is a 404; one used, replaced by a newer one, or expired is a 410.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import uuid
from typing import Any

from shared import auth, cached, db, errors, jobs, mail
from shared.jobs import Retry, handler
from shared.settings import get_settings
from shared.sql import account_tokens as tokens_sql
from shared.sql import sessions as sessions_sql
from shared.sql import users as users_sql

log = logging.getLogger(__name__)
VERIFY = "verify_email"
RESET = "reset_password"
VERIFY_TTL_SECONDS = 24 * 3600
RESET_TTL_SECONDS = 3600
_WHAT = {VERIFY: "verification", RESET: "password reset"}


# ------------------------------------------------------------------------------------ tokens


def _signature(purpose: str, raw: str) -> str:
    key = hmac.new(get_settings().access_token_secret.encode(), b"viztube account token", hashlib.sha256).digest()
    digest = hmac.new(key, f"{purpose}:{raw}".encode(), hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(digest).decode()


def new_token(purpose: str) -> str:
    raw = secrets.token_urlsafe(32)
    return f"{raw}.{_signature(purpose, raw)}"


def _checked_hash(purpose: str, token: str) -> bytes:
    """The stored form of a token whose signature holds; a tampered one is refused without a database round trip."""
    raw, dot, signature = token.strip().partition(".")
    if not dot or not raw or not hmac.compare_digest(signature.encode(), _signature(purpose, raw).encode()):
        raise errors.NotFound(f"Invalid {_WHAT[purpose]} link")
    return auth.token_hash(token.strip())


def _consume(purpose: str, token_hash: bytes) -> dict[str, Any]:
    row = tokens_sql.consume(token_hash=token_hash, purpose=purpose)
    if row is not None:
        return row
    why = tokens_sql.state(token_hash=token_hash, purpose=purpose)
    what = _WHAT[purpose]
    if why == "used":
        raise errors.Gone(f"This {what} link was already used, or a newer one replaced it")
    if why == "expired":
        raise errors.Gone(f"This {what} link has expired: ask for a new one")
    raise errors.NotFound(f"Invalid {what} link")


# ------------------------------------------------------------------------------------ email verification


def send_verification(user_id: uuid.UUID) -> None:
    """Mail the user a verification link (after register, an email change, or a resend): a job, in the caller's
    transaction when there is one."""
    jobs.enqueue("mail_verify_email", {"user_id": str(user_id)})


def request_verification(current: auth.CurrentUser) -> None:
    if current.profile.get("email_verified"):
        raise errors.Conflict("Email is already verified")
    send_verification(current.id)


def email_changed(user_id: uuid.UUID) -> dict[str, Any] | None:
    """The user's email changed (inside the change's transaction): unverified again, and a link goes to the new one."""
    row = tokens_sql.clear_email_verified(user_id=user_id)
    tokens_sql.retire(user_id=user_id, purpose=VERIFY)  # a link sent to the old address proves nothing now
    send_verification(user_id)
    return row


def verify_email(token: str) -> dict[str, Any]:
    token_hash = _checked_hash(VERIFY, token)
    with db.transaction():
        used = _consume(VERIFY, token_hash)
        user = tokens_sql.mark_email_verified(user_id=used["user_id"], email=used["email"])
        if user is None:
            raise errors.Gone("This verification link is for an email address the account no longer uses")
        cached.forget_sign_ins(used["user_id"])
        cached.forget_channel(used["user_id"])
    return user


def require_verified_to_post(current: auth.CurrentUser) -> None:
    """Uploading and commenting need a verified email where REQUIRE_VERIFIED_EMAIL says so (off by default)."""
    if get_settings().require_verified_email and not current.profile.get("email_verified"):
        raise errors.Forbidden("Verify your email address first: follow the link we mailed you "
                               "(POST /api/v2/user/verify-email/request sends a new one)")


# ------------------------------------------------------------------------------------ password reset


def request_password_reset(*, email: str | None, username: str | None) -> None:
    """Record the job whether or not such an account exists: the job finds out, the request never does."""
    jobs.enqueue("mail_password_reset", {"email": email, "username": username})


def reset_password(token: str, new_password: str) -> None:
    """Set the new password, end every session of the account, and mail a notice."""
    token_hash = _checked_hash(RESET, token)
    new_hash = auth.hash_password(new_password)
    with db.transaction():
        used = _consume(RESET, token_hash)
        user_id = used["user_id"]
        users_sql.set_password_hash(user_id=user_id, password_hash=new_hash)
        tokens_sql.retire(user_id=user_id, purpose=RESET)
        sessions_sql.revoke_all(user_id=user_id, reason="password reset")
        cached.forget_sign_ins(user_id)
        jobs.enqueue("mail_password_changed", {"user_id": str(user_id)})


# ------------------------------------------------------------------------------------ the jobs that mail


def _mail_link(user: dict[str, Any], *, purpose: str, ttl: int, template: str, path: str) -> None:
    token = new_token(purpose)
    token_id = tokens_sql.issue(user_id=user["id"], purpose=purpose, token_hash=auth.token_hash(token),
                                email=user["email"], ttl_seconds=ttl)
    link = f"{get_settings().app_url}{path}?token={token}"
    try:
        mail.deliver(mail.render(template, to=user["email"], fullname=user["fullname"], username=user["username"],
                                 email=user["email"], link=link))
    except Exception as exc:
        tokens_sql.delete(token_id=token_id)  # never delivered: nobody holds it (the retry makes a new one)
        raise Retry(f"mail to {user['email']} not sent: {type(exc).__name__}: {exc}") from exc


@handler("mail_verify_email")
def mail_verify_email(payload: dict[str, Any]) -> None:
    user = users_sql.get_public(user_id=uuid.UUID(payload["user_id"]))
    if user is None or user["email_verified"]:
        return  # deleted, or verified meanwhile
    _mail_link(user, purpose=VERIFY, ttl=VERIFY_TTL_SECONDS, template="verify_email", path="/verify-email")


@handler("mail_password_reset")
def mail_password_reset(payload: dict[str, Any]) -> None:
    user = users_sql.find_for_login(email=payload.get("email"), username=payload.get("username"))
    if user is None:
        return  # no such account: nothing to send, and the request answered exactly as if there were
    _mail_link(user, purpose=RESET, ttl=RESET_TTL_SECONDS, template="password_reset", path="/reset-password")


@handler("mail_password_changed")
def mail_password_changed(payload: dict[str, Any]) -> None:
    user = users_sql.get_public(user_id=uuid.UUID(payload["user_id"]))
    if user is None:
        return
    try:
        mail.deliver(mail.render("password_changed", to=user["email"], fullname=user["fullname"],
                                 username=user["username"], app_url=get_settings().app_url))
    except Exception as exc:
        raise Retry(f"mail to {user['email']} not sent: {type(exc).__name__}: {exc}") from exc
