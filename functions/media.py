"""GET /api/v2/media/...: the files on this node's disk (`get_disk_store`), with ETag, caching and HTTP Range (206),
and the playlists of streams kept in an object store."""

from __future__ import annotations

import uuid

from chalice import Blueprint, Response

from shared import errors
from shared.media.serving import serve_file
from shared.openapi import doc
from shared.sql import videos as videos_sql
from shared.storage import get_disk_store, get_storage
from shared.storage.base import HLS_TYPES, MEDIA_FOLDERS, PRIVATE_FOLDERS
from shared.web.request import query_param

bp = Blueprint(__name__)


@bp.route("/hls/{video_id}/{name}", methods=["GET", "HEAD"])
@doc("An HLS master playlist or poster", public=True)
def get_hls_file(video_id: str, name: str) -> Response:
    return _serve_hls(video_id, f"hls/{video_id}/{name}")


@bp.route("/hls/{video_id}/{rendition}/{name}", methods=["GET", "HEAD"])
@doc("An HLS rendition playlist or segment", public=True)
def get_hls_segment(video_id: str, rendition: str, name: str) -> Response:
    return _serve_hls(video_id, f"hls/{video_id}/{rendition}/{name}")


@bp.route("/hls/{video_id}/{generation}/{rendition}/{name}", methods=["GET", "HEAD"])
@doc("An HLS rendition playlist of a stream kept in an object store (one folder per published generation)",
     public=True)
def get_stored_hls_playlist(video_id: str, generation: str, rendition: str, name: str) -> Response:
    return _serve_hls(video_id, f"hls/{video_id}/{generation}/{rendition}/{name}")


def _serve_hls(video_id: str, public_id: str) -> Response:
    """HLS output: this node's files (the local store's) from disk; else the configured store's playlists (an object
    store's segments are fetched from the store itself, through the URLs its playlists carry). An unpublished video's
    only with the signature over its stream, which every playlist served then carries on to the player's next
    requests."""
    request = bp.current_request
    disk = get_disk_store()
    found = disk.disk_file(public_id)  # None for anything but a file of a video's HLS output on this node
    if found is not None and not found.path.is_file():
        found = None
    store = disk if found is not None else get_storage()
    published = _stream_published(video_id)
    if published is None:
        raise errors.NotFound("Media not found")
    query = ""
    if not published:
        expires, signature = query_param(request, "expires"), query_param(request, "signature")
        if not store.signed_url_valid(public_id, expires, signature):
            raise errors.NotFound("Media not found")
        query = f"expires={expires}&signature={signature}"
    if found is not None and not (query and found.path.suffix in (".m3u8", ".vtt")):  # .vtt: a storyboard track
        cache = _playlist_cache(public_id) if found.path.suffix in (".m3u8", ".vtt") else None
        return serve_file(request, found.path, found.content_type, cache_control=cache if published else
                          "private, max-age=300")
    playlist = store.stream_playlist(public_id, signed_query=query)
    if playlist is None:
        raise errors.NotFound("Media not found")
    return Response(body=playlist.encode(), status_code=200,
                    headers={"Content-Type": HLS_TYPES[public_id.rsplit(".", 1)[1]],
                             "Cache-Control": _playlist_cache(public_id) if published else "private, no-store"})


def _playlist_cache(public_id: str) -> str:
    """The master playlist grows while the ladder is made (players re-read it): cached briefly; the others are
    written once."""
    return "public, max-age=5" if public_id.endswith("/master.m3u8") else "public, max-age=60"


def _stream_published(video_id: str) -> bool | None:
    """Whether the video a stream belongs to is published; None when there is no such video (or no such id)."""
    try:
        uuid.UUID(video_id)
    except ValueError:
        return None
    return videos_sql.visibility_of_stream(video_id=video_id)


@bp.route("/{folder}/{name}", methods=["GET", "HEAD"])
@doc("A stored file (Range, ETag); private media need their signed URL", public=True)
def get_media(folder: str, name: str) -> Response:
    request = bp.current_request
    store = get_disk_store()
    public_id = f"{folder}/{name}"
    # Stored media only: a video's HLS output is served above, behind its stream's own visibility check.
    found = store.disk_file(public_id) if folder in MEDIA_FOLDERS else None
    if found is None or not found.path.is_file():
        raise errors.NotFound("Media not found")
    cache = None
    if folder in PRIVATE_FOLDERS and not videos_sql.visibility_of_media(public_id=public_id):
        # Unpublished (or not yet registered): only through the expiring signed URL its owner was given.
        if not store.signed_url_valid(public_id, query_param(request, "expires"), query_param(request, "signature")):
            raise errors.NotFound("Media not found")
        cache = "private, max-age=300"
    return serve_file(request, found.path, found.content_type, cache_control=cache)
