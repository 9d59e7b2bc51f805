"""An uploaded file on disk, and the checks every upload passes: its size and its real type (by content,
never the client's word)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shared import errors
from shared.media.probe import ProbeError, VideoFacts, probe_video
from shared.media.types import IMAGE_TYPES, VIDEO_FORMAT_MESSAGE, VIDEO_TYPES, sniff_file
from shared.settings import get_settings

# How each file field is named in messages ("Avatar must be smaller than 10MB").
LABELS = {"avatar": "Avatar", "coverImage": "Cover Image", "thumbnail": "Thumbnail", "videoFile": "Video file"}
MB = 1024 * 1024


@dataclass
class UploadedFile:
    field: str
    path: Path
    filename: str
    declared_type: str
    size: int = 0

    def sniff(self) -> str | None:
        return sniff_file(self.path) if self.size else None


def too_large(field_name: str, limit: int) -> errors.PayloadTooLarge:
    label = LABELS.get(field_name, field_name)
    return errors.PayloadTooLarge(f"{label} must be smaller than {limit // MB}MB")


def check_image(upload: UploadedFile) -> str:
    """Validate an image by size and content; return its real MIME type."""
    limit = get_settings().max_image_bytes
    if upload.size > limit:
        raise too_large(upload.field, limit)
    mime = upload.sniff()
    if mime not in IMAGE_TYPES:
        raise errors.BadRequest(f"{LABELS.get(upload.field, upload.field)} must be a JPG, PNG, or WEBP")
    return mime


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
