"""Two-factor sign-in and sessions: /api/v2/user/2fa/* and /api/v2/user/sessions* (issue #16, points 4 and 5)."""

from __future__ import annotations

from chalice import Blueprint, Response

from shared.auth import cleared_cookies, require_user
from shared.openapi import EMPTY, doc
from shared.schemas import parse_input
from shared.schemas.security import CodeIn, DisableIn, EndedOut, EnrolmentOut, PasswordIn, RecoveryCodesOut, SessionOut
from shared.services import sessions, two_factor
from shared.web.body import read_body
from shared.web.envelope import ok
from shared.web.request import BODY_TYPES, parse_uuid

bp = Blueprint(__name__)


@bp.route("/2fa/enroll", methods=["POST"], content_types=BODY_TYPES)
@doc("Start two-factor sign-in: a TOTP secret, its otpauth:// URI and QR code (confirm with a first code)",
     response=EnrolmentOut, body=PasswordIn, errors=(409, 422, 429))
def enroll_two_factor() -> Response:
    request = bp.current_request
    user = require_user(request)
    body = parse_input(PasswordIn, read_body(request))
    enrolment = two_factor.enroll(user, password=body.password)
    return ok(EnrolmentOut.model_validate(enrolment).dump(), "Scan the QR code, then confirm with a code")


@bp.route("/2fa/confirm", methods=["POST"], content_types=BODY_TYPES)
@doc("Turn two-factor sign-in on with the app's first code; answers ten single-use recovery codes",
     response=RecoveryCodesOut, body=CodeIn, errors=(409, 422, 429))
def confirm_two_factor() -> Response:
    request = bp.current_request
    user = require_user(request)
    body = parse_input(CodeIn, read_body(request))
    codes = two_factor.confirm(user, code=body.code)
    return ok(RecoveryCodesOut(recovery_codes=codes).dump(), "Two-factor sign-in enabled")


@bp.route("/2fa/disable", methods=["POST"], content_types=BODY_TYPES)
@doc("Turn two-factor sign-in off (password, and a TOTP or recovery code)", response=EMPTY, body=DisableIn,
     errors=(409, 422, 429))
def disable_two_factor() -> Response:
    request = bp.current_request
    user = require_user(request)
    body = parse_input(DisableIn, read_body(request))
    two_factor.disable(user, password=body.password, code=body.code)
    return ok({}, "Two-factor sign-in disabled")


@bp.route("/sessions", methods=["GET"])
@doc("My signed-in devices, the most recently used first", response=[SessionOut])
def list_sessions() -> Response:
    user = require_user(bp.current_request)
    return ok([SessionOut.shape(row) for row in sessions.list_mine(user)], "Sessions fetched")


@bp.route("/sessions/{session_id}", methods=["DELETE"])
@doc("Sign one of my devices out (this one too); its tokens are refused at once", response=EMPTY, errors=(404,))
def end_session(session_id: str) -> Response:
    user = require_user(bp.current_request)
    ended = parse_uuid(session_id, "Invalid session ID")
    sessions.end(user, ended)
    return ok({}, "Session ended", cookies=cleared_cookies() if ended == user.session_id else ())


@bp.route("/sessions/revoke-others", methods=["POST"], content_types=BODY_TYPES)
@doc("Sign every other device out", response=EndedOut)
def revoke_other_sessions() -> Response:
    user = require_user(bp.current_request)
    return ok(EndedOut(ended=sessions.end_others(user)).dump(), "Other sessions ended")
