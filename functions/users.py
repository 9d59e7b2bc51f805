"""Accounts: /api/v2/user/* (contract-v2 §4)."""

from __future__ import annotations

from chalice import Blueprint, Response

from shared import errors, ratelimit
from shared.auth import auth_cookies, cleared_cookies, refresh_token_from, require_user
from shared.openapi import EMPTY, PAGE_HEADERS, PAGED, doc
from shared.schemas import parse_form, parse_input
from shared.schemas.security import LoginCodeIn, Me, OtpRequiredOut
from shared.schemas.users import (
    AvatarForm,
    ChangePasswordIn,
    ChannelProfile,
    CoverImageForm,
    LoginIn,
    LoginOut,
    PublicUser,
    RegisterIn,
    TokensOut,
    UpdateAccountIn,
)
from shared.schemas.videos import WatchedVideo
from shared.services import accounts, catalog, watch_progress
from shared.services.two_factor import Challenge
from shared.web import upload_policy
from shared.web.body import read_body
from shared.web.client_ip import client_ip
from shared.web.envelope import ok
from shared.web.forms import read_form
from shared.web.paging import page_headers
from shared.web.request import BODY_TYPES, UPLOAD_TYPES, page_params, path_text, user_agent

bp = Blueprint(__name__)
BODY_OR_FORM = BODY_TYPES + UPLOAD_TYPES


@bp.route("/register", methods=["POST"], content_types=BODY_OR_FORM)
@doc("Create an account", response=PublicUser, form=RegisterIn, status=201, public=True,
     errors=(400, 409, 413, 415, 422, 429))
def register_user() -> Response:
    ratelimit.hit("register", client_ip(bp.current_request))
    with read_form(bp.current_request, upload_policy.REGISTER) as form:
        body = parse_form(RegisterIn, form)
        user = accounts.register(fullname=body.fullname, username=body.username, email=body.email,
                                 password=body.password, avatar=body.avatar, cover=body.coverImage)
    return ok(PublicUser.model_validate(user).dump(), "User registered successfully!", status=201)


@bp.route("/login", methods=["POST"], content_types=BODY_TYPES)
@doc("Sign in with email or username; sets the auth cookies (an account with two-factor sign-in answers a challenge"
     " for POST /user/login/otp instead)", response=(LoginOut, OtpRequiredOut), body=LoginIn, public=True,
     errors=(401, 422, 429))
def login_user() -> Response:
    request = bp.current_request
    body = parse_input(LoginIn, read_body(request))
    ip = client_ip(request)
    ratelimit.hit("login_ip", ip)
    ratelimit.hit("login_account", ip, body.account_key)
    return _signed_in(accounts.login(email=body.given_email, username=body.given_username, password=body.password,
                                     user_agent=user_agent(request), ip=ip))


@bp.route("/login/otp", methods=["POST"], content_types=BODY_TYPES)
@doc("A sign-in's second step: the login's challenge and a TOTP or recovery code; answers as a login does",
     response=LoginOut, body=LoginCodeIn, public=True, errors=(401, 422, 429))
def login_with_code() -> Response:
    request = bp.current_request
    body = parse_input(LoginCodeIn, read_body(request))
    ip = client_ip(request)
    ratelimit.hit("login_ip", ip)
    return _signed_in(accounts.login_with_code(challenge=body.challenge, code=body.code,
                                               user_agent=user_agent(request), ip=ip))


def _signed_in(signed_in: accounts.SignedIn | Challenge) -> Response:
    """A login's answer: the user and the tokens (also set as cookies); or, for an enrolled account, a challenge
    with no tokens and no cookies."""
    if isinstance(signed_in, Challenge):
        return ok(OtpRequiredOut(otp_required=True, challenge=signed_in.challenge).dump(), "Two-factor code required")
    data = LoginOut(user=PublicUser.model_validate(signed_in.user), access_token=signed_in.access_token,
                    refresh_token=signed_in.refresh_token)
    return ok(data.dump(), "User logged in successfully",
              cookies=auth_cookies(signed_in.access_token, signed_in.refresh_token))


@bp.route("/refresh-token", methods=["POST"], content_types=BODY_TYPES)
@doc("Rotate the refresh token (cookie or body)", response=TokensOut, public=True, errors=(401, 429))
def refresh_access_token() -> Response:
    request = bp.current_request
    ratelimit.hit("refresh", client_ip(request))
    token = refresh_token_from(request, read_body(request))
    if not token:
        raise errors.NotAuthenticated("Refresh token is required")
    signed_in = accounts.refresh(token)
    data = TokensOut(access_token=signed_in.access_token, refresh_token=signed_in.refresh_token)
    return ok(data.dump(), "Access token refreshed",
              cookies=auth_cookies(signed_in.access_token, signed_in.refresh_token))


@bp.route("/logout", methods=["POST"], content_types=BODY_OR_FORM)
@doc("Sign out this device", response=EMPTY)
def logout_user() -> Response:
    accounts.logout(require_user(bp.current_request))
    return ok({}, "User logged out successfully", cookies=cleared_cookies())


@bp.route("/change-password", methods=["POST"], content_types=BODY_TYPES)
@doc("Change the password; other devices are signed out", response=EMPTY, body=ChangePasswordIn, errors=(400, 422))
def change_password() -> Response:
    request = bp.current_request
    user = require_user(request)
    body = parse_input(ChangePasswordIn, read_body(request))
    accounts.change_password(user, old_password=body.oldPassword, new_password=body.newPassword)
    return ok({}, "Password changed successfully")


@bp.route("/current-user-details", methods=["GET"])
@doc("The signed-in user", response=Me)
def current_user_details() -> Response:
    user = require_user(bp.current_request)
    return ok(Me.model_validate(user.profile).dump(), "Current user details")


@bp.route("/c/{username}", methods=["GET"])
@doc("A channel's profile and subscription counts", response=ChannelProfile, errors=(404,))
def channel_profile(username: str) -> Response:
    user = require_user(bp.current_request)
    return ok(catalog.channel_profile(user, path_text(username, "username")), "Channel profile fetched")


@bp.route("/update-account", methods=["PATCH"], content_types=BODY_OR_FORM)
@doc("Change fullname, username or email (partial)", response=PublicUser, body=UpdateAccountIn, errors=(409, 422))
def update_account() -> Response:
    request = bp.current_request
    user = require_user(request)
    body = parse_input(UpdateAccountIn, read_body(request))
    return ok(PublicUser.model_validate(accounts.update_account(user, body.changes())).dump(),
              "Account updated successfully")


@bp.route("/update-avatar", methods=["PATCH"], content_types=UPLOAD_TYPES)
@doc("Replace the avatar", response=PublicUser, form=AvatarForm, errors=(400, 413, 415))
def update_avatar() -> Response:
    user = require_user(bp.current_request)
    with read_form(bp.current_request, upload_policy.UPDATE_AVATAR) as form:
        row = accounts.replace_image(user, parse_form(AvatarForm, form).avatar, kind="avatar")
    return ok(PublicUser.model_validate(row).dump(), "Avatar updated")


@bp.route("/update-cover-image", methods=["PATCH"], content_types=UPLOAD_TYPES)
@doc("Replace the cover image", response=PublicUser, form=CoverImageForm, errors=(400, 413, 415))
def update_cover_image() -> Response:
    user = require_user(bp.current_request)
    with read_form(bp.current_request, upload_policy.UPDATE_COVER) as form:
        row = accounts.replace_image(user, parse_form(CoverImageForm, form).coverImage, kind="coverImage")
    return ok(PublicUser.model_validate(row).dump(), "Cover updated")


@bp.route("/watch-history", methods=["GET"])
@doc("Videos the user watched, newest first, with where they stopped in each", response=[WatchedVideo], query=PAGED,
     headers=PAGE_HEADERS)
def watch_history() -> Response:
    request = bp.current_request
    user = require_user(request)
    page, limit = page_params(request, default_limit=20)
    items, total = watch_progress.history(user, page=page, limit=limit)
    return ok(items, "Watch history fetched", headers=page_headers(request, page=page, limit=limit, total=total))
