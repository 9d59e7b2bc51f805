"""Comments: /api/v2/comments/* (contract-v2 §6)."""

from __future__ import annotations

from chalice import Blueprint, Response

from shared import errors
from shared.auth import require_user
from shared.http import BODY_TYPES, ok, page_params, parse_uuid, read_body
from shared.schemas.social import MAX_COMMENT, CommentOut, CommentWithUser, content_of
from shared.services.videos import visible_comment, visible_video_id
from shared.sql import comments as comments_sql

bp = Blueprint(__name__)


def _content(message: str) -> str:
    return content_of(read_body(bp.current_request), empty_message=message, limit=MAX_COMMENT, noun="Comment")


@bp.route("/{video_id}", methods=["GET"])
def list_comments(video_id: str) -> Response:
    request = bp.current_request
    user = require_user(request)
    vid = visible_video_id(parse_uuid(video_id, "Invalid video ID"), user)
    page, limit = page_params(request)
    rows = comments_sql.list_for_video(video_id=vid, limit=limit, offset=(page - 1) * limit)
    data = [CommentWithUser.model_validate({**r, "user": {"username": r["owner_username"],
                                                          "fullname": r["owner_fullname"],
                                                          "avatar": r["owner_avatar"]}}).dump() for r in rows]
    return ok(data, "Comments fetched successfully")


@bp.route("/{video_id}", methods=["POST"], content_types=BODY_TYPES)
def add_comment(video_id: str) -> Response:
    user = require_user(bp.current_request)
    content = _content("Comment cannot be empty")
    vid = visible_video_id(parse_uuid(video_id, "Invalid video ID"), user)
    row = comments_sql.insert(video_id=vid, user_id=user.id, content=content)
    return ok(CommentOut.model_validate(row).dump(), "Comment added successfully", status=201)


@bp.route("/c/{comment_id}", methods=["PATCH"], content_types=BODY_TYPES)
def update_comment(comment_id: str) -> Response:
    user = require_user(bp.current_request)
    content = _content("Content is required")
    comment = visible_comment(parse_uuid(comment_id, "Invalid comment ID"), user)
    if comment["user_id"] != user.id:
        raise errors.Forbidden("Comment not found or you are not authorized to edit it")
    row = comments_sql.update_content(comment_id=comment["id"], content=content)
    if row is None:
        raise errors.NotFound("Comment not found")
    return ok(CommentOut.model_validate(row).dump(), "Comment updated successfully")


@bp.route("/c/{comment_id}", methods=["DELETE"])
def delete_comment(comment_id: str) -> Response:
    user = require_user(bp.current_request)
    comment = visible_comment(parse_uuid(comment_id, "Invalid comment ID"), user)
    if user.id not in (comment["user_id"], comment["video_owner_id"]):  # the author, or the video's owner
        raise errors.Forbidden("Comment not found or you are not authorized to delete it")
    if not comments_sql.delete(comment_id=comment["id"], by=user.id):  # a concurrent delete won
        raise errors.NotFound("Comment not found")
    return ok({}, "Comment deleted successfully")
