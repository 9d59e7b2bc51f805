"""GET /api/v2/media/...: the files on this node's disk (`get_disk_store`), with ETag, caching and HTTP Range (206)."""

from __future__ import annotations

from chalice import Blueprint, Response

from shared import errors
from shared.media.serving import serve_file
from shared.openapi import doc
from shared.sql import videos as videos_sql
from shared.storage import get_disk_store
from shared.storage.base import MEDIA_FOLDERS, PRIVATE_FOLDERS
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


def _serve_hls(video_id: str, public_id: str) -> Response:
    """HLS playlists, segments and the poster; an unpublished video's only with the signature over its stream,
    which is then carried into every URI of the playlists served (so the player's next requests pass too)."""
    request = bp.current_request
    store = get_disk_store()
    found = store.disk_file(public_id)  # None for anything but a file of a video's HLS output on this node
    if found is None or not found.path.is_file():
        raise errors.NotFound("Media not found")
    published = videos_sql.visibility_of_stream(video_id=video_id)
    if published is None:
        raise errors.NotFound("Media not found")
    query = ""
    if not published:
        expires, signature = query_param(request, "expires"), query_param(request, "signature")
        if not store.signed_url_valid(public_id, expires, signature):
            raise errors.NotFound("Media not found")
        query = f"expires={expires}&signature={signature}"
    if found.path.suffix == ".m3u8" and query:
        lines = [line if not line.strip() or line.startswith("#") else f"{line}?{query}"
                 for line in found.path.read_text().splitlines()]
        return Response(body=("\n".join(lines) + "\n").encode(), status_code=200,
                        headers={"Content-Type": found.content_type, "Cache-Control": "private, no-store"})
    cache = "public, max-age=60" if found.path.suffix == ".m3u8" else None
    return serve_file(request, found.path, found.content_type, cache_control=cache if published else
                      "private, max-age=300")


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
