"""Feeds: /api/v2/feed/* (issue #15, point 3)."""

from __future__ import annotations

from chalice import Blueprint, Response

from shared.auth import require_user
from shared.openapi import doc
from shared.schemas.social import SubscriptionFeed
from shared.services import feed
from shared.web.envelope import ok
from shared.web.request import limit_param, query_param

bp = Blueprint(__name__)


@bp.route("/subscriptions", methods=["GET"])
@doc("The newest public videos of the channels you follow, newest first, paged by cursor", response=SubscriptionFeed,
     query=(("cursor", "string", "nextCursor of the previous page (omit for the first page)"),
            ("limit", "integer", "1-100, default 20")), errors=(400,))
def subscriptions_feed() -> Response:
    request = bp.current_request
    user = require_user(request)
    page = feed.subscriptions_feed(user, cursor=query_param(request, "cursor"), limit=limit_param(request))
    return ok(page, "Feed fetched successfully")
