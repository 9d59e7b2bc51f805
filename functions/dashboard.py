"""Creator dashboard: /api/v2/dashboard/* (contract-v2 §11), always the caller's own channel."""

from __future__ import annotations

from chalice import Blueprint, Response

from shared.auth import require_user
from shared.openapi import PAGED, doc
from shared.schemas.social import ChannelVideos, DashboardStats
from shared.schemas.view_stats import ViewSeries, ViewSeriesQuery
from shared.services import view_stats
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


@bp.route("/views", methods=["GET"])
@doc("Views over time: the caller's channel, or one of their videos, per UTC day or hour", response=ViewSeries,
     query=(("from", "string", "First UTC day, YYYY-MM-DD (default: 29 days before `to`; 1 day for hours)"),
            ("to", "string", "Last UTC day, YYYY-MM-DD, included (default: today)"),
            ("granularity", "string", "day (default; at most 366 days) | hour (at most 14 days, within the last 14)"),
            ("videoId", "string", "One of the caller's videos (another's: 404); left out: the whole channel")),
     errors=(404,))
def views_over_time() -> Response:
    request = bp.current_request
    user = require_user(request)
    return ok(view_stats.series(user, ViewSeriesQuery.from_request(request)), "Views fetched successfully")
