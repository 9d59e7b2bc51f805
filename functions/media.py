"""GET /api/v2/media/{folder}/{name}: files of the local store, with ETag, caching and HTTP Range (206)."""

from __future__ import annotations

from chalice import Blueprint, Response

from shared import errors
from shared.media_serving import serve_file
from shared.settings import get_settings
from shared.storage.local import LocalStorage

bp = Blueprint(__name__)


@bp.route("/{folder}/{name}", methods=["GET", "HEAD"])
def get_media(folder: str, name: str) -> Response:
    settings = get_settings()
    store = LocalStorage(settings.media_dir, settings.public_url)
    public_id = f"{folder}/{name}"
    path = store.resolve(public_id)
    if path is None or not path.is_file():
        raise errors.NotFound("Media not found")
    return serve_file(bp.current_request, path, store.content_type(public_id))
