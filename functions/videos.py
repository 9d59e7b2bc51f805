"""Videos: /api/v2/videos/* (contract-v2 §5)."""

from __future__ import annotations

import uuid

from chalice import Blueprint, Response
from chalice.app import Request

from shared import errors, ratelimit
from shared.auth import require_user
from shared.openapi import EMPTY, PAGED, doc
from shared.schemas import parse_form, parse_input
from shared.schemas.videos import (
    PublishedVideo,
    VideoDetail,
    VideoListQuery,
    VideoOut,
    VideoPage,
    VideoPublishForm,
    VideoRegisterIn,
    VideoUpdateForm,
    VideoUpdateIn,
)
from shared.services import account_mail, catalog, direct_uploads, presenters, videos
from shared.settings import get_settings
from shared.web import upload_policy
from shared.web.body import read_body
from shared.web.envelope import ok
from shared.web.forms import read_form
from shared.web.request import BODY_TYPES, MULTIPART, UPLOAD_TYPES, media_type, parse_uuid

bp = Blueprint(__name__)
BODY_OR_FORM = BODY_TYPES + UPLOAD_TYPES
PUBLISHED = "Video published successfully. Processing started in the background."


def _video_id(value: str) -> uuid.UUID:
    return parse_uuid(value, "Invalid video ID")


def _refuse_over_deployment_cap(request: Request) -> None:
    """A deployment may cap request bodies below the upload limits (API Gateway and Lambda do): a multipart publish
    over it is refused before it is read, pointing at the direct-upload flow."""
    cap = get_settings().max_request_bytes
    length = request.headers.get("content-length", "")
    size = int(length) if length.isdigit() else len(request.raw_body or b"")
    if cap and size > cap:
        raise errors.PayloadTooLarge(f"Request body over this deployment's {cap // (1024 * 1024)} MB limit: upload "
                                     "the files with POST /api/v2/uploads, then publish with videoUploadId and "
                                     "thumbnailUploadId")


@bp.route("/", methods=["GET"])
@doc("Published videos: search, filter, sort, paginate", response=VideoPage, query=(
    *PAGED, ("query", "string", "Words to find in titles and descriptions (prefix match)"),
    ("userId", "string", "Only this channel's videos"),
    ("tag", "string", "Only videos with this tag (normalised as tags are: '#Guitar' finds 'guitar')"),
    ("sortBy", "string", "createdAt | views | duration | title | trending (views in the last 7 days)"),
    ("sortType", "string", "asc | desc")))
def list_videos() -> Response:
    request = bp.current_request
    require_user(request)
    return ok(catalog.feed(VideoListQuery.from_request(request)), "Videos fetched successfully")


@bp.route("/", methods=["POST"], content_types=BODY_OR_FORM)
@doc("Publish a video (multipart), or register direct uploads (JSON)", response=PublishedVideo, body=VideoRegisterIn,
     form=VideoPublishForm, errors=(400, 403, 404, 409, 413, 415, 422, 429, 503))
def publish_video() -> Response:
    request = bp.current_request
    user = require_user(request)
    ratelimit.hit("uploads", user.id)
    account_mail.require_verified_to_post(user)
    if media_type(request) != MULTIPART:  # the direct-upload flow: register what was uploaded
        body = parse_input(VideoRegisterIn, read_body(request))
        row = direct_uploads.register_uploads(user, title=body.title, description=body.description,
                                      video_upload_id=body.video_upload_id,
                                      thumbnail_upload_id=body.thumbnail_upload_id,
                                      comment_policy=body.commentPolicy or "open", privacy=body.privacy_on_create(),
                                      tags=body.tag_list())
        return ok({"video": presenters.present(row)}, PUBLISHED)
    _refuse_over_deployment_cap(request)
    with read_form(request, upload_policy.PUBLISH_VIDEO) as form:
        sent = parse_form(VideoPublishForm, form)
        row = videos.publish(user, title=sent.title, description=sent.description, video=sent.videoFile,
                             thumbnail=sent.thumbnail, comment_policy=sent.commentPolicy or "open",
                             privacy=sent.privacy_on_create(), tags=sent.tag_list())
    return ok({"video": presenters.present(row)}, PUBLISHED)


@bp.route("/{video_id}", methods=["GET"])
@doc("A video; counts the view (once per viewer per hour)", response=VideoDetail, errors=(404,))
def get_video(video_id: str) -> Response:
    user = require_user(bp.current_request)
    return ok(catalog.watch(user, _video_id(video_id)), "Video fetched successfully")


@bp.route("/{video_id}", methods=["PATCH"], content_types=BODY_OR_FORM)
@doc("Change title, description, thumbnail, comment policy, privacy, schedule or tags", response=VideoOut,
     body=VideoUpdateIn, form=VideoUpdateForm, errors=(403, 404, 422))
def update_video(video_id: str) -> Response:
    request = bp.current_request
    user = require_user(request)
    vid = _video_id(video_id)
    if media_type(request) != MULTIPART:
        changes = parse_input(VideoUpdateIn, read_body(request)).changes()
        return ok(presenters.present(videos.update(user, vid, changes=changes, thumbnail=None)),
                  "Video updated successfully")
    with read_form(request, upload_policy.UPDATE_VIDEO) as form:
        sent = parse_form(VideoUpdateForm, form)
        row = videos.update(user, vid, changes=sent.changes(), thumbnail=sent.thumbnail)
    return ok(presenters.present(row), "Video updated successfully")


@bp.route("/{video_id}", methods=["DELETE"])
@doc("Delete a video, its comments, likes and media", response=EMPTY, errors=(403, 404))
def delete_video(video_id: str) -> Response:
    user = require_user(bp.current_request)
    videos.delete(user, _video_id(video_id))
    return ok({}, "Video deleted successfully")


@bp.route("/{video_id}/processing/retry", methods=["POST"], content_types=BODY_OR_FORM)
@doc("Process a failed video again", response=VideoOut, errors=(403, 404, 409))
def retry_video_processing(video_id: str) -> Response:
    user = require_user(bp.current_request)
    row = videos.retry_processing(user, _video_id(video_id))
    return ok(presenters.present(row), "Video processing restarted")


@bp.route("/toggle/publish/{video_id}", methods=["PATCH"], content_types=BODY_OR_FORM)
@doc("Publish or unpublish (public ↔ private; an unlisted or scheduled video turns public)", response=VideoOut,
     errors=(403, 404))
def toggle_publish_status(video_id: str) -> Response:
    user = require_user(bp.current_request)
    row = videos.toggle_publish(user, _video_id(video_id))
    return ok(presenters.present(row), "Video publish status toggled")
