"""Leaving with one's data, or leaving: DELETE /api/v2/user/me, POST /api/v2/user/export,
GET /api/v2/user/export/{exportId} and the export's signed download link (issue #16, points 6 and 7)."""

from __future__ import annotations

from chalice import Blueprint, Response

from shared.auth import cleared_cookies, require_user
from shared.openapi import EMPTY, doc
from shared.schemas import parse_input
from shared.schemas.account_data import DeleteAccountIn, ExportCreatedOut, ExportStatusOut
from shared.services import account_deletion, data_export
from shared.web.body import read_body
from shared.web.envelope import ok
from shared.web.request import BODY_TYPES, parse_uuid, query_param

bp = Blueprint(__name__)


@bp.route("/me", methods=["DELETE"], content_types=BODY_TYPES)
@doc("Delete my account and everything it owns (password, and a code when two-factor sign-in is on); its tokens "
     "stop working at once and the username and email are free again", response=EMPTY, body=DeleteAccountIn,
     errors=(403, 404, 422, 429))
def delete_me() -> Response:
    request = bp.current_request
    user = require_user(request)
    body = parse_input(DeleteAccountIn, read_body(request))
    account_deletion.delete_account(user, password=body.password, code=body.code or None)
    return ok({}, "Account deleted", cookies=cleared_cookies())


@bp.route("/export", methods=["POST"], content_types=BODY_TYPES)
@doc("Ask for a zip of my data and media; one at a time (asking again while one is prepared answers that one). "
     "A mail and a notification bring its link", response=ExportCreatedOut, status=202, errors=(429,))
def request_export() -> Response:
    user = require_user(bp.current_request)
    export_id, created = data_export.request_export(user)
    message = "Export requested" if created else "An export is already being prepared"
    return ok(ExportCreatedOut(export_id=export_id).dump(), message, status=202)


@bp.route("/export/{export_id}", methods=["GET"])
@doc("Where my export stands; once ready, its download link and when it expires", response=ExportStatusOut,
     errors=(404,))
def get_export(export_id: str) -> Response:
    user = require_user(bp.current_request)
    found = data_export.status(user, parse_uuid(export_id, "Invalid export ID"))
    return ok(ExportStatusOut.model_validate(found).dump(), "Export fetched")


@bp.route("/export/{export_id}/download", methods=["GET"])
@doc("The export's signed download link (from the mail or GET /export/{exportId}): redirects to the zip",
     public=True, status=302, errors=(403, 410),
     query=(("expires", "integer", "When the link expires (Unix seconds), as signed"),
            ("signature", "string", "The link's signature")),
     headers=(("Location", "string", "The zip's short-lived signed URL in the store"),))
def download_export(export_id: str) -> Response:
    request = bp.current_request
    target = data_export.download_url(parse_uuid(export_id, "Invalid export ID"), query_param(request, "expires"),
                                      query_param(request, "signature"))
    return Response(body="", status_code=302, headers={"Location": target, "Cache-Control": "no-store"})
