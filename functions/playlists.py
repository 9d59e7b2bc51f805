"""Playlists: /api/v2/playlist/* (contract-v2 §10; note the singular path)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from shared import errors
from shared.auth import CurrentUser, require_user
from shared.openapi import EMPTY, PAGE_HEADERS, PAGED, doc
from shared.schemas import parse_input
from shared.schemas.social import (
    PlaylistDetail,
    PlaylistIn,
    PlaylistOut,
    PlaylistSummary,
    PlaylistUpdateIn,
    VideoRemoved,
)
from shared.services.presenters import present_with_owner
from shared.services.visibility import visible_video_id
from shared.sql import playlists as playlists_sql
from shared.sql import users as users_sql
from shared.web.body import read_body
from shared.web.envelope import ok
from shared.web.paging import page_headers
from shared.web.request import BODY_TYPES, page_params, parse_uuid

bp = Blueprint(__name__)


def _own_playlist(playlist_id: str, user: CurrentUser, message: str) -> dict[str, Any]:
    row = playlists_sql.get(playlist_id=parse_uuid(playlist_id, "Invalid playlist ID"))
    if row is None:
        raise errors.NotFound("Playlist not found")
    if row["user_id"] != user.id:
        raise errors.Forbidden(message)
    return row


@bp.route("/", methods=["POST"], content_types=BODY_TYPES)
@doc("Create a playlist", response=PlaylistOut, body=PlaylistIn, status=201, errors=(400, 422))
def create_playlist() -> Response:
    user = require_user(bp.current_request)
    body = parse_input(PlaylistIn, read_body(bp.current_request))
    row = playlists_sql.insert(user_id=user.id, name=body.name, description=body.description)
    return ok(PlaylistOut.model_validate(row).dump(), "Playlist created successfully", status=201)


@bp.route("/user/{user_id}", methods=["GET"])
@doc("A user's playlists", response=[PlaylistSummary], query=PAGED, headers=PAGE_HEADERS, errors=(404,))
def list_user_playlists(user_id: str) -> Response:
    request = bp.current_request
    user = require_user(request)
    owner = parse_uuid(user_id, "Invalid user ID")
    if users_sql.get_public(user_id=owner) is None:
        raise errors.NotFound("User not found")
    page, limit = page_params(request)
    rows, total = playlists_sql.list_for_user(user_id=owner, viewer_id=user.id, limit=limit, offset=(page - 1) * limit)
    return ok([PlaylistSummary.shape(r) for r in rows], "User playlists fetched successfully",
              headers=page_headers(request, page=page, limit=limit, total=total))


@bp.route("/{playlist_id}", methods=["GET"])
@doc("A playlist with its videos, in the order added", response=PlaylistDetail, query=PAGED, errors=(404,))
def get_playlist(playlist_id: str) -> Response:
    request = bp.current_request
    user = require_user(request)
    pid = parse_uuid(playlist_id, "Invalid playlist ID")
    row = playlists_sql.get_with_owner_and_totals(playlist_id=pid, viewer_id=user.id)
    if row is None:
        raise errors.NotFound("Playlist not found")
    page, limit = page_params(request, default_limit=50)
    videos = playlists_sql.videos_of(playlist_id=pid, viewer_id=user.id, limit=limit, offset=(page - 1) * limit)
    owner = {"username": row["owner_username"], "fullname": row["owner_fullname"], "avatar": row["owner_avatar"]}
    data = PlaylistDetail.model_validate({**row, "user": owner, "videos": []}).dump()
    data["videos"] = [present_with_owner(v) for v in videos]  # signed URLs for the viewer's own drafts
    return ok(data, "Playlist fetched successfully")


@bp.route("/{playlist_id}", methods=["PATCH"], content_types=BODY_TYPES)
@doc("Rename or describe a playlist", response=PlaylistOut, body=PlaylistUpdateIn, errors=(400, 403, 404))
def update_playlist(playlist_id: str) -> Response:
    user = require_user(bp.current_request)
    changes = parse_input(PlaylistUpdateIn, read_body(bp.current_request)).changes()
    playlist = _own_playlist(playlist_id, user, "You are not authorized to update this playlist")
    row = playlists_sql.update(playlist_id=playlist["id"], changes=changes)
    if row is None:
        raise errors.NotFound("Playlist not found")
    return ok(PlaylistOut.model_validate(row).dump(), "Playlist updated successfully")


@bp.route("/{playlist_id}", methods=["DELETE"])
@doc("Delete a playlist", response=EMPTY, errors=(403, 404))
def delete_playlist(playlist_id: str) -> Response:
    user = require_user(bp.current_request)
    playlist = _own_playlist(playlist_id, user, "You are not authorized to delete this playlist")
    if not playlists_sql.delete(playlist_id=playlist["id"], user_id=user.id):  # a concurrent delete won
        raise errors.NotFound("Playlist not found")
    return ok({}, "Playlist deleted successfully")


@bp.route("/{playlist_id}/{video_id}", methods=["POST"], content_types=BODY_TYPES)
@doc("Add a video to a playlist", response=PlaylistOut, errors=(403, 404, 409))
def add_video_to_playlist(playlist_id: str, video_id: str) -> Response:
    user = require_user(bp.current_request)
    playlist = _own_playlist(playlist_id, user, "You are not authorized to edit this playlist")
    video_uuid = visible_video_id(parse_uuid(video_id, "Invalid video ID"), user)
    try:
        row = playlists_sql.add_video(playlist_id=playlist["id"], video_id=video_uuid)
    except errors.Conflict:
        raise errors.Conflict("Video already in playlist") from None
    return ok(PlaylistOut.model_validate(row).dump(), "Video added to playlist")


@bp.route("/{playlist_id}/{video_id}", methods=["DELETE"])
@doc("Remove a video from a playlist", response=VideoRemoved, errors=(403, 404))
def remove_video_from_playlist(playlist_id: str, video_id: str) -> Response:
    user = require_user(bp.current_request)
    playlist = _own_playlist(playlist_id, user, "You are not authorized to edit this playlist")
    # Idempotent as in v2 (contract §10.7: 200 when the video was not there); `removed` says which call removed it.
    removed = playlists_sql.remove_video(playlist_id=playlist["id"], video_id=parse_uuid(video_id, "Invalid video ID"))
    return ok({"removed": removed}, "Video removed from playlist")
