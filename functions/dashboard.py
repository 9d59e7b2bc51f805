"""Creator dashboard: /api/v2/dashboard/* (contract-v2 §11), always the caller's own channel."""

from __future__ import annotations

from chalice import Blueprint, Response

from shared.auth import require_user
from shared.openapi import PAGED, doc
from shared.schemas.social import ChannelVideos, DashboardStats
from shared.services.presenters import present
from shared.sql import dashboard as dashboard_sql
from shared.web.envelope import ok
from shared.web.request import page_params

bp = Blueprint(__name__)


@bp.route("/stats", methods=["GET"])
@doc("The caller's channel totals", response=DashboardStats)
def channel_stats() -> Response:
    user = require_user(bp.current_request)
    return ok(DashboardStats.model_validate(dashboard_sql.stats(user_id=user.id)).dump(),
              "Channel stats fetched successfully")


@bp.route("/videos", methods=["GET"])
@doc("The caller's videos, drafts included, with like counts", response=ChannelVideos, query=PAGED)
def channel_videos() -> Response:
    request = bp.current_request
    user = require_user(request)
    page, limit = page_params(request)
    rows, total = dashboard_sql.videos(user_id=user.id, limit=limit, offset=(page - 1) * limit)
    videos = [{**present(r), "_count": {"likes": r["likes_count"]}} for r in rows]
    return ok({"videos": videos, "totalVideos": total}, "Videos fetched")
