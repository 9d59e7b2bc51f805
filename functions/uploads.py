"""Direct uploads: /api/v2/uploads (sign) and the local store's upload endpoint."""

from __future__ import annotations

from chalice import Blueprint, Response

from shared import ratelimit
from shared.auth import require_user
from shared.openapi import doc
from shared.schemas import parse_input
from shared.schemas.videos import SignedUpload, UploadReceived, UploadSignIn
from shared.services import account_mail, direct_uploads
from shared.web.body import read_body
from shared.web.envelope import ok
from shared.web.forms import read_raw_file
from shared.web.request import BODY_TYPES, parse_uuid, query_param

bp = Blueprint(__name__)


@bp.route("/", methods=["POST"], content_types=BODY_TYPES)
@doc("Sign a direct upload to storage", response=SignedUpload, body=UploadSignIn, status=201,
     errors=(403, 413, 415, 422, 429))
def sign_upload() -> Response:
    request = bp.current_request
    user = require_user(request)
    body = parse_input(UploadSignIn, read_body(request))
    ratelimit.hit("uploads", user.id)
    account_mail.require_verified_to_post(user)
    data = direct_uploads.sign(user, kind=body.kind, content_type=body.contentType, size=body.size)
    return ok(data, "Upload signed", status=201)


@bp.route("/{upload_id}", methods=["PUT"], content_types=["*/*"])
@doc("The local store's upload endpoint (signed URL, raw bytes)", response=UploadReceived, public=True,
     errors=(404, 413, 415, 422))
def receive_upload(upload_id: str) -> Response:
    request = bp.current_request
    upload_uuid = parse_uuid(upload_id, "Invalid upload ID")
    with read_raw_file(request) as upload:
        data = direct_uploads.receive(upload_uuid, expires=query_param(request, "expires"),
                                       signature=query_param(request, "signature"), upload=upload)
    return ok(data, "Upload received")
