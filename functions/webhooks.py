"""Webhooks: Cloudinary tells us when the eager HLS stream of an uploaded video is ready."""

from __future__ import annotations

import json

from chalice import Blueprint, Response

from shared import errors
from shared.http import ok
from shared.services.job_handlers import stream_ready
from shared.storage import get_storage

bp = Blueprint(__name__)
SIGNATURE_VALID_FOR = 7200  # seconds: an older notification is a replay


@bp.route("/cloudinary", methods=["POST"], content_types=["application/json"])
def cloudinary_notification() -> Response:
    request = bp.current_request
    storage = get_storage()
    if storage.name != "cloudinary":
        raise errors.NotFound("Route not found")
    raw = request.raw_body or b""
    body = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    timestamp = request.headers.get("x-cld-timestamp") or ""
    signature = request.headers.get("x-cld-signature") or ""
    if not storage.verify_notification(body, timestamp, signature, SIGNATURE_VALID_FOR):  # type: ignore[attr-defined]
        raise errors.NotAuthenticated("Invalid or expired notification signature")
    try:
        notice = json.loads(body)
    except ValueError:
        raise errors.BadRequest("Malformed JSON body") from None
    if not isinstance(notice, dict):
        raise errors.BadRequest("Request body must be a JSON object")
    handled = False
    if notice.get("notification_type") == "eager" and isinstance(notice.get("public_id"), str):
        results = [e for e in notice.get("eager") or [] if isinstance(e, dict)]
        failed = [e for e in results if e.get("status") == "failed" or e.get("error")]
        reason = str(failed[0].get("reason") or failed[0].get("error") or "") if failed else None
        handled = stream_ready(video_public_id=notice["public_id"], ok=bool(results) and not failed, reason=reason)
    return ok({"handled": handled}, "Notification received")
