"""Tweets (community posts): /api/v2/tweets/* (contract-v2 §7)."""

from __future__ import annotations

import uuid
from typing import Any

from chalice import Blueprint, Response

from shared import errors
from shared.auth import require_user
from shared.openapi import EMPTY, PAGE_HEADERS, PAGED, doc
from shared.schemas import parse_input
from shared.schemas.social import TweetEditIn, TweetIn, TweetOut, TweetWithCount
from shared.sql import tweets as tweets_sql
from shared.sql import users as users_sql
from shared.web.body import read_body
from shared.web.envelope import ok
from shared.web.paging import page_headers
from shared.web.request import BODY_TYPES, page_params, parse_uuid

bp = Blueprint(__name__)


def _own_tweet(tweet_id: str, user_id: uuid.UUID) -> dict[str, Any]:
    row = tweets_sql.get(tweet_id=parse_uuid(tweet_id, "Invalid tweet ID"))
    if row is None:
        raise errors.NotFound("Tweet not found")
    if row["user_id"] != user_id:
        raise errors.Forbidden("Tweet not found or unauthorized")
    return row


@bp.route("/", methods=["POST"], content_types=BODY_TYPES)
@doc("Post to the community tab", response=TweetOut, body=TweetIn, status=201, errors=(400, 422))
def create_tweet() -> Response:
    user = require_user(bp.current_request)
    row = tweets_sql.insert(user_id=user.id, content=parse_input(TweetIn, read_body(bp.current_request)).content)
    return ok(TweetOut.model_validate(row).dump(), "Tweet created successfully!", status=201)


@bp.route("/user/{user_id}", methods=["GET"])
@doc("A user's posts with like counts", response=[TweetWithCount], query=PAGED, headers=PAGE_HEADERS, errors=(404,))
def list_user_tweets(user_id: str) -> Response:
    request = bp.current_request
    viewer = require_user(request)
    owner_id = parse_uuid(user_id, "Invalid user ID")
    if users_sql.get_public(user_id=owner_id) is None:
        raise errors.NotFound("User not found")
    page, limit = page_params(request)
    rows, total = tweets_sql.list_for_user(user_id=owner_id, limit=limit, offset=(page - 1) * limit, viewer_id=viewer.id)
    data = [TweetWithCount.shape({**r, "count": {"likes": r["likes_count"]}}) for r in rows]
    return ok(data, "Tweets fetched successfully", headers=page_headers(request, page=page, limit=limit, total=total))


@bp.route("/{tweet_id}", methods=["PATCH"], content_types=BODY_TYPES)
@doc("Edit a post", response=TweetOut, body=TweetEditIn, errors=(400, 403, 404))
def update_tweet(tweet_id: str) -> Response:
    user = require_user(bp.current_request)
    content = parse_input(TweetEditIn, read_body(bp.current_request)).content
    tweet = _own_tweet(tweet_id, user.id)
    row = tweets_sql.update_content(tweet_id=tweet["id"], content=content)
    if row is None:
        raise errors.NotFound("Tweet not found")
    return ok(TweetOut.model_validate(row).dump(), "Tweet updated successfully")


@bp.route("/{tweet_id}", methods=["DELETE"])
@doc("Delete a post", response=EMPTY, errors=(403, 404))
def delete_tweet(tweet_id: str) -> Response:
    user = require_user(bp.current_request)
    tweet = _own_tweet(tweet_id, user.id)
    if not tweets_sql.delete(tweet_id=tweet["id"], user_id=user.id):  # a concurrent delete won
        raise errors.NotFound("Tweet not found")
    return ok({}, "Tweet deleted successfully")
