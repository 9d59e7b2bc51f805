"""Comments: /api/v2/comments/* (contract-v2 §6)."""

from __future__ import annotations

from chalice import Blueprint, Response

from shared import errors
from shared.auth import require_user
from shared.openapi import EMPTY, PAGE_HEADERS, PAGED, doc
from shared.schemas import parse_input
from shared.schemas.social import CommentEditIn, CommentIn, CommentOut, CommentThread, CommentWithUser
from shared.services import account_mail, comments
from shared.services.visibility import visible_comment, visible_video_id
from shared.sql import comments as comments_sql
from shared.web.body import read_body
from shared.web.envelope import ok
from shared.web.paging import page_headers
from shared.web.request import BODY_TYPES, page_params, parse_uuid

bp = Blueprint(__name__)


@bp.route("/{video_id}", methods=["GET"])
@doc("A video's comment threads, newest first: top-level comments with their reply counts", response=[CommentThread],
     query=PAGED, headers=PAGE_HEADERS, errors=(404,))
def list_comments(video_id: str) -> Response:
    request = bp.current_request
    user = require_user(request)
    vid = visible_video_id(parse_uuid(video_id, "Invalid video ID"), user)
    page, limit = page_params(request)
    rows, total = comments_sql.list_for_video(video_id=vid, limit=limit, offset=(page - 1) * limit, viewer_id=user.id)
    data = [comments.present(r) for r in rows]
    return ok(data, "Comments fetched successfully", headers=page_headers(request, page=page, limit=limit, total=total))


@bp.route("/{video_id}", methods=["POST"], content_types=BODY_TYPES)
@doc("Comment on a video, or reply to a comment (parentId); held for approval on an `approval` video",
     response=CommentOut, body=CommentIn, status=201, errors=(400, 403, 404, 422))
def add_comment(video_id: str) -> Response:
    user = require_user(bp.current_request)
    account_mail.require_verified_to_post(user)
    body = parse_input(CommentIn, read_body(bp.current_request))
    vid = parse_uuid(video_id, "Invalid video ID")
    row = comments.add(user, vid, content=body.content, parent_id=body.parent_id)
    return ok(CommentOut.model_validate(row).dump(), "Comment added successfully", status=201)


@bp.route("/c/{comment_id}/replies", methods=["GET"])
@doc("A thread's replies, oldest first", response=[CommentWithUser], query=PAGED, headers=PAGE_HEADERS,
     errors=(400, 404))
def list_replies(comment_id: str) -> Response:
    request = bp.current_request
    user = require_user(request)
    page, limit = page_params(request)
    data, total = comments.replies(user, parse_uuid(comment_id, "Invalid comment ID"), limit=limit,
                                   offset=(page - 1) * limit)
    return ok(data, "Replies fetched successfully", headers=page_headers(request, page=page, limit=limit, total=total))


@bp.route("/{video_id}/held", methods=["GET"])
@doc("Comments of your video waiting for your approval, oldest first", response=[CommentWithUser], query=PAGED,
     headers=PAGE_HEADERS, errors=(400, 403, 404))
def list_held_comments(video_id: str) -> Response:
    request = bp.current_request
    user = require_user(request)
    page, limit = page_params(request)
    data, total = comments.held(user, parse_uuid(video_id, "Invalid video ID"), limit=limit,
                                offset=(page - 1) * limit)
    return ok(data, "Held comments fetched successfully",
              headers=page_headers(request, page=page, limit=limit, total=total))


@bp.route("/c/{comment_id}/approve", methods=["POST"], content_types=BODY_TYPES)
@doc("Approve a held comment of your video (approving it again changes nothing)", response=CommentOut,
     errors=(400, 403, 404))
def approve_comment(comment_id: str) -> Response:
    user = require_user(bp.current_request)
    row = comments.approve(user, parse_uuid(comment_id, "Invalid comment ID"))
    return ok(CommentOut.model_validate(row).dump(), "Comment approved")


@bp.route("/c/{comment_id}", methods=["PATCH"], content_types=BODY_TYPES)
@doc("Edit a comment (its author)", response=CommentOut, body=CommentEditIn, errors=(400, 403, 404))
def update_comment(comment_id: str) -> Response:
    user = require_user(bp.current_request)
    content = parse_input(CommentEditIn, read_body(bp.current_request)).content
    comment = visible_comment(parse_uuid(comment_id, "Invalid comment ID"), user)
    if comment["user_id"] != user.id:
        raise errors.Forbidden("Comment not found or you are not authorized to edit it")
    row = comments_sql.update_content(comment_id=comment["id"], content=content)
    if row is None:
        raise errors.NotFound("Comment not found")
    return ok(CommentOut.model_validate(row).dump(), "Comment updated successfully")


@bp.route("/c/{comment_id}", methods=["DELETE"])
@doc("Delete a comment (its author or the video's owner); one with replies stays as \"[deleted]\" while they do",
     response=EMPTY, errors=(403, 404))
def delete_comment(comment_id: str) -> Response:
    user = require_user(bp.current_request)
    comment = visible_comment(parse_uuid(comment_id, "Invalid comment ID"), user)
    if user.id not in (comment["user_id"], comment["video_owner_id"]):  # the author, or the video's owner
        raise errors.Forbidden("Comment not found or you are not authorized to delete it")
    if not comments_sql.delete(comment_id=comment["id"], by=user.id):  # a concurrent delete won
        raise errors.NotFound("Comment not found")
    return ok({}, "Comment deleted successfully")
