"""Every SQL statement that touches videos."""

from __future__ import annotations

_NAMES = ("id", "video_file_url", "video_file_public_id", "thumbnail_url", "thumbnail_public_id", "title",
          "description", "views", "duration", "is_published", "user_id", "created_at", "updated_at",
          "processing_status", "has_transcript", "allow_public_qna")


def _columns(alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(f"{prefix}{n}::text AS {n}" if n == "processing_status" else f"{prefix}{n}" for n in _NAMES)


VIDEO_COLUMNS = _columns()
VIDEO_COLUMNS_V = _columns("v")  # the same columns read through the alias `v`, for joins
