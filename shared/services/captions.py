"""Captions (issue #17, point 3): a video's owner adds, replaces and deletes a WebVTT track per language (SubRip
turned into WebVTT on the way in); whoever may open the video reads them (shared.services.visibility), and the HLS
stream offers them as a SUBTITLES group (`stream_master`).

Tracks live in the database (video_captions, migration 0020), not in the media store: they are small text files, so
a row keeps a replace in one transaction with the video's list of tracks (videos.caption_tracks, what every video
object shows), goes with the video by cascade, reads the same on every node and storage backend, and carries the
ETag that conditional GETs compare without reading the file.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import langcodes

from shared import cached, db, errors
from shared.auth import CurrentUser
from shared.media.captions import VTT, CaptionError, CaptionUpload, to_webvtt
from shared.media.master_playlist import SubtitleTrack, rebased, subtitle_playlist, timestamp_mapped, with_subtitles
from shared.services import caption_links
from shared.services.visibility import owned_video, visible_video
from shared.sql import captions as captions_sql
from shared.sql import videos as videos_sql
from shared.storage import get_disk_store, get_storage

MAX_TAG_LENGTH = 35  # RFC 5646 §4.4.1: the longest tag an implementation must be able to hold
_LANGUAGE_HELP = "language must be a BCP-47 language tag, such as en, en-US, pt-BR or zh-Hant"


def normalize_language(value: str) -> str:
    """A BCP-47 tag in its canonical form (en_us → en-US, iw → he, zh-yue → yue); 400 for anything else, and for a
    tag that names no language (und, a private-use x- tag)."""
    text = value.strip()
    if not text or len(text) > MAX_TAG_LENGTH:
        raise errors.BadRequest(_LANGUAGE_HELP)
    try:
        tag = langcodes.standardize_tag(text)
        language = langcodes.Language.get(tag).language
    except ValueError:  # langcodes' LanguageTagError is a ValueError
        raise errors.BadRequest(_LANGUAGE_HELP) from None
    # langcodes reads a private-use tag (x-…) as its language: it names none anyone else knows
    if not language or language == "und" or language.startswith("x-") or not langcodes.tag_is_valid(tag):
        raise errors.BadRequest(_LANGUAGE_HELP)
    return tag


def _etag(vtt: str) -> str:
    return '"' + hashlib.sha256(vtt.encode()).hexdigest()[:32] + '"'


def _converted(upload: CaptionUpload) -> tuple[str, int]:
    """The WebVTT text to store and its number of cues; a 400 naming the line the file breaks at."""
    try:
        vtt, cues = to_webvtt(upload.data, upload.kind)
    except CaptionError as exc:
        what = {None: "caption file", VTT: "WebVTT file"}.get(upload.kind, "SubRip file")
        raise errors.BadRequest(f"Invalid {what}, line {exc.line}: {exc.reason}",
                                errors=[f"line {exc.line}: {exc.reason}"]) from None
    return vtt, len(cues)


def put(user: CurrentUser, video_id: uuid.UUID, language: str, upload: CaptionUpload) -> tuple[dict[str, Any], bool]:
    """Add or replace the owner's track in `language` (normalised); the track as saved and whether it is new."""
    video = owned_video(video_id, user, "Only the video's owner can manage its captions")
    vtt, cues = _converted(upload)
    with db.transaction():
        # The row lock orders concurrent caption writes of this video (and sees a delete that won the race).
        if captions_sql.lock_video(video_id=video_id) is None:
            raise errors.NotFound("Video not found")
        row = captions_sql.upsert(video_id=video_id, language=language, label=upload.label or language, vtt=vtt,
                                  etag=_etag(vtt))
        captions_sql.refresh_tracks(video_id=video_id)
        cached.forget_video(video_id)  # every video object lists its captions (and the master carries them)
    url = caption_links.vtt_url(video_id, language, caption_links.query_for(video))
    return {**row, "url": url, "cues": cues}, bool(row["created"])


def delete(user: CurrentUser, video_id: uuid.UUID, language: str) -> None:
    owned_video(video_id, user, "Only the video's owner can manage its captions")
    with db.transaction():
        if captions_sql.lock_video(video_id=video_id) is None:
            raise errors.NotFound("Video not found")
        if not captions_sql.delete(video_id=video_id, language=language):
            raise errors.NotFound("Caption not found")
        captions_sql.refresh_tracks(video_id=video_id)
        cached.forget_video(video_id)


def list_for(viewer: CurrentUser, video_id: uuid.UUID) -> list[dict[str, Any]]:
    """The video's tracks, for whoever may open it."""
    video = visible_video(video_id, viewer)
    return caption_links.tracks(video, caption_links.query_for(video))


def read(viewer: CurrentUser, video_id: uuid.UUID, language: str) -> dict[str, Any]:
    """One track's WebVTT text (`vtt`) and `etag`, for whoever may open the video."""
    visible_video(video_id, viewer)
    return _track(video_id, language)


def _track(video_id: uuid.UUID, language: str) -> dict[str, Any]:
    row = captions_sql.get(video_id=video_id, language=language)
    if row is None:
        raise errors.NotFound("Caption not found")
    return row


# ------------------------------------------------------------------------------------ the media routes (no token)


def _stream(video_id: str, expires: str | None, signature: str | None) -> tuple[dict[str, Any], str]:
    """The video's stream facts and the signature its caption URLs carry; 404 (as for any media) unless the video
    is public (its stream's own rule: videos_sql.visibility_of_stream) or the URL is signed for its captions."""
    try:
        vid = uuid.UUID(video_id)
    except ValueError:
        raise errors.NotFound("Media not found") from None
    published = videos_sql.visibility_of_stream(video_id=str(vid))
    if published is None:
        raise errors.NotFound("Media not found")
    query = ""
    if not published:
        if not caption_links.signature_valid(vid, expires, signature):
            raise errors.NotFound("Media not found")
        query = f"expires={expires}&signature={signature}"
    facts = captions_sql.stream_facts(video_id=vid)
    if facts is None:
        raise errors.NotFound("Media not found")
    return facts, query


def media_track(video_id: str, language: str, expires: str | None, signature: str | None, *,
                segment: bool = False) -> dict[str, Any]:
    """A track's WebVTT for a <track> element, or (`segment`) as the segment of its subtitle playlist, its cue times
    mapped onto the stream's clock (with its own ETag: another body)."""
    facts, _ = _stream(video_id, expires, signature)
    track = _track(facts["id"], language)
    if segment:
        track = {**track, "vtt": timestamp_mapped(track["vtt"]), "etag": track["etag"][:-1] + '-ts"'}
    return track


def media_playlist(video_id: str, language: str, expires: str | None, signature: str | None) -> str:
    """The subtitle media playlist of one track (what the master's EXT-X-MEDIA URI points at)."""
    facts, query = _stream(video_id, expires, signature)
    if language not in {t["language"] for t in facts["caption_tracks"]}:
        raise errors.NotFound("Media not found")
    return subtitle_playlist(caption_links.segment_url(facts["id"], language, query), float(facts["duration"] or 0))


def stream_master(video_id: str, expires: str | None, signature: str | None) -> str:
    """The video's HLS master playlist as published, with its URIs made absolute (it is served from our captions
    route, not from beside its renditions) and its caption tracks as a SUBTITLES group."""
    facts, query = _stream(video_id, expires, signature)
    master_id = facts["hls_master_public_id"]
    storage = get_storage()
    if not master_id or storage.makes_own_streams:
        raise errors.NotFound("Media not found")
    # Where the master itself is published, and the signature over the stream its renditions need when not public.
    stream_url = storage.hls_url(master_id, private=not facts["is_published"])
    parts = urlsplit(stream_url)
    base = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    disk = get_disk_store()
    found = disk.disk_file(master_id)
    store = disk if found is not None and found.path.is_file() else storage
    text = store.stream_playlist(master_id, signed_query=parts.query)
    if text is None:
        raise errors.NotFound("Media not found")
    return with_subtitles(rebased(text, base), subtitle_tracks(facts, query))


def subtitle_tracks(video: dict[str, Any], query: str) -> list[SubtitleTrack]:
    """A video row's caption tracks (`id`, `caption_tracks`) as the SUBTITLES group lists them, their playlists
    signed with `query` (caption_links.query_for) where the video is not public: what `with_subtitles` takes."""
    return [SubtitleTrack(t["language"], t["label"], caption_links.playlist_url(video["id"], t["language"], query))
            for t in video.get("caption_tracks") or ()]
