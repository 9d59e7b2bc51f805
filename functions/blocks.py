"""A user's blocks: /api/v2/user/blocks* (issue #15, points 6 and 8). A blocked user's comments and posts are hidden
from the blocker (shared/services/moderation.py)."""

from __future__ import annotations

from chalice import Blueprint, Response

from shared.auth import require_user
from shared.openapi import EMPTY, PAGE_HEADERS, PAGED, doc
from shared.schemas import parse_input
from shared.schemas.moderation import BlockedUser, BlockIn
from shared.services import moderation
from shared.sql import moderation as moderation_sql
from shared.web.body import read_body
from shared.web.envelope import ok
from shared.web.paging import page_headers
from shared.web.request import BODY_TYPES, page_params, parse_uuid

bp = Blueprint(__name__)


@bp.route("/blocks", methods=["POST"], content_types=BODY_TYPES)
@doc("Block a user: their comments and posts are hidden from you (blocking again changes nothing)", response=EMPTY,
     body=BlockIn, status=201, errors=(404, 422))
def block_user() -> Response:
    request = bp.current_request
    user = require_user(request)
    body = parse_input(BlockIn, read_body(request))
    moderation.block(user, body.user_id)
    return ok({}, "User blocked", status=201)


@bp.route("/blocks/{user_id}", methods=["DELETE"])
@doc("Unblock a user", response=EMPTY, errors=(404,))
def unblock_user(user_id: str) -> Response:
    user = require_user(bp.current_request)
    moderation.unblock(user, parse_uuid(user_id, "Invalid user ID"))
    return ok({}, "User unblocked")


@bp.route("/blocks", methods=["GET"])
@doc("The users I block, the latest first", response=[BlockedUser], query=PAGED, headers=PAGE_HEADERS)
def list_blocks() -> Response:
    request = bp.current_request
    user = require_user(request)
    page, limit = page_params(request)
    rows, total = moderation_sql.list_blocks(blocker_id=user.id, limit=limit, offset=(page - 1) * limit)
    data = [BlockedUser.shape(r) for r in rows]
    return ok(data, "Blocked users fetched", headers=page_headers(request, page=page, limit=limit, total=total))
