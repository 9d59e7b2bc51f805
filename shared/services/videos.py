"""Video use cases that span storage, probing, the database and jobs: publish, register, update, delete."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from shared import cache, db, errors, jobs
from shared.auth import CurrentUser
from shared.media_probe import ProbeError, VideoFacts, probe_video
from shared.media_types import VIDEO_TYPES
from shared.node import media_node
from shared.schemas.videos import VideoOut, VideoWithOwner
from shared.services.media_cleanup import discard, schedule_deletion
from shared.settings import get_settings
from shared.sql import comments as comments_sql
from shared.sql import jobs as jobs_sql
from shared.sql import uploads as uploads_sql
from shared.sql import videos as videos_sql
from shared.storage import StoredFile, get_storage
from shared.uploads import UploadedFile, check_image, too_large

log = logging.getLogger(__name__)

VIDEO_FORMAT_MESSAGE = "Invalid video format. Must be MP4, WEBM, MKV, or MOV."
_FORMAT_TO_MIME = {"mp4": "video/mp4", "webm": "video/webm", "mkv": "video/x-matroska", "mov": "video/quicktime"}


# ------------------------------------------------------------------------------------ presenting


def _urls(row: dict[str, Any]) -> dict[str, str | None]:
    """Delivery URLs: an unpublished video's media only through expiring signed URLs (its owner's eyes only)."""
    private = not row["is_published"]
    storage = get_storage()
    urls: dict[str, str | None] = {}
    if row.get("hls_master_public_id"):
        urls["hls_url"] = storage.hls_url(row["hls_master_public_id"], private=private)  # type: ignore[attr-defined]
        urls["poster_url"] = storage.poster_url(row["poster_public_id"], private=private)  # type: ignore[attr-defined]
    if private or row.get("storage", "local") != "local":
        urls["video_file_url"] = storage.url_for(row["video_file_public_id"], resource_type="video", private=private)
        urls["thumbnail_url"] = storage.url_for(row["thumbnail_public_id"], resource_type="image", private=private)
    return urls


def present(row: dict[str, Any]) -> dict[str, Any]:
    return VideoOut.model_validate({**row, **_urls(row)}).dump()


def present_with_owner(row: dict[str, Any]) -> dict[str, Any]:
    owner = {"fullname": row["owner_fullname"], "username": row["owner_username"], "avatar": row["owner_avatar"]}
    return VideoWithOwner.model_validate({**row, **_urls(row), "user": owner}).dump()


# ------------------------------------------------------------------------------------ checks


def visible_video(video_id: uuid.UUID, viewer: CurrentUser) -> dict[str, Any]:
    """The video, or 404 when it does not exist or is someone else's unpublished video."""
    row = videos_sql.get(video_id=video_id)
    if row is None or (not row["is_published"] and row["user_id"] != viewer.id):
        raise errors.NotFound("Video not found")
    return row


def visible_video_id(video_id: uuid.UUID, viewer: CurrentUser) -> uuid.UUID:
    """Just "may this viewer see this video?" (comments, likes, playlists): answered from the cached video entry
    that every video write invalidates; 404 as `visible_video`."""
    video = cached_video(video_id)
    if not video or (not video["isPublished"] and video["userId"] != str(viewer.id)):
        raise errors.NotFound("Video not found")
    return video_id


def visible_comment(comment_id: uuid.UUID, viewer: CurrentUser) -> dict[str, Any]:
    """A comment with its video's owner; 404 when the comment does not exist or sits under someone else's
    unpublished video (which does not exist for this viewer either)."""
    row = comments_sql.get_with_video(comment_id=comment_id)
    if row is None or (not row["video_published"] and row["video_owner_id"] != viewer.id):
        raise errors.NotFound("Comment not found")
    return row


def cached_video(video_id: uuid.UUID) -> dict[str, Any] | None:
    """The video as the API shows it; published ones come from the cache (an unpublished one never does:
    its URLs are signed for its owner)."""
    def load() -> dict[str, Any] | None:
        row = videos_sql.get(video_id=video_id)
        return present(row) if row else None

    return cache.read_through(f"video:{video_id}", load, keep=lambda v: bool(v and v["isPublished"]))


def owned_video(video_id: uuid.UUID, user: CurrentUser, message: str) -> dict[str, Any]:
    row = visible_video(video_id, user)
    if row["user_id"] != user.id:
        raise errors.Forbidden(message)
    return row


def check_video_file(upload: UploadedFile) -> tuple[str, VideoFacts]:
    """Type by content, size, and a real probe: a file that is not a readable video never gets stored."""
    limit = get_settings().max_video_bytes
    if upload.size > limit:
        raise too_large("videoFile", limit)
    mime = upload.sniff()
    if mime not in VIDEO_TYPES:
        raise errors.UnsupportedMediaType(VIDEO_FORMAT_MESSAGE)
    try:
        return mime, probe_video(upload.path)
    except ProbeError as exc:
        raise errors.ValidationFailed(f"Video file could not be read: {exc}") from None


# ------------------------------------------------------------------------------------ publish

PROCESSING_KINDS = ["process_video", "transcode_hls"]


def ensure_processing_capacity() -> None:
    """Backpressure: a box that transcodes one video at a time refuses new videos while its queue is full."""
    if jobs_sql.waiting(kinds=PROCESSING_KINDS) >= get_settings().max_processing_queue:
        raise errors.ServiceUnavailable("Too many videos are waiting to be processed; please try again later",
                                        headers={"Retry-After": "60"})


def publish(user: CurrentUser, *, title: str, description: str, video: UploadedFile,
            thumbnail: UploadedFile) -> dict[str, Any]:
    ensure_processing_capacity()
    mime, facts = check_video_file(video)
    thumb_mime = check_image(thumbnail)
    storage = get_storage()
    stored: list[StoredFile] = []
    try:
        video_file = storage.save(video.path, kind="video", mime=mime)
        stored.append(video_file)
        thumb_file = storage.save(thumbnail.path, kind="thumbnail", mime=thumb_mime)
        stored.append(thumb_file)
        with db.transaction():
            row = videos_sql.insert(
                user_id=user.id, title=title, description=description, video_file_url=video_file.url,
                video_file_public_id=video_file.public_id, thumbnail_url=thumb_file.url,
                thumbnail_public_id=thumb_file.public_id, duration=facts.duration, video_mime=mime,
                video_file_size=video.size, width=facts.width, height=facts.height, storage=storage.name,
                media_node=media_node())
            # Processing reads the file just stored: only the node holding it may run the job (issue #10).
            jobs.enqueue("process_video", {"video_id": str(row["id"])}, node=media_node())
            cache.forget_feed()
    except BaseException:
        discard(stored)
        raise
    return row


def register_uploads(user: CurrentUser, *, title: str, description: str, video_upload_id: uuid.UUID,
                     thumbnail_upload_id: uuid.UUID) -> dict[str, Any]:
    """Publish a video whose bytes arrived by direct upload; facts are read from storage, not the client."""
    ensure_processing_capacity()
    try:
        return _register_in_transaction(user, title, description, video_upload_id, thumbnail_upload_id)
    except _RejectedUpload as rejected:
        # The transaction is rolled back now, so the clean-up it would have recorded must happen here.
        schedule_deletion(rejected.public_id, rejected.resource_type)
        raise rejected.error from None


class _RejectedUpload(Exception):
    def __init__(self, error: errors.AppError, public_id: str, resource_type: str) -> None:
        super().__init__(error.message)
        self.error, self.public_id, self.resource_type = error, public_id, resource_type


def _register_in_transaction(user: CurrentUser, title: str, description: str, video_upload_id: uuid.UUID,
                             thumbnail_upload_id: uuid.UUID) -> dict[str, Any]:
    storage = get_storage()
    with db.transaction():
        video_up = uploads_sql.consume(upload_id=video_upload_id, user_id=user.id, kind="video")
        thumb_up = uploads_sql.consume(upload_id=thumbnail_upload_id, user_id=user.id, kind="thumbnail")
        if video_up is None or thumb_up is None:
            raise errors.NotFound("Upload not found, expired or already used")
        video_facts = _stored_upload_facts(video_up)
        thumb_facts = _stored_upload_facts(thumb_up)
        row = videos_sql.insert(
            user_id=user.id, title=title, description=description, video_file_url=video_facts["url"],
            video_file_public_id=video_up["public_id"], thumbnail_url=thumb_facts["url"],
            thumbnail_public_id=thumb_up["public_id"], duration=video_facts["duration"] or 0.0,
            video_mime=video_facts["type"], video_file_size=video_facts["size"], width=video_facts.get("width"),
            height=video_facts.get("height"), storage=storage.name, media_node=media_node())
        jobs.enqueue("process_video", {"video_id": str(row["id"])}, node=media_node())
        cache.forget_feed()
    return row


def _stored_upload_facts(upload: dict[str, Any]) -> dict[str, Any]:
    """Size, type, URL (and for a video its duration) of what really reached storage for an upload."""
    storage = get_storage()
    kind = upload["kind"]
    if upload["storage"] != storage.name:
        raise errors.Conflict("Upload was made for another storage backend")
    if upload["storage"] == "local":
        if upload["received_at"] is None:
            raise errors.Conflict("Upload has not received its file yet")
        facts: dict[str, Any] = {"url": upload["url"], "size": upload["stored_size"], "type": upload["stored_type"],
                                 "duration": None}
        if kind == "video":
            path = storage.resolve(upload["public_id"])  # type: ignore[attr-defined]
            try:
                probed = probe_video(path)
            except ProbeError as exc:
                raise errors.ValidationFailed(f"Video file could not be read: {exc}") from None
            facts.update(duration=probed.duration, width=probed.width, height=probed.height)
        return facts
    resource_type = "video" if kind == "video" else "image"
    described = storage.describe(upload["public_id"], resource_type=resource_type)  # type: ignore[attr-defined]
    if described is None:
        raise errors.Conflict("Upload has not received its file yet")
    size = int(described.get("bytes") or 0)
    limit = get_settings().max_video_bytes if kind == "video" else get_settings().max_image_bytes
    fmt = str(described.get("format") or "").lower()
    allowed = _FORMAT_TO_MIME if kind == "video" else {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
    if size > limit or fmt not in allowed:
        error = (too_large("videoFile" if kind == "video" else kind, limit) if size > limit else
                 errors.UnsupportedMediaType(VIDEO_FORMAT_MESSAGE if kind == "video" else
                                             "Invalid image format. Must be JPG, PNG, or WEBP."))
        raise _RejectedUpload(error, upload["public_id"], resource_type)
    return {"url": storage.url_for(upload["public_id"], resource_type=resource_type, private=False), "size": size,
            "type": allowed[fmt], "duration": described.get("duration"), "width": described.get("width"),
            "height": described.get("height")}


# ------------------------------------------------------------------------------------ change


def update(user: CurrentUser, video_id: uuid.UUID, *, changes: dict[str, Any],
           thumbnail: UploadedFile | None) -> dict[str, Any]:
    owned_video(video_id, user, "You are not authorized to update this video")
    new_thumb: StoredFile | None = None
    if thumbnail is not None:
        mime = check_image(thumbnail)
        new_thumb = get_storage().save(thumbnail.path, kind="thumbnail", mime=mime)
        changes = {**changes, "thumbnail_url": new_thumb.url, "thumbnail_public_id": new_thumb.public_id}
    try:
        with db.transaction():
            old = videos_sql.get(video_id=video_id, for_update=True)
            if old is None:
                raise errors.NotFound("Video not found")
            row = videos_sql.update_details(video_id=video_id, changes=changes) if changes else old
            cache.forget_video(video_id)
    except BaseException:
        if new_thumb:
            discard([new_thumb])
        raise
    if new_thumb:
        schedule_deletion(old["thumbnail_public_id"], "image")
    assert row is not None
    return row


def delete(user: CurrentUser, video_id: uuid.UUID) -> None:
    owned_video(video_id, user, "You are not authorized to delete this video")
    with db.transaction():
        media = videos_sql.delete(video_id=video_id, owner_id=user.id)
        if media is None:  # a concurrent delete won: it alone enqueues the media deletions
            raise errors.NotFound("Video not found")
        cache.forget_video(video_id)
        doomed = [(media["video_file_public_id"], "video"), (media["thumbnail_public_id"], "image")]
        if media["hls_master_public_id"] and media["storage"] == "local":
            doomed.append((f"hls/{media['id']}", "hls"))  # Cloudinary drops derived streams with the video
        # A locally stored video's files are removed by the node whose disk holds them, wherever the request came.
        job_ids = [jobs.enqueue("delete_media", {"public_id": public_id, "resource_type": kind,
                                                 "storage": media["storage"]}, node=media["media_node"])
                   for public_id, kind in doomed]
    for job_id in job_ids:
        jobs.run_now(job_id)


def retry_processing(user: CurrentUser, video_id: uuid.UUID) -> dict[str, Any]:
    """The owner asks for a failed video to be processed again."""
    owned_video(video_id, user, "You are not authorized to update this video")
    with db.transaction():
        if not videos_sql.retry_processing(video_id=video_id):
            raise errors.Conflict("Only a video whose processing failed can be retried")
        stored = videos_sql.get(video_id=video_id)
        jobs.enqueue("process_video", {"video_id": str(video_id)}, node=stored["media_node"] if stored else None)
        cache.forget_video(video_id)
    row = videos_sql.get(video_id=video_id)
    assert row is not None
    return row


def toggle_publish(user: CurrentUser, video_id: uuid.UUID) -> dict[str, Any]:
    owned_video(video_id, user, "Unauthorized")
    row = videos_sql.toggle_published(video_id=video_id, owner_id=user.id)
    if row is None:
        raise errors.NotFound("Video not found")
    cache.forget_video(video_id)
    return row
