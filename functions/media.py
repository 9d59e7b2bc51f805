"""GET /api/v2/media/{folder}/{name}: files of the local store, with ETag, caching and HTTP Range (206)."""

from __future__ import annotations

from chalice import Blueprint, Response

from shared import errors
from shared.http import query_param
from shared.media_serving import serve_file
from shared.settings import get_settings
from shared.sql import videos as videos_sql
from shared.storage.local import LocalStorage

PRIVATE_CAPABLE_FOLDERS = {"videos", "thumbnails"}

bp = Blueprint(__name__)


@bp.route("/{folder}/{name}", methods=["GET", "HEAD"])
def get_media(folder: str, name: str) -> Response:
    request = bp.current_request
    settings = get_settings()
    store = LocalStorage(settings.media_dir, settings.public_url, settings.media_url_secret)
    public_id = f"{folder}/{name}"
    path = store.resolve(public_id)
    if path is None or not path.is_file():
        raise errors.NotFound("Media not found")
    cache = None
    if folder in PRIVATE_CAPABLE_FOLDERS and not videos_sql.visibility_of_media(public_id=public_id):
        # Unpublished (or not yet registered): only through the expiring signed URL its owner was given.
        if not store.signature_valid(public_id, query_param(request, "expires"), query_param(request, "signature")):
            raise errors.NotFound("Media not found")
        cache = "private, max-age=300"
    return serve_file(request, path, store.content_type(public_id), cache_control=cache)
