"""Likes: /api/v2/likes/* (contract-v2 §8): atomic toggles and the caller's liked videos."""

from __future__ import annotations

import uuid

from chalice import Blueprint, Response

from shared import errors
from shared.auth import CurrentUser, require_user
from shared.openapi import PAGE_HEADERS, PAGED, doc
from shared.schemas.social import LikeState
from shared.schemas.videos import VideoWithOwner
from shared.services.presenters import present_with_owner
from shared.services.visibility import visible_comment, visible_video_id
from shared.sql import likes as likes_sql
from shared.sql import tweets as tweets_sql
from shared.web.envelope import ok
from shared.web.paging import page_headers
from shared.web.request import BODY_TYPES, page_params, parse_uuid

bp = Blueprint(__name__)


def _answer(liked: bool) -> Response:
    return ok({"liked": liked}, "Like added successfully" if liked else "Like removed successfully")


def _toggle(user: CurrentUser, target: str, target_id: uuid.UUID) -> Response:
    return _answer(likes_sql.toggle(user_id=user.id, target=target, target_id=target_id))


@bp.route("/toggle/v/{video_id}", methods=["POST"], content_types=BODY_TYPES)
@doc("Like or unlike a video", response=LikeState, errors=(404,))
def toggle_video_like(video_id: str) -> Response:
    user = require_user(bp.current_request)
    return _toggle(user, "video", visible_video_id(parse_uuid(video_id, "Invalid video ID"), user))


@bp.route("/toggle/c/{comment_id}", methods=["POST"], content_types=BODY_TYPES)
@doc("Like or unlike a comment", response=LikeState, errors=(404,))
def toggle_comment_like(comment_id: str) -> Response:
    user = require_user(bp.current_request)
    comment = visible_comment(parse_uuid(comment_id, "Invalid comment ID"), user)
    return _toggle(user, "comment", comment["id"])


@bp.route("/toggle/t/{tweet_id}", methods=["POST"], content_types=BODY_TYPES)
@doc("Like or unlike a post", response=LikeState, errors=(404,))
def toggle_tweet_like(tweet_id: str) -> Response:
    user = require_user(bp.current_request)
    tweet = tweets_sql.get(tweet_id=parse_uuid(tweet_id, "Invalid tweet ID"))
    if tweet is None:
        raise errors.NotFound("Tweet not found")
    return _toggle(user, "tweet", tweet["id"])


@bp.route("/videos", methods=["GET"])
@doc("Videos the user liked, newest like first", response=[VideoWithOwner], query=PAGED, headers=PAGE_HEADERS)
def liked_videos() -> Response:
    request = bp.current_request
    user = require_user(request)
    page, limit = page_params(request)
    rows, total = likes_sql.liked_videos(user_id=user.id, limit=limit, offset=(page - 1) * limit)
    return ok([present_with_owner(r) for r in rows], "Liked videos fetched successfully",
              headers=page_headers(request, page=page, limit=limit, total=total))
