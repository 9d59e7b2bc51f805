"""Webhooks: the store tells us when the stream it makes of an uploaded video is ready (Cloudinary's eager HLS)."""

from __future__ import annotations

from chalice import Blueprint, Response

from shared.openapi import doc
from shared.schemas.videos import NotificationHandled
from shared.services.job_handlers import stream_ready
from shared.storage import get_storage
from shared.web.envelope import ok

bp = Blueprint(__name__)


@bp.route("/cloudinary", methods=["POST"], content_types=["application/json"])
@doc("Cloudinary's eager-HLS notification (signature checked)", response=NotificationHandled, public=True,
     errors=(401, 404))
def cloudinary_notification() -> Response:
    request = bp.current_request
    # The store checks and reads its own notice: 404 where it sends none, 401 forged or stale, 400 not JSON.
    event = get_storage().read_notification(request.raw_body or b"", request.headers)
    handled = event is not None and stream_ready(video_public_id=event.video_public_id, ok=event.ok,
                                                 reason=event.reason)
    return ok({"handled": handled}, "Notification received")
