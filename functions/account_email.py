"""Email verification and password reset: /api/v2/user/verify-email*, /forgot-password, /reset-password (issue #16)."""

from __future__ import annotations

from chalice import Blueprint, Response

from shared import ratelimit
from shared.auth import require_user
from shared.openapi import EMPTY, doc
from shared.schemas import parse_input
from shared.schemas.account_email import EmailVerifiedOut, ForgotPasswordIn, ResetPasswordIn, VerifyEmailIn
from shared.services import account_mail
from shared.web.body import read_body
from shared.web.envelope import ok
from shared.web.request import BODY_TYPES

bp = Blueprint(__name__)
RESET_REQUESTED = "If an account matches, a link to reset its password has been sent to its email address"


@bp.route("/verify-email/request", methods=["POST"], content_types=BODY_TYPES)
@doc("Mail the signed-in user a new email verification link (valid 24 h, single use)", response=EMPTY,
     errors=(409, 429))
def request_email_verification() -> Response:
    user = require_user(bp.current_request)
    ratelimit.hit("verify_email", user.id)
    account_mail.request_verification(user)
    return ok({}, "Verification email sent")


@bp.route("/verify-email", methods=["POST"], content_types=BODY_TYPES)
@doc("Verify the email address with the token of the mailed link (404: not a link we sent; 410: used, replaced or "
     "expired)", response=EmailVerifiedOut, body=VerifyEmailIn, public=True, errors=(404, 410, 422))
def verify_email() -> Response:
    body = parse_input(VerifyEmailIn, read_body(bp.current_request))
    user = account_mail.verify_email(body.token)
    return ok(EmailVerifiedOut.model_validate(user).dump(), "Email verified")


@bp.route("/forgot-password", methods=["POST"], content_types=BODY_TYPES)
@doc("Mail a password reset link (valid 1 h) to the account with this email or username; the same answer whether "
     "or not it exists", response=EMPTY, body=ForgotPasswordIn, public=True, errors=(422, 429))
def forgot_password() -> Response:
    body = parse_input(ForgotPasswordIn, read_body(bp.current_request))
    ratelimit.hit("forgot_password", body.account_key)
    account_mail.request_password_reset(email=body.given_email, username=body.given_username)
    return ok({}, RESET_REQUESTED)


@bp.route("/reset-password", methods=["POST"], content_types=BODY_TYPES)
@doc("Set a new password with the token of the mailed link; every session of the account is signed out (404: not a "
     "link we sent; 410: used, replaced or expired)", response=EMPTY, body=ResetPasswordIn, public=True,
     errors=(404, 410, 422))
def reset_password() -> Response:
    body = parse_input(ResetPasswordIn, read_body(bp.current_request))
    account_mail.reset_password(body.token, body.newPassword)
    return ok({}, "Password has been reset: sign in with the new password")
