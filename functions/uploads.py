"""Direct uploads: /api/v2/uploads (sign) and the local store's upload endpoint."""

from __future__ import annotations

from chalice import Blueprint, Response

from shared import errors, ratelimit
from shared.auth import require_user
from shared.http import BODY_TYPES, ok, parse_uuid, query_param, read_body
from shared.schemas import parse_input
from shared.schemas.videos import UploadSignIn
from shared.services import direct_uploads
from shared.uploads import read_raw_file

bp = Blueprint(__name__)


@bp.route("/", methods=["POST"], content_types=BODY_TYPES)
def sign_upload() -> Response:
    request = bp.current_request
    user = require_user(request)
    body = parse_input(UploadSignIn, read_body(request), "Upload validation failed")
    problems = []
    if body.kind not in direct_uploads.KINDS:
        problems.append(f"kind must be one of {', '.join(direct_uploads.KINDS)}")
    if not body.contentType:
        problems.append("contentType is required")
    if body.size is None or body.size <= 0:
        problems.append("size must be a positive number of bytes")
    if problems:
        raise errors.ValidationFailed("Upload validation failed", errors=problems)
    ratelimit.hit("uploads", user.id)
    data = direct_uploads.sign(user, kind=body.kind, content_type=body.contentType, size=body.size)
    return ok(data, "Upload signed", status=201)


@bp.route("/{upload_id}", methods=["PUT"], content_types=["*/*"])
def receive_upload(upload_id: str) -> Response:
    request = bp.current_request
    upload_uuid = parse_uuid(upload_id, "Invalid upload ID")
    with read_raw_file(request) as upload:
        data = direct_uploads.receive_local(upload_uuid, expires=query_param(request, "expires"),
                                            signature=query_param(request, "signature"), upload=upload)
    return ok(data, "Upload received")
