"""GET /api/v2/media/{folder}/{name}: files of the local store, with ETag, caching and HTTP Range (206)."""

from __future__ import annotations

from chalice import Blueprint, Response

from shared import errors
from shared.http import query_param
from shared.media_serving import serve_file
from shared.settings import get_settings
from shared.sql import videos as videos_sql
from shared.storage.base import PRIVATE_FOLDERS
from shared.storage.local import LocalStorage

bp = Blueprint(__name__)


@bp.route("/hls/{video_id}/{name}", methods=["GET", "HEAD"])
def get_hls_file(video_id: str, name: str) -> Response:
    return _serve_hls(f"hls/{video_id}/{name}")


@bp.route("/hls/{video_id}/{rendition}/{name}", methods=["GET", "HEAD"])
def get_hls_segment(video_id: str, rendition: str, name: str) -> Response:
    return _serve_hls(f"hls/{video_id}/{rendition}/{name}")


def _serve_hls(path: str) -> Response:
    """HLS playlists, segments and the poster; an unpublished video's only with the signature over its folder,
    which is then carried into every URI of the playlists served (so the player's next requests pass too)."""
    request = bp.current_request
    store = _store()
    found = store.resolve_hls(path)
    if found is None or not found[0].is_file():
        raise errors.NotFound("Media not found")
    file, content_type, video_id = found
    published = videos_sql.visibility_of_stream(video_id=video_id)
    if published is None:
        raise errors.NotFound("Media not found")
    query = ""
    if not published:
        expires, signature = query_param(request, "expires"), query_param(request, "signature")
        if not store.signature_valid(f"hls/{video_id}", expires, signature):
            raise errors.NotFound("Media not found")
        query = f"expires={expires}&signature={signature}"
    if file.suffix == ".m3u8" and query:
        lines = [line if not line.strip() or line.startswith("#") else f"{line}?{query}"
                 for line in file.read_text().splitlines()]
        return Response(body=("\n".join(lines) + "\n").encode(), status_code=200,
                        headers={"Content-Type": content_type, "Cache-Control": "private, no-store"})
    cache = "public, max-age=60" if file.suffix == ".m3u8" else None
    return serve_file(request, file, content_type, cache_control=cache if published else "private, max-age=300")


def _store() -> LocalStorage:
    settings = get_settings()
    return LocalStorage(settings.media_dir, settings.public_url, settings.media_url_secret)


@bp.route("/{folder}/{name}", methods=["GET", "HEAD"])
def get_media(folder: str, name: str) -> Response:
    request = bp.current_request
    store = _store()
    public_id = f"{folder}/{name}"
    path = store.resolve(public_id)
    if path is None or not path.is_file():
        raise errors.NotFound("Media not found")
    cache = None
    if folder in PRIVATE_FOLDERS and not videos_sql.visibility_of_media(public_id=public_id):
        # Unpublished (or not yet registered): only through the expiring signed URL its owner was given.
        if not store.signature_valid(public_id, query_param(request, "expires"), query_param(request, "signature")):
            raise errors.NotFound("Media not found")
        cache = "private, max-age=300"
    return serve_file(request, path, store.content_type(public_id), cache_control=cache)
