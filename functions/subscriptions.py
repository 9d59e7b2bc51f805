"""Subscriptions: /api/v2/subscriptions/* (contract-v2 §9)."""

from __future__ import annotations

import uuid

from chalice import Blueprint, Response

from shared import cached, errors
from shared.auth import require_user
from shared.openapi import PAGE_HEADERS, PAGED, doc
from shared.schemas.social import ChannelBrief, SubscriptionState
from shared.services import subscriptions
from shared.sql import subscriptions as subscriptions_sql
from shared.sql import users as users_sql
from shared.web.envelope import ok
from shared.web.paging import page_headers
from shared.web.request import BODY_TYPES, page_params, parse_uuid

bp = Blueprint(__name__)


def _existing_user(user_id: str, invalid: str, missing: str) -> uuid.UUID:
    uid = parse_uuid(user_id, invalid)
    if users_sql.get_public(user_id=uid) is None:
        raise errors.NotFound(missing)
    return uid


@bp.route("/c/{channel_id}", methods=["POST"], content_types=BODY_TYPES)
@doc("Subscribe or unsubscribe", response=SubscriptionState, errors=(400, 404))
def toggle_subscription(channel_id: str) -> Response:
    user = require_user(bp.current_request)
    channel = parse_uuid(channel_id, "Invalid channel ID")
    if channel == user.id:
        raise errors.BadRequest("You cannot subscribe to your own channel")
    _existing_user(channel_id, "Invalid channel ID", "Channel not found")
    subscribed = subscriptions.toggle(user, channel)
    cached.forget_channel_counts(user.id, channel)
    return ok({"subscribed": subscribed}, "Subscribed successfully" if subscribed else "Unsubscribed successfully")


@bp.route("/c/{channel_id}", methods=["GET"])
@doc("A channel's subscribers", response=[ChannelBrief], query=PAGED, headers=PAGE_HEADERS, errors=(404,))
def list_subscribers(channel_id: str) -> Response:
    request = bp.current_request
    require_user(request)
    channel = _existing_user(channel_id, "Invalid channel ID", "Channel not found")
    page, limit = page_params(request, default_limit=20)
    rows, total = subscriptions_sql.subscribers_of(channel_id=channel, limit=limit, offset=(page - 1) * limit)
    return ok([ChannelBrief.shape(r) for r in rows], "Subscribers fetched successfully",
              headers=page_headers(request, page=page, limit=limit, total=total))


@bp.route("/u/{subscriber_id}", methods=["GET"])
@doc("Channels a user follows", response=[ChannelBrief], query=PAGED, headers=PAGE_HEADERS, errors=(404,))
def list_subscribed_channels(subscriber_id: str) -> Response:
    request = bp.current_request
    require_user(request)
    subscriber = _existing_user(subscriber_id, "Invalid subscriber ID", "User not found")
    page, limit = page_params(request, default_limit=20)
    rows, total = subscriptions_sql.channels_of(subscriber_id=subscriber, limit=limit, offset=(page - 1) * limit)
    return ok([ChannelBrief.shape(r) for r in rows], "Subscribed channels fetched successfully",
              headers=page_headers(request, page=page, limit=limit, total=total))
