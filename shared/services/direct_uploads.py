"""Direct uploads: sign where the bytes go, receive them (local store), and hand them to registration."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from shared import db, errors
from shared.auth import CurrentUser
from shared.media_probe import ProbeError, probe_video
from shared.media_types import IMAGE_TYPES, VIDEO_TYPES
from shared.settings import get_settings
from shared.sql import uploads as uploads_sql
from shared.storage import DirectUpload, get_storage
from shared.uploads import UploadedFile, too_large

KINDS = ("video", "thumbnail", "avatar", "coverImage")
_FIELD_FOR_KIND = {"video": "videoFile", "thumbnail": "thumbnail", "avatar": "avatar", "coverImage": "coverImage"}


def _allowed_types(kind: str) -> dict[str, str]:
    return VIDEO_TYPES if kind == "video" else IMAGE_TYPES


def _limit(kind: str) -> int:
    settings = get_settings()
    return settings.max_video_bytes if kind == "video" else settings.max_image_bytes


def local_upload_key(upload_id: uuid.UUID) -> str:
    return f"upload:{upload_id}"


def sign(user: CurrentUser, *, kind: str, content_type: str, size: int) -> dict[str, Any]:
    if content_type.lower() not in _allowed_types(kind):
        names = "MP4, WEBM, MKV, or MOV" if kind == "video" else "JPG, PNG, or WEBP"
        raise errors.UnsupportedMediaType(f"contentType must be one of {names} for {kind}")
    if size > _limit(kind):
        raise too_large(_FIELD_FOR_KIND[kind], _limit(kind))
    storage = get_storage()
    ttl = get_settings().upload_ttl_seconds
    direct: DirectUpload | None = None
    if storage.name == "cloudinary":
        direct = storage.sign_upload(kind=kind, ttl_seconds=ttl)  # type: ignore[attr-defined]
    row = uploads_sql.create(user_id=user.id, kind=kind, declared_type=content_type.lower(), declared_size=size,
                             storage=storage.name, public_id=direct.public_id if direct else None, ttl_seconds=ttl)
    if direct is None:
        # The local store's own endpoint: a signed, expiring URL; the bytes are streamed to disk.
        signed = storage.url_for(local_upload_key(row["id"]), resource_type="raw", private=True)
        query = signed.split("?", 1)[1]
        direct = DirectUpload(method="PUT", url=f"{get_settings().public_url}/api/v2/uploads/{row['id']}?{query}",
                              public_id=None, headers={"Content-Type": content_type.lower()})
    expires_at: dt.datetime = row["expires_at"]
    data: dict[str, Any] = {"uploadId": str(row["id"]), "method": direct.method, "url": direct.url,
                            "expiresAt": expires_at}
    if direct.headers:
        data["headers"] = direct.headers
    if direct.fields:
        data["fields"] = direct.fields
    return data


def receive_local(upload_id: uuid.UUID, *, expires: str | None, signature: str | None,
                  upload: UploadedFile) -> dict[str, Any]:
    """The local store's upload endpoint: check the signed URL, the size and the content, then store."""
    storage = get_storage()
    if storage.name != "local" or not storage.signature_valid(  # type: ignore[attr-defined]
            local_upload_key(upload_id), expires, signature):
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
