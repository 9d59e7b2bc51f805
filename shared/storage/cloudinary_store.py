"""Media on Cloudinary through the official SDK (HTTPS delivery URLs only)."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import cloudinary
import cloudinary.uploader
from cloudinary.exceptions import Error as CloudinaryError

from shared import errors
from shared.storage.base import FOLDERS, StoredFile

log = logging.getLogger(__name__)

CHUNK_SIZE = 20 * 1024 * 1024


def parse_cloudinary_url(url: str) -> dict[str, str]:
    """cloudinary://key:secret@cloud?upload_prefix=... → SDK config keys."""
    parsed = urlparse(url)
    if parsed.scheme != "cloudinary" or not parsed.hostname or not parsed.username or not parsed.password:
        raise errors.InternalError("CLOUDINARY_URL must look like cloudinary://api_key:api_secret@cloud_name")
    config = {"cloud_name": parsed.hostname, "api_key": unquote(parsed.username),
              "api_secret": unquote(parsed.password)}
    for key, values in parse_qs(parsed.query).items():
        config[key] = values[-1]
    return config


class CloudinaryStorage:
    name = "cloudinary"

    def __init__(self, url: str) -> None:
        self.config = parse_cloudinary_url(url)
        cloudinary.config(secure=True, **self.config)
        self.cloud_name = self.config["cloud_name"]

    def save(self, path: Path, *, kind: str, mime: str) -> StoredFile:
        folder, resource_type = FOLDERS[kind]
        options = {"resource_type": resource_type, "folder": f"viztube/{folder}",
                   "public_id": uuid.uuid4().hex, "overwrite": False}
        try:
            if resource_type == "video":
                # Chunked: a 100 MB file goes up in 20 MB pieces, never read whole into memory.
                result = cloudinary.uploader.upload_large(str(path), chunk_size=CHUNK_SIZE, **options)
            else:
                result = cloudinary.uploader.upload(str(path), **options)
        except (CloudinaryError, OSError) as exc:
            log.error("cloudinary upload of %s failed: %s", kind, exc)
            raise errors.StorageFailed(f"Error uploading {kind}") from exc
        if not isinstance(result, dict) or not result.get("public_id"):
            raise errors.StorageFailed(f"Error uploading {kind}")
        return StoredFile(
            public_id=result["public_id"],
            url=result.get("secure_url") or str(result.get("url", "")).replace("http://", "https://", 1),
            resource_type=result.get("resource_type", resource_type),
            size=int(result.get("bytes") or path.stat().st_size),
            format=str(result.get("format") or ""),
            duration=float(result["duration"]) if result.get("duration") is not None else None,
        )

    def delete(self, public_id: str, *, resource_type: str) -> None:
        try:
            result = cloudinary.uploader.destroy(public_id, resource_type=resource_type, invalidate=True)
        except CloudinaryError as exc:
            raise errors.StorageFailed("Error deleting media") from exc
        if result.get("result") not in ("ok", "not found"):
            raise errors.StorageFailed(f"Error deleting media: {result.get('result')}")
