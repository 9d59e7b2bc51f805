"""Accounts: /api/v2/user/* (contract-v2 §4)."""

from __future__ import annotations

from chalice import Blueprint, Response

from shared import cache, errors, ratelimit
from shared.auth import auth_cookies, cleared_cookies, refresh_token_from, require_user
from shared.http import BODY_TYPES, UPLOAD_TYPES, client_ip, ok, page_params, path_text, read_body, user_agent
from shared.schemas import parse_input
from shared.schemas.users import (
    ChangePasswordIn,
    ChannelProfile,
    LoginIn,
    PublicUser,
    RegisterIn,
    UpdateAccountIn,
    email_problems,
    fullname_problems,
    normalize_username,
    password_problems,
    username_problems,
)
from shared.services import accounts
from shared.services.videos import present_with_owner
from shared.settings import get_settings
from shared.sql import history as history_sql
from shared.sql import subscriptions as subscriptions_sql
from shared.sql import users as users_sql
from shared.uploads import read_form

bp = Blueprint(__name__)
BODY_OR_FORM = BODY_TYPES + UPLOAD_TYPES


def _image_limit() -> int:
    return get_settings().max_image_bytes


@bp.route("/register", methods=["POST"], content_types=BODY_OR_FORM)
def register_user() -> Response:
    ratelimit.hit("register", client_ip(bp.current_request))
    with read_form(bp.current_request, file_fields={"avatar": _image_limit(), "coverImage": _image_limit()}) as form:
        body = parse_input(RegisterIn, form.fields, "Validation failed")
        problems = (fullname_problems(body.fullname) + email_problems(body.email)
                    + username_problems(body.username) + password_problems(body.password))
        if problems:
            raise errors.ValidationFailed("Validation failed", errors=problems)
        avatar = form.files.get("avatar")
        if avatar is None or avatar.size == 0:
            raise errors.BadRequest("Avatar file is required")
        cover = form.files.get("coverImage")
        user = accounts.register(fullname=body.fullname, username=body.username, email=body.email,
                                 password=body.password, avatar=avatar, cover=cover if cover and cover.size else None)
    return ok(PublicUser.model_validate(user).dump(), "User registered successfully!", status=201)


@bp.route("/login", methods=["POST"], content_types=BODY_TYPES)
def login_user() -> Response:
    request = bp.current_request
    body = parse_input(LoginIn, read_body(request), "Login validation failed")
    problems = []
    if not (body.email or "").strip() and not (body.username or "").strip():
        problems.append("Email or username is required")
    if not body.password:
        problems.append("Password is required")
    if problems:
        raise errors.ValidationFailed("Login validation failed", errors=problems)
    ip = client_ip(request)
    ratelimit.hit("login_ip", ip)
    ratelimit.hit("login_account", ip, (body.email or body.username or "").strip().lower())
    signed_in = accounts.login(email=(body.email or "").strip() or None, username=(body.username or "").strip() or None,
                               password=body.password, user_agent=user_agent(request), ip=client_ip(request))
    data = {"user": PublicUser.model_validate(signed_in.user).dump(),
            "accessToken": signed_in.access_token, "refreshToken": signed_in.refresh_token}
    return ok(data, "User logged in successfully",
              cookies=auth_cookies(signed_in.access_token, signed_in.refresh_token))


@bp.route("/refresh-token", methods=["POST"], content_types=BODY_TYPES)
def refresh_access_token() -> Response:
    request = bp.current_request
    ratelimit.hit("refresh", client_ip(request))
    token = refresh_token_from(request, read_body(request))
    if not token:
        raise errors.NotAuthenticated("Refresh token is required")
    signed_in = accounts.refresh(token)
    return ok({"accessToken": signed_in.access_token, "refreshToken": signed_in.refresh_token},
              "Access token refreshed", cookies=auth_cookies(signed_in.access_token, signed_in.refresh_token))


@bp.route("/logout", methods=["POST"], content_types=BODY_OR_FORM)
def logout_user() -> Response:
    accounts.logout(require_user(bp.current_request))
    return ok({}, "User logged out successfully", cookies=cleared_cookies())


@bp.route("/change-password", methods=["POST"], content_types=BODY_TYPES)
def change_password() -> Response:
    request = bp.current_request
    user = require_user(request)
    body = parse_input(ChangePasswordIn, read_body(request), "Password change validation failed")
    problems = []
    if not body.oldPassword:
        problems.append("Old password is required")
    if body.oldPassword and body.newPassword and body.oldPassword == body.newPassword:
        problems.append("New password cannot be the same as the old password")
    problems += password_problems(body.newPassword) if body.newPassword else ["New password is required"]
    if problems:
        raise errors.ValidationFailed("Password change validation failed", errors=problems)
    accounts.change_password(user, old_password=body.oldPassword, new_password=body.newPassword)
    return ok({}, "Password changed successfully")


@bp.route("/current-user-details", methods=["GET"])
def current_user_details() -> Response:
    user = require_user(bp.current_request)
    return ok(PublicUser.model_validate(user.profile).dump(), "Current user details")


@bp.route("/c/{username}", methods=["GET"])
def channel_profile(username: str) -> Response:
    user = require_user(bp.current_request)
    name = normalize_username(path_text(username, "username"))
    channel_id = cache.read_through(f"uid:{name}", lambda: users_sql.id_by_username(username=name))
    channel = channel_id and cache.read_through(f"channel:{channel_id}",
                                                lambda: users_sql.channel_stats(user_id=channel_id))
    if not channel:
        raise errors.NotFound("Channel not found")
    own = channel["id"] == str(user.id)
    subscribed = not own and subscriptions_sql.is_subscribed(subscriber_id=user.id, channel_id=channel["id"])
    data = ChannelProfile.model_validate({**channel, "is_subscribed": subscribed}).dump()
    if not own:
        del data["email"]  # a channel's email is its owner's business only
    return ok(data, "Channel profile fetched")


@bp.route("/update-account", methods=["PATCH"], content_types=BODY_OR_FORM)
def update_account() -> Response:
    request = bp.current_request
    user = require_user(request)
    body = parse_input(UpdateAccountIn, read_body(request), "Update validation failed")
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    problems = []
    if "fullname" in changes:
        problems += fullname_problems(changes["fullname"])
    if "email" in changes:
        problems += email_problems(changes["email"])
    if "username" in changes:
        problems += username_problems(changes["username"])
    if not changes:
        problems.append("Nothing to update: send fullname, email and/or username")
    if problems:
        raise errors.ValidationFailed("Update validation failed", errors=problems)
    return ok(PublicUser.model_validate(accounts.update_account(user, changes)).dump(), "Account updated successfully")


@bp.route("/update-avatar", methods=["PATCH"], content_types=UPLOAD_TYPES)
def update_avatar() -> Response:
    user = require_user(bp.current_request)
    with read_form(bp.current_request, file_fields={"avatar": _image_limit()}) as form:
        upload = form.files.get("avatar")
        if upload is None or upload.size == 0:
            raise errors.BadRequest("Avatar file is required for update")
        row = accounts.replace_image(user, upload, kind="avatar")
    return ok(PublicUser.model_validate(row).dump(), "Avatar updated")


@bp.route("/update-cover-image", methods=["PATCH"], content_types=UPLOAD_TYPES)
def update_cover_image() -> Response:
    user = require_user(bp.current_request)
    with read_form(bp.current_request, file_fields={"coverImage": _image_limit()}) as form:
        upload = form.files.get("coverImage")
        if upload is None or upload.size == 0:
            raise errors.BadRequest("Cover Image file is required for update")
        row = accounts.replace_image(user, upload, kind="coverImage")
    return ok(PublicUser.model_validate(row).dump(), "Cover updated")


@bp.route("/watch-history", methods=["GET"])
def watch_history() -> Response:
    request = bp.current_request
    user = require_user(request)
    page, limit = page_params(request, default_limit=20)
    rows = history_sql.list_for_user(user_id=user.id, limit=limit, offset=(page - 1) * limit)
    return ok([present_with_owner(r) for r in rows], "Watch history fetched")
