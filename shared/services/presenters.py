"""How a stored video is shown: its delivery URLs (signed and expiring while it is unpublished) and its shapes
(`Out.shape`: rows of our own SQL, a page of them per request, mapped to the wire keys without a model per row)."""

from __future__ import annotations

from typing import Any

from shared.schemas.videos import VideoOut, VideoWithOwner
from shared.storage import get_storage


def _urls(row: dict[str, Any]) -> dict[str, str | None]:
    """Delivery URLs: the media of a video that is not public (unlisted or private: `is_published` is false) only
    through expiring signed URLs, for whoever may open it (shared.services.visibility)."""
    private = not row["is_published"]
    storage = get_storage()
    urls: dict[str, str | None] = {}
    if row.get("hls_master_public_id"):
        urls["hls_url"] = storage.hls_url(row["hls_master_public_id"], private=private)
        urls["poster_url"] = storage.poster_url(row["poster_public_id"], private=private)
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
