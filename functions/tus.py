"""Resumable uploads over tus 1.0: /api/v2/uploads/tus (creation) and /api/v2/uploads/tus/{upload_id} (HEAD for the
offset, PATCH to append a chunk, DELETE to terminate). Every answer, errors included, carries Tus-Resumable.

OPTIONS is answered by the server's CORS preflight for every path, so the discovery headers (Tus-Version,
Tus-Extension, Tus-Max-Size) come with the creation's answer instead; tus clients do not need OPTIONS."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from chalice import Blueprint, Response

from shared import errors, ratelimit
from shared.auth import require_user
from shared.openapi import doc
from shared.services import account_mail, resumable
from shared.services.resumable import TUS_VERSION, Progress, http_date
from shared.settings import get_settings
from shared.web.forms import read_raw_file
from shared.web.request import parse_uuid

bp = Blueprint(__name__)
CHUNK_TYPE = "application/offset+octet-stream"


def tus(handler: Callable[..., Response]) -> Callable[..., Response]:
    """The protocol's frame around a handler: the client must speak tus 1.0.0 (412 otherwise, saying which
    version we speak), and every answer says Tus-Resumable."""
    @functools.wraps(handler)
    def framed(*args: Any, **kwargs: Any) -> Response:
        try:
            if bp.current_request.headers.get("tus-resumable") != TUS_VERSION:
                raise errors.PreconditionFailed(f"Tus-Resumable must be {TUS_VERSION}",
                                                headers={"Tus-Version": TUS_VERSION})
            response = handler(*args, **kwargs)
        except errors.AppError as exc:
            exc.headers = {**(exc.headers or {}), "Tus-Resumable": TUS_VERSION}
            raise
        response.headers["Tus-Resumable"] = TUS_VERSION
        return response
    return framed


def _upload_headers(progress: Progress) -> dict[str, str | list[str]]:
    return {"Upload-Offset": str(progress.offset), "Upload-Expires": http_date(progress.expires_at),
            "Cache-Control": "no-store"}


@bp.route("/", methods=["POST"], content_types=["*/*"])
@doc("Start a resumable (tus) upload: Upload-Length, Upload-Metadata kind/filetype/filename", status=201,
     errors=(403, 412, 413, 415, 429))
@tus
def create_tus_upload() -> Response:
    request = bp.current_request
    user = require_user(request)
    ratelimit.hit("uploads", user.id)
    account_mail.require_verified_to_post(user)
    progress = resumable.create(user, length=request.headers.get("upload-length"),
                                metadata=request.headers.get("upload-metadata"),
                                deferred=request.headers.get("upload-defer-length") is not None)
    location = f"{get_settings().public_url}/api/v2/uploads/tus/{progress.upload_id}"
    return Response(body="", status_code=201, headers={"Location": location, **_upload_headers(progress),
                                                       **resumable.discovery_headers()})


@bp.route("/{upload_id}", methods=["HEAD"])
@doc("How far a resumable upload is (Upload-Offset, Upload-Length)", errors=(404, 410, 412))
@tus
def tus_upload_offset(upload_id: str) -> Response:
    user = require_user(bp.current_request)
    progress = resumable.status(user, parse_uuid(upload_id, "Invalid upload ID"))
    metadata = ",".join(f"{k} {resumable.encode_metadata(v)}" for k, v in progress.metadata.items())
    return Response(body="", status_code=200, headers={
        **_upload_headers(progress), "Upload-Length": str(progress.length), "Upload-Metadata": metadata})


@bp.route("/{upload_id}", methods=["PATCH"], content_types=[CHUNK_TYPE])
@doc("Append a chunk at Upload-Offset (Upload-Checksum optional); the last one stores the file", status=204,
     errors=(404, 409, 410, 412, 413, 415, 423, 460))
@tus
def append_tus_chunk(upload_id: str) -> Response:
    request = bp.current_request
    user = require_user(request)
    uid = parse_uuid(upload_id, "Invalid upload ID")
    with read_raw_file(request) as chunk:
        progress = resumable.append(user, uid, offset=request.headers.get("upload-offset"),
                                    checksum=request.headers.get("upload-checksum"), chunk=chunk)
    return Response(body="", status_code=204, headers=_upload_headers(progress))


@bp.route("/{upload_id}", methods=["DELETE"])
@doc("Terminate an unfinished resumable upload (what it gathered is thrown away)", status=204,
     errors=(404, 409, 410, 412, 423))
@tus
def terminate_tus_upload(upload_id: str) -> Response:
    user = require_user(bp.current_request)
    resumable.terminate(user, parse_uuid(upload_id, "Invalid upload ID"))
    return Response(body="", status_code=204, headers={})
