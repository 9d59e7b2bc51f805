"""Direct uploads: sign where the bytes go, receive them where they come through us, and register the video they
make (facts read from storage, never from the client)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from shared import cached, db, errors, jobs
from shared.auth import CurrentUser
from shared.media.files import UploadedFile, too_large
from shared.media.probe import ProbeError, probe_video
from shared.media.types import (
    IMAGE_FORMAT_MESSAGE,
    IMAGE_FORMATS,
    IMAGE_TYPES,
    VIDEO_FORMAT_MESSAGE,
    VIDEO_FORMATS,
    VIDEO_TYPES,
)
from shared.node import media_node
from shared.services import notifications
from shared.services.media_cleanup import schedule_deletion
from shared.services.media_visibility import schedule_sync
from shared.services.videos import ensure_processing_capacity
from shared.settings import get_settings
from shared.sql import uploads as uploads_sql
from shared.sql import videos as videos_sql
from shared.storage import get_storage

_FIELD_FOR_KIND = {"video": "videoFile", "thumbnail": "thumbnail", "avatar": "avatar", "coverImage": "coverImage"}


def _allowed_types(kind: str) -> dict[str, str]:
    return VIDEO_TYPES if kind == "video" else IMAGE_TYPES


def _limit(kind: str) -> int:
    settings = get_settings()
    return settings.max_video_bytes if kind == "video" else settings.max_image_bytes


def sign(user: CurrentUser, *, kind: str, content_type: str, size: int) -> dict[str, Any]:
    if content_type.lower() not in _allowed_types(kind):
        names = "MP4, WEBM, MKV, or MOV" if kind == "video" else "JPG, PNG, or WEBP"
        raise errors.UnsupportedMediaType(f"contentType must be one of {names} for {kind}")
    if size > _limit(kind):
        raise too_large(_FIELD_FOR_KIND[kind], _limit(kind))
    storage = get_storage()
    public_id = storage.direct_upload_id(kind)  # recorded now where the signature fixes it, else on arrival
    row = uploads_sql.create(user_id=user.id, kind=kind, declared_type=content_type.lower(), declared_size=size,
                             storage=storage.name, public_id=public_id, ttl_seconds=get_settings().upload_ttl_seconds)
    direct = storage.sign_upload(upload_id=row["id"], public_id=public_id, kind=kind, content_type=content_type.lower())
    expires_at: dt.datetime = row["expires_at"]
    data: dict[str, Any] = {"uploadId": str(row["id"]), "method": direct.method, "url": direct.url,
                            "expiresAt": expires_at}
    if direct.headers:
        data["headers"] = direct.headers
    if direct.fields:
        data["fields"] = direct.fields
    return data


def receive(upload_id: uuid.UUID, *, expires: str | None, signature: str | None,
            upload: UploadedFile) -> dict[str, Any]:
    """Our own upload endpoint (where the store takes bytes through us): check the signed URL, the size and the
    content, then store."""
    storage = get_storage()
    if not storage.upload_signature_valid(upload_id, expires, signature):
        raise errors.NotFound("Upload not found or expired")
    with db.transaction():
        row = uploads_sql.get_pending(upload_id=upload_id)
        if row is None:
            raise errors.NotFound("Upload not found, expired or already used")
        kind = row["kind"]
        if upload.size == 0:
            raise errors.BadRequest("Upload body is empty")
        if upload.size > min(row["declared_size"], _limit(kind)):
            raise errors.PayloadTooLarge(f"Upload larger than the {row['declared_size']} bytes it was signed for")
        mime = upload.sniff()
        if mime not in _allowed_types(kind):
            raise errors.UnsupportedMediaType("Uploaded bytes are not a " + ("supported video" if kind == "video"
                                                                              else "JPG, PNG, or WEBP image"))
        if kind == "video":
            try:
                probe_video(upload.path)
            except ProbeError as exc:
                raise errors.ValidationFailed(f"Video file could not be read: {exc}") from None
        stored = storage.save(upload.path, kind=kind, mime=mime)
        try:
            uploads_sql.mark_received(upload_id=upload_id, public_id=stored.public_id, url=stored.url,
                                      stored_size=upload.size, stored_type=mime)
        except BaseException:
            storage.delete(stored.public_id, resource_type=stored.resource_type)
            raise
    return {"uploadId": str(upload_id), "size": upload.size, "contentType": mime}


# ------------------------------------------------------------------ registration: a video from uploaded bytes


def register_uploads(user: CurrentUser, *, title: str, description: str, video_upload_id: uuid.UUID,
                     thumbnail_upload_id: uuid.UUID, comment_policy: str = "open",
                     privacy: tuple[str, dt.datetime | None] = ("public", None),
                     tags: list[str] | None = None) -> dict[str, Any]:
    """Publish a video whose bytes arrived by direct upload; facts are read from storage, not the client.
    `privacy`: (privacy, publish_at), as videos.publish takes it."""
    ensure_processing_capacity()
    try:
        row, sync = _register_in_transaction(user, title, description, video_upload_id, thumbnail_upload_id,
                                             comment_policy, privacy, tags)
    except _RejectedUpload as rejected:
        # The transaction is rolled back now, so the clean-up it would have recorded must happen here.
        schedule_deletion(rejected.public_id, rejected.resource_type)
        raise rejected.error from None
    if sync is not None:
        jobs.run_now(sync)  # uploaded bytes are nobody's to read until now: a new public video's become readable
    return row


class _RejectedUpload(Exception):
    def __init__(self, error: errors.AppError, public_id: str, resource_type: str) -> None:
        super().__init__(error.message)
        self.error, self.public_id, self.resource_type = error, public_id, resource_type


def _register_in_transaction(user: CurrentUser, title: str, description: str, video_upload_id: uuid.UUID,
                             thumbnail_upload_id: uuid.UUID,
                             comment_policy: str = "open", privacy: tuple[str, dt.datetime | None] = ("public", None),
                             tags: list[str] | None = None) -> tuple[dict[str, Any], uuid.UUID | None]:
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
            height=video_facts.get("height"), storage=storage.name, media_node=media_node(),
            comment_policy=comment_policy, privacy=privacy[0], publish_at=privacy[1], tags=tags)
        jobs.enqueue("process_video", {"video_id": str(row["id"])}, node=media_node())
        notifications.visibility_changed(row["id"], was_public=False, is_public=row["is_published"])
        sync = schedule_sync(row["id"])
        cached.forget_feed()
    return row, sync


def _stored_upload_facts(upload: dict[str, Any]) -> dict[str, Any]:
    """Size, type, URL (and for a video its duration) of what really reached storage for an upload."""
    storage = get_storage()
    kind = upload["kind"]
    if upload["storage"] != storage.name:
        raise errors.Conflict("Upload was made for another storage backend")
    resource_type = "video" if kind == "video" else "image"
    try:
        # No public id yet: the bytes have not come through our upload endpoint (where the store takes them so).
        described = storage.describe(upload["public_id"], resource_type=resource_type) if upload["public_id"] else None
    except ProbeError as exc:
        raise errors.ValidationFailed(f"Video file could not be read: {exc}") from None
    if described is None:
        raise errors.Conflict("Upload has not received its file yet")
    size = described.size
    limit = get_settings().max_video_bytes if kind == "video" else get_settings().max_image_bytes
    fmt = described.format
    allowed = VIDEO_FORMATS if kind == "video" else IMAGE_FORMATS
    if size > limit or fmt not in allowed:
        error = (too_large("videoFile" if kind == "video" else kind, limit) if size > limit else
                 errors.UnsupportedMediaType(VIDEO_FORMAT_MESSAGE if kind == "video" else
                                             IMAGE_FORMAT_MESSAGE))
        raise _RejectedUpload(error, upload["public_id"], resource_type)
    return {"url": storage.url_for(upload["public_id"], resource_type=resource_type, private=False), "size": size,
            "type": allowed[fmt], "duration": described.duration, "width": described.width,
            "height": described.height}
