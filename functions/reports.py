"""Abuse reports: POST /api/v2/reports (issue #15, points 6 and 8); the moderators' side is functions/moderation.py."""

from __future__ import annotations

from chalice import Blueprint, Response

from shared import ratelimit
from shared.auth import require_user
from shared.openapi import doc
from shared.schemas import parse_input
from shared.schemas.moderation import ReportIn, ReportOut
from shared.services import moderation
from shared.web.body import read_body
from shared.web.envelope import ok
from shared.web.request import BODY_TYPES

bp = Blueprint(__name__)


@bp.route("/", methods=["POST"], content_types=BODY_TYPES)
@doc("Report a video, comment, post (tweet) or user to the moderators: a reason from the list, and what they should"
     " know; one open report per target", response=ReportOut, body=ReportIn, status=201,
     errors=(404, 409, 422, 429))
def create_report() -> Response:
    request = bp.current_request
    user = require_user(request)
    ratelimit.hit("reports", user.id)
    body = parse_input(ReportIn, read_body(request))
    row = moderation.report(user, target_type=body.targetType, target_id=body.target_id, reason=body.reason,
                            text=body.text)
    return ok(ReportOut.model_validate(row).dump(), "Report received; a moderator will look at it", status=201)
