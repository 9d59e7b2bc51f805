"""Account use cases that span the database, storage and sessions: register, sign-in, tokens, images."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from shared import auth, cached, db, errors
from shared.media.files import UploadedFile, check_image
from shared.schemas.users import normalize_email, normalize_username
from shared.services import account_mail, two_factor
from shared.services.media_cleanup import discard, schedule_deletion
from shared.settings import get_settings
from shared.sql import moderation as moderation_sql
from shared.sql import sessions as sessions_sql
from shared.sql import users as users_sql
from shared.storage import StoredFile, get_storage

log = logging.getLogger(__name__)

BANNED_MESSAGE = "This account has been banned for breaking the community rules"


@dataclass(frozen=True)
class SignedIn:
    user: dict[str, Any]
    access_token: str
    refresh_token: str


def register(*, fullname: str, username: str, email: str, password: str,
             avatar: UploadedFile, cover: UploadedFile | None) -> dict[str, Any]:
    username, email = normalize_username(username), normalize_email(email)
    avatar_mime = check_image(avatar)
    cover_mime = check_image(cover) if cover else None
    taken = users_sql.taken_field(username=username, email=email)
    if taken:
        raise errors.Conflict(f"{taken} already exists")
    password_hash = auth.hash_password(password)
    storage = get_storage()
    stored: list[StoredFile] = []
    try:
        avatar_file = storage.save(avatar.path, kind="avatar", mime=avatar_mime)
        stored.append(avatar_file)
        cover_file = storage.save(cover.path, kind="coverImage", mime=cover_mime) if cover and cover_mime else None
        if cover_file:
            stored.append(cover_file)
        with db.transaction():
            user = users_sql.insert(
                username=username, email=email, fullname=fullname.strip(), password_hash=password_hash,
                avatar=avatar_file.url, avatar_public_id=avatar_file.public_id,
                cover_image=cover_file.url if cover_file else "",
                cover_image_public_id=cover_file.public_id if cover_file else None,
            )
            account_mail.send_verification(user["id"])  # a job: mailed after the commit, never within the request
        return user
    except BaseException:
        discard(stored)  # a concurrent duplicate (409) or any failure leaves no file behind
        raise


def _start_session(user: dict[str, Any], *, user_agent: str, ip: str) -> SignedIn:
    settings = get_settings()
    with db.transaction():
        session_id = sessions_sql.create(user_id=user["id"], user_agent=user_agent, ip=ip,
                                         ttl_seconds=settings.refresh_token_ttl)
        refresh = auth.issue_refresh_token(user["id"], session_id)
        sessions_sql.set_token(session_id=session_id, token_hash=auth.token_hash(refresh))
    return SignedIn(user=user, access_token=auth.issue_access_token(user, session_id), refresh_token=refresh)


def login(*, email: str | None, username: str | None, password: str, user_agent: str,
          ip: str) -> SignedIn | two_factor.Challenge:
    row = users_sql.find_for_login(email=normalize_email(email) if email else None,
                                   username=normalize_username(username) if username else None)
    if row is None:
        auth.burn_password_check(password)  # same time as a wrong password: no account enumeration
        raise errors.NotAuthenticated("Invalid credentials")
    if not auth.verify_password(password, row.pop("password_hash")):
        raise errors.NotAuthenticated("Invalid credentials")
    if row.pop("banned"):  # said only to whoever knows the password (shared/services/moderation.py bans)
        raise errors.Forbidden(BANNED_MESSAGE)
    challenge = two_factor.challenge_for(row)  # an enrolled account signs in once its code is given too
    return challenge or _start_session(row, user_agent=user_agent, ip=ip)


def login_with_code(*, challenge: str, code: str, user_agent: str, ip: str) -> SignedIn:
    """A sign-in's second step: the challenge the password step answered, and a TOTP or recovery code."""
    user = users_sql.get_public(user_id=two_factor.answer_challenge(challenge, code))
    if user is None:
        raise errors.NotAuthenticated("Invalid or expired two-factor challenge")
    if moderation_sql.is_banned(user_id=user["id"]):  # banned since the password step
        raise errors.Forbidden(BANNED_MESSAGE)
    return _start_session(user, user_agent=user_agent, ip=ip)


def refresh(token: str) -> SignedIn:
    """Rotate a refresh token. Presenting one that was already rotated revokes its whole session."""
    claims = auth.decode_refresh_token(token)
    session_id = claims["sid"]
    settings = get_settings()
    new_token = auth.issue_refresh_token(claims["id"], session_id)
    with db.transaction():
        user_id = sessions_sql.rotate(session_id=session_id, old_hash=auth.token_hash(token),
                                      new_hash=auth.token_hash(new_token), ttl_seconds=settings.refresh_token_ttl)
        if user_id is None:
            session = sessions_sql.get(session_id=session_id)
            if session is not None and session["revoked_at"] is None and session["live"]:
                # A validly signed token of this session that is no longer current: it was stolen or replayed.
                sessions_sql.revoke(session_id=session_id, reason="refresh token reuse")
                cached.forget_sign_ins(session["user_id"])
                log.warning("refresh token reuse on session %s; session revoked", session_id)
            user = None
        else:
            user = users_sql.get_public(user_id=user_id)
    if user is None:
        raise errors.NotAuthenticated("Invalid refresh token")
    return SignedIn(user=user, access_token=auth.issue_access_token(user, session_id), refresh_token=new_token)


def logout(current: auth.CurrentUser) -> None:
    """End the caller's session. Concurrent logouts with one token may all pass `require_user` before any of
    them revokes; the UPDATE decides, and the losers get what a logout after the logout gets: 401."""
    if not sessions_sql.revoke(session_id=current.session_id, reason="logout"):
        raise errors.NotAuthenticated("Invalid Access Token")
    cached.forget_sign_ins(current.id)


def change_password(current: auth.CurrentUser, *, old_password: str, new_password: str) -> None:
    stored_hash = users_sql.get_password_hash(user_id=current.id)
    if stored_hash is None:
        raise errors.NotFound("User not found")
    if not auth.verify_password(old_password, stored_hash):
        raise errors.BadRequest("Invalid old password")
    new_hash = auth.hash_password(new_password)
    with db.transaction():
        users_sql.set_password_hash(user_id=current.id, password_hash=new_hash)
        sessions_sql.revoke_others(user_id=current.id, keep_session_id=current.session_id,
                                   reason="password changed")
        cached.forget_sign_ins(current.id)


def update_account(current: auth.CurrentUser, changes: dict[str, str]) -> dict[str, Any]:
    clean: dict[str, str] = {}
    if "fullname" in changes:
        clean["fullname"] = changes["fullname"].strip()
    if "username" in changes:
        clean["username"] = normalize_username(changes["username"])
    if "email" in changes:
        clean["email"] = normalize_email(changes["email"])
    with db.transaction():
        row = users_sql.update_profile(user_id=current.id, changes=clean)  # a clash is a 409 from the constraint
        if row is not None and row["email"] != current.profile["email"]:
            row = account_mail.email_changed(current.id)  # unverified until the link mailed to the new one is used
    if row is None:
        raise errors.NotFound("User not found")
    cached.forget_channel(current.id, current.profile["username"], row["username"])
    cached.forget_sign_ins(current.id)
    return row


def replace_image(current: auth.CurrentUser, upload: UploadedFile, *, kind: str) -> dict[str, Any]:
    """Store the new avatar / cover, point the user at it, then remove the old file."""
    column = "avatar" if kind == "avatar" else "cover_image"
    mime = check_image(upload)
    storage = get_storage()
    new_file = storage.save(upload.path, kind=kind, mime=mime)
    try:
        row, old_public_id = users_sql.replace_image(user_id=current.id, column=column, url=new_file.url,
                                                     public_id=new_file.public_id)
    except BaseException:
        discard([new_file])
        raise
    cached.forget_channel(current.id)
    cached.forget_sign_ins(current.id)
    if old_public_id:
        schedule_deletion(old_public_id, "image")
    return row
