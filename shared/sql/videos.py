"""Every SQL statement that touches videos."""

from __future__ import annotations

from shared import db

_NAMES = ("id", "video_file_url", "video_file_public_id", "thumbnail_url", "thumbnail_public_id", "title",
          "description", "views", "duration", "is_published", "user_id", "created_at", "updated_at",
          "processing_status", "has_transcript", "allow_public_qna")


def _columns(alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(f"{prefix}{n}::text AS {n}" if n == "processing_status" else f"{prefix}{n}" for n in _NAMES)


VIDEO_COLUMNS = _columns()
VIDEO_COLUMNS_V = _columns("v")  # the same columns read through the alias `v`, for joins


def insert(*, user_id, title: str, description: str, video_file_url: str, video_file_public_id: str,
           thumbnail_url: str, thumbnail_public_id: str, duration: float, is_published: bool = True,
           processing_status: str = "PROCESSING") -> dict:
    row = db.fetch_one(
        "INSERT INTO videos (user_id, title, description, video_file_url, video_file_public_id, thumbnail_url,"
        " thumbnail_public_id, duration, is_published, processing_status)"
        " VALUES (:uid, :title, :description, :vurl, :vpid, :turl, :tpid, :duration, :published,"
        " CAST(:status AS processing_status))"
        f" RETURNING {VIDEO_COLUMNS}",
        uid=user_id, title=title, description=description, vurl=video_file_url, vpid=video_file_public_id,
        turl=thumbnail_url, tpid=thumbnail_public_id, duration=duration, published=is_published,
        status=processing_status,
    )
    assert row is not None
    return row
