"""Creator dashboard: /api/v2/dashboard/* (contract-v2 §11), always the caller's own channel."""

from __future__ import annotations

from chalice import Blueprint, Response

from shared.auth import require_user
from shared.http import ok, page_params
from shared.schemas.social import DashboardStats
from shared.services.videos import present
from shared.sql import dashboard as dashboard_sql

bp = Blueprint(__name__)


@bp.route("/stats", methods=["GET"])
def channel_stats() -> Response:
    user = require_user(bp.current_request)
    return ok(DashboardStats.model_validate(dashboard_sql.stats(user_id=user.id)).dump(),
              "Channel stats fetched successfully")


@bp.route("/videos", methods=["GET"])
def channel_videos() -> Response:
    request = bp.current_request
    user = require_user(request)
    page, limit = page_params(request)
    rows, total = dashboard_sql.videos(user_id=user.id, limit=limit, offset=(page - 1) * limit)
    videos = [{**present(r), "_count": {"likes": r["likes_count"]}} for r in rows]
    return ok({"videos": videos, "totalVideos": total}, "Videos fetched")
