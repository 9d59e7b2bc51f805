"""Every SQL statement that touches video_captions, and the video's summary of them (videos.caption_tracks)."""

from __future__ import annotations

import uuid
from typing import Any

from shared import db


def lock_video(*, video_id: uuid.UUID) -> dict[str, Any] | None:
    """The video's row, locked for the rest of the transaction: caption writes of one video go one at a time, so
    the summary each writes (`refresh_tracks`) is made from every committed track."""
    return db.fetch_one("SELECT id, user_id, privacy FROM videos WHERE id = :id FOR UPDATE", id=video_id)


def upsert(*, video_id: uuid.UUID, language: str, label: str, vtt: str, etag: str) -> dict[str, Any]:
    """Add or replace the video's track in `language`; `created` says which."""
    row = db.fetch_one(
        "INSERT INTO video_captions (video_id, language, label, vtt, etag) VALUES (:video, :language, :label, :vtt,"
        " :etag) ON CONFLICT (video_id, language) DO UPDATE SET label = EXCLUDED.label, vtt = EXCLUDED.vtt,"
        " etag = EXCLUDED.etag, updated_at = now()"
        # xmax is 0 on a freshly inserted row version, the updating transaction's id on an updated one
        " RETURNING language, label, octet_length(vtt) AS size, updated_at, (xmax = 0) AS created",
        video=video_id, language=language, label=label, vtt=vtt, etag=etag)
    assert row is not None
    return row


def delete(*, video_id: uuid.UUID, language: str) -> bool:
    return db.execute("DELETE FROM video_captions WHERE video_id = :video AND language = :language",
                      video=video_id, language=language) == 1


def refresh_tracks(*, video_id: uuid.UUID) -> list[dict[str, Any]]:
    """Rewrite the video's summary of its tracks from the tracks themselves; the summary."""
    tracks = db.fetch_value(
        "UPDATE videos SET caption_tracks = (SELECT coalesce(jsonb_agg(jsonb_build_object('language', c.language,"
        " 'label', c.label) ORDER BY c.language), '[]'::jsonb) FROM video_captions c WHERE c.video_id = :id)"
        " WHERE id = :id RETURNING caption_tracks", id=video_id)
    return list(tracks or [])


def get(*, video_id: uuid.UUID, language: str) -> dict[str, Any] | None:
    return db.fetch_one(
        "SELECT language, label, vtt, etag, octet_length(vtt) AS size, updated_at FROM video_captions"
        " WHERE video_id = :video AND language = :language", video=video_id, language=language)


def stream_facts(*, video_id: uuid.UUID) -> dict[str, Any] | None:
    """What the captioned stream is made of: the video's length, its published master playlist and its tracks."""
    return db.fetch_one("SELECT id, is_published, duration, hls_master_public_id, caption_tracks FROM videos"
                        " WHERE id = :id", id=video_id)
