"""Resume positions: POST /api/v2/videos/{videoId}/progress and GET /api/v2/user/continue-watching (issue #17,
point 4; the watch page and the watch history show the position too)."""

from __future__ import annotations

from chalice import Blueprint, Response

from shared.auth import require_user
from shared.openapi import PAGE_HEADERS, PAGED, doc
from shared.schemas import parse_input
from shared.schemas.playback import ProgressIn, ProgressSaved
from shared.schemas.videos import WatchedVideo
from shared.services import watch_progress
from shared.web.body import read_body
from shared.web.envelope import ok
from shared.web.paging import page_headers
from shared.web.request import BODY_TYPES, page_params, parse_uuid

bp = Blueprint(__name__)


@bp.route("/videos/{video_id}/progress", methods=["POST"], content_types=BODY_TYPES)
@doc("Report where the caller is in a video (call every few seconds: at most one write per 10 s is kept)",
     response=ProgressSaved, body=ProgressIn, errors=(404, 422))
def report_progress(video_id: str) -> Response:
    request = bp.current_request
    user = require_user(request)
    vid = parse_uuid(video_id, "Invalid video ID")
    body = parse_input(ProgressIn, read_body(request))
    saved = watch_progress.report(user, vid, body.seconds)
    return ok(saved, "Watch position saved" if saved["saved"] else "Watch position unchanged (saved moments ago)")


@bp.route("/user/continue-watching", methods=["GET"])
@doc("Videos the caller started and did not finish, most recently watched first", response=[WatchedVideo],
     query=PAGED, headers=PAGE_HEADERS)
def continue_watching() -> Response:
    request = bp.current_request
    user = require_user(request)
    page, limit = page_params(request, default_limit=20)
    items, total = watch_progress.continue_watching(user, page=page, limit=limit)
    return ok(items, "Continue watching fetched", headers=page_headers(request, page=page, limit=limit, total=total))
