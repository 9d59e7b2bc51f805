"""How a stored video is shown: its delivery URLs (signed and expiring while it is unpublished) and its shapes
(`Out.shape`: rows of our own SQL, a page of them per request, mapped to the wire keys without a model per row)."""

from __future__ import annotations

from typing import Any

from shared.schemas.videos import VideoOut, VideoWithOwner
from shared.services import caption_links, progressive_hls
from shared.storage import get_storage


def _urls(row: dict[str, Any]) -> dict[str, Any]:
    """Delivery URLs: the media of a video that is not public (unlisted or private: `is_published` is false) only
    through expiring signed URLs, for whoever may open it (shared.services.visibility)."""
    private = not row["is_published"]
    storage = get_storage()
    urls: dict[str, Any] = {}
    captioned = bool(row.get("caption_tracks"))
    query = caption_links.query_for(row) if captioned else ""
    if row.get("hls_master_public_id"):
        urls["hls_url"] = storage.hls_url(row["hls_master_public_id"], private=private)
        urls["poster_url"] = storage.poster_url(row["poster_public_id"], private=private)
        if captioned and not storage.makes_own_streams:
            # Our stream with captions: its master through our route, which adds the SUBTITLES group (a store that
            # makes its own streams serves its own master, which we cannot add to).
            urls["hls_url"] = caption_links.master_url(row["id"], query)
    urls["captions"] = caption_links.tracks(row, query) if captioned else []
    urls.update(progressive_hls.stream_fields(row, storage, private=private))  # playable, renditions, storyboard
    urls["video_file_url"] = storage.delivery_url(row["video_file_public_id"], resource_type="video", private=private,
                                                  stored_url=row["video_file_url"])
    urls["thumbnail_url"] = storage.delivery_url(row["thumbnail_public_id"], resource_type="image", private=private,
                                                 stored_url=row["thumbnail_url"])
    return urls


def present(row: dict[str, Any]) -> dict[str, Any]:
    return VideoOut.shape({**row, **_urls(row)})


def present_with_owner(row: dict[str, Any]) -> dict[str, Any]:
    owner = {"fullname": row["owner_fullname"], "username": row["owner_username"], "avatar": row["owner_avatar"]}
    return VideoWithOwner.shape({**row, **_urls(row), "user": owner})
