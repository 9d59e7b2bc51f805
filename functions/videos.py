"""Videos: /api/v2/videos/* (contract-v2 §5)."""

from __future__ import annotations

from chalice import Blueprint, Response

from shared import cache, errors, ratelimit
from shared.auth import require_user
from shared.http import (
    BODY_TYPES,
    MULTIPART,
    UPLOAD_TYPES,
    media_type,
    ok,
    page_params,
    parse_uuid,
    query_param,
    read_body,
)
from shared.schemas import parse_input
from shared.schemas.videos import VideoRegisterIn, VideoUpdateIn
from shared.services import videos
from shared.settings import get_settings
from shared.sql import users as users_sql
from shared.sql import videos as videos_sql
from shared.text import single_line_problems
from shared.uploads import read_form

bp = Blueprint(__name__)
BODY_OR_FORM = BODY_TYPES + UPLOAD_TYPES
PUBLISHED = "Video published successfully. Processing started in the background."


def _video_id(value: str):  # noqa: ANN202
    return parse_uuid(value, "Invalid video ID")


@bp.route("/", methods=["GET"])
def list_videos() -> Response:
    request = bp.current_request
    require_user(request)
    page, limit = page_params(request)
    sort_by = query_param(request, "sortBy") or "createdAt"
    if sort_by not in videos_sql.SORTS:
        raise errors.BadRequest(f"sortBy must be one of {', '.join(videos_sql.SORTS)}")
    sort_type = (query_param(request, "sortType") or "desc").lower()
    if sort_type not in ("asc", "desc"):
        raise errors.BadRequest("sortType must be asc or desc")
    user_id = query_param(request, "userId")
    query = (query_param(request, "query") or "").strip() or None
    owner = parse_uuid(user_id, "Invalid user ID") if user_id else None

    def load() -> dict:
        rows, total = videos_sql.list_published(limit=limit, offset=(page - 1) * limit, sort_by=sort_by,
                                                ascending=sort_type == "asc", user_id=owner, query=query)
        total_pages = -(-total // limit)
        return {"docs": [videos.present_with_owner(r) for r in rows], "totalDocs": total, "limit": limit,
                "page": page, "totalPages": total_pages, "hasNextPage": page < total_pages, "hasPrevPage": page > 1}

    if page == 1 and owner is None and query is None:  # the public front page: briefly cached
        key = f"feed:{cache.feed_generation()}:{sort_by}:{sort_type}:{limit}"
        data = cache.read_through(key, load, ttl=get_settings().feed_cache_ttl_seconds)
    else:
        data = load()
    return ok(data, "Videos fetched successfully")


def _title_and_description(title: str | None, description: str | None) -> tuple[str, str]:
    if not title or not title.strip():
        raise errors.BadRequest("Title is required")
    if len(title) > 500 or len(description or "") > 10_000:
        raise errors.ValidationFailed("Title is limited to 500 characters and description to 10,000")
    problems = single_line_problems(title, "Title")
    if problems:
        raise errors.ValidationFailed(problems[0], errors=problems)
    return title, description or ""


@bp.route("/", methods=["POST"], content_types=BODY_OR_FORM)
def publish_video() -> Response:
    request = bp.current_request
    user = require_user(request)
    ratelimit.hit("uploads", user.id)
    if media_type(request) != MULTIPART:  # the direct-upload flow: register what was uploaded
        body = parse_input(VideoRegisterIn, read_body(request), "Validation failed")
        title, description = _title_and_description(body.title, body.description)
        if not body.videoUploadId or not body.thumbnailUploadId:
            raise errors.BadRequest("videoUploadId and thumbnailUploadId are required (or send multipart/form-data)")
        row = videos.register_uploads(user, title=title, description=description,
                                      video_upload_id=parse_uuid(body.videoUploadId, "Invalid upload ID"),
                                      thumbnail_upload_id=parse_uuid(body.thumbnailUploadId, "Invalid upload ID"))
        return ok({"video": videos.present(row)}, PUBLISHED)
    cap = get_settings().max_request_bytes
    length = request.headers.get("content-length", "")
    size = int(length) if length.isdigit() else len(request.raw_body or b"")
    if cap and size > cap:
        raise errors.PayloadTooLarge(f"Request body over this deployment's {cap // (1024 * 1024)} MB limit: upload "
                                     "the files with POST /api/v2/uploads, then publish with videoUploadId and "
                                     "thumbnailUploadId")
    settings = get_settings()
    with read_form(request, file_fields={"videoFile": settings.max_video_bytes,
                                         "thumbnail": settings.max_image_bytes}) as form:
        title, description = _title_and_description(form.fields.get("title"), form.fields.get("description"))
        video_file, thumbnail = form.files.get("videoFile"), form.files.get("thumbnail")
        if video_file is None or video_file.size == 0:
            raise errors.BadRequest("Video file is required")
        if thumbnail is None or thumbnail.size == 0:
            raise errors.BadRequest("Thumbnail is required")
        row = videos.publish(user, title=title, description=description, video=video_file, thumbnail=thumbnail)
    return ok({"video": videos.present(row)}, PUBLISHED)


@bp.route("/{video_id}", methods=["GET"])
def get_video(video_id: str) -> Response:
    user = require_user(bp.current_request)
    vid = _video_id(video_id)
    video = videos.cached_video(vid)
    if not video or (not video["isPublished"] and video["userId"] != str(user.id)):
        raise errors.NotFound("Video not found")
    owner = cache.read_through(f"channel:{video['userId']}", lambda: users_sql.channel_stats(user_id=video["userId"]))
    views = videos_sql.record_view(video_id=vid, viewer_id=user.id, window_seconds=get_settings().view_window_seconds)
    data = {**video, "views": views, "user": {"fullname": owner["fullname"], "username": owner["username"],
                                              "avatar": owner["avatar"], "subscribersCount": owner["subscriber_count"]}}
    return ok(data, "Video fetched successfully")


@bp.route("/{video_id}", methods=["PATCH"], content_types=BODY_OR_FORM)
def update_video(video_id: str) -> Response:
    request = bp.current_request
    user = require_user(request)
    vid = _video_id(video_id)
    if media_type(request) == MULTIPART:
        with read_form(request, file_fields={"thumbnail": get_settings().max_image_bytes}) as form:
            changes = _changes(parse_input(VideoUpdateIn, form.fields, "Validation failed"))
            thumbnail = form.files.get("thumbnail")
            row = videos.update(user, vid, changes=changes, thumbnail=thumbnail if thumbnail and thumbnail.size else None)
    else:
        changes = _changes(parse_input(VideoUpdateIn, read_body(request), "Validation failed"))
        row = videos.update(user, vid, changes=changes, thumbnail=None)
    return ok(videos.present(row), "Video updated successfully")


def _changes(body: VideoUpdateIn) -> dict[str, str]:
    """PATCH semantics: omitted is unchanged, an explicit empty description clears it, a title may not be blank."""
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if "title" in changes:
        changes["title"], _ = _title_and_description(changes["title"], None)
    if len(changes.get("description", "")) > 10_000:
        raise errors.ValidationFailed("Title is limited to 500 characters and description to 10,000")
    return changes


@bp.route("/{video_id}", methods=["DELETE"])
def delete_video(video_id: str) -> Response:
    user = require_user(bp.current_request)
    videos.delete(user, _video_id(video_id))
    return ok({}, "Video deleted successfully")


@bp.route("/{video_id}/processing/retry", methods=["POST"], content_types=BODY_OR_FORM)
def retry_video_processing(video_id: str) -> Response:
    user = require_user(bp.current_request)
    row = videos.retry_processing(user, _video_id(video_id))
    return ok(videos.present(row), "Video processing restarted")


@bp.route("/toggle/publish/{video_id}", methods=["PATCH"], content_types=BODY_OR_FORM)
def toggle_publish_status(video_id: str) -> Response:
    user = require_user(bp.current_request)
    row = videos.toggle_publish(user, _video_id(video_id))
    return ok(videos.present(row), "Video publish status toggled")
