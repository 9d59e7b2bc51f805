"""The moderation queue and log: /api/v2/moderation/* (issue #15, points 6 and 8). Moderators and admins decide
reports; admins alone read the log. The rules: shared/services/moderation.py."""

from __future__ import annotations

from chalice import Blueprint, Response

from shared import errors
from shared.auth import require_user
from shared.openapi import PAGE_HEADERS, PAGED, doc
from shared.schemas import parse_input
from shared.schemas.moderation import REPORT_STATES, DecidedReport, DecisionIn, LogEntry, QueuedReport
from shared.services import moderation
from shared.web.body import read_body
from shared.web.envelope import ok
from shared.web.paging import page_headers
from shared.web.request import BODY_TYPES, page_params, parse_uuid, query_param

bp = Blueprint(__name__)
_STATE = ("state", "string", "open (the default: oldest first), dismissed or actioned (newest first)")


@bp.route("/reports", methods=["GET"])
@doc("The report queue in one state (moderators and admins)", response=[QueuedReport], query=(_STATE, *PAGED),
     headers=PAGE_HEADERS, errors=(403,))
def list_reports() -> Response:
    request = bp.current_request
    user = require_user(request)
    state = query_param(request, "state") or "open"
    if state not in REPORT_STATES:
        raise errors.BadRequest(f"state must be one of {', '.join(REPORT_STATES)}")
    page, limit = page_params(request)
    rows, total = moderation.queue(user, state=state, limit=limit, offset=(page - 1) * limit)
    data = [QueuedReport.shape(r) for r in rows]
    return ok(data, "Reports fetched", headers=page_headers(request, page=page, limit=limit, total=total))


@bp.route("/reports/{report_id}/decision", methods=["POST"], content_types=BODY_TYPES)
@doc("Decide an open report: dismiss, take the target down, or ban its author (moderators and admins); a report is"
     " decided once", response=DecidedReport, body=DecisionIn, errors=(403, 404, 409, 422))
def decide_report(report_id: str) -> Response:
    request = bp.current_request
    user = require_user(request)
    body = parse_input(DecisionIn, read_body(request))
    row = moderation.decide(user, parse_uuid(report_id, "Invalid report ID"), action=body.action, note=body.note)
    return ok(DecidedReport.model_validate(row).dump(), "Report decided")


@bp.route("/log", methods=["GET"])
@doc("Every moderation action, newest first: who, what, on what, when, why (admins)", response=[LogEntry],
     query=PAGED, headers=PAGE_HEADERS, errors=(403,))
def moderation_log() -> Response:
    request = bp.current_request
    user = require_user(request)
    page, limit = page_params(request)
    rows, total = moderation.moderation_log(user, limit=limit, offset=(page - 1) * limit)
    data = [LogEntry.shape(r) for r in rows]
    return ok(data, "Moderation log fetched", headers=page_headers(request, page=page, limit=limit, total=total))
