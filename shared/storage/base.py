"""The storage interface every adapter implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

# What is being stored → the folder (local) or Cloudinary folder it goes to, and its resource type.
FOLDERS: dict[str, tuple[str, str]] = {
    "avatar": ("avatars", "image"),
    "coverImage": ("covers", "image"),
    "thumbnail": ("thumbnails", "image"),
    "video": ("videos", "video"),
}
# Media that can belong to an unpublished video: reachable only through signed URLs while it does.
PRIVATE_CAPABLE = {"video", "thumbnail"}
PRIVATE_FOLDERS = {FOLDERS[kind][0] for kind in PRIVATE_CAPABLE}
SIGNED_URL_TTL = 3600


@dataclass(frozen=True)
class StoredFile:
    public_id: str
    url: str
    resource_type: str
    size: int
    format: str
    duration: float | None = None


@dataclass(frozen=True)
class DirectUpload:
    """How a client sends bytes straight to storage."""

    method: str
    url: str
    public_id: str | None
    headers: dict[str, str] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)


class Storage(Protocol):
    name: str

    def save(self, path: Path, *, kind: str, mime: str) -> StoredFile:
        """Store the file at `path` (which the caller then removes) and say where it lives."""

    def delete(self, public_id: str, *, resource_type: str) -> None:
        """Remove a stored file; removing one that is already gone is not an error."""

    def url_for(self, public_id: str, *, resource_type: str, private: bool) -> str:
        """The HTTPS (or local) URL to deliver a file; an expiring signed one when `private`."""

    def hls_url(self, master_public_id: str, *, private: bool) -> str:
        """The adaptive stream's master playlist (local HLS output, or Cloudinary's sp_auto stream)."""

    def poster_url(self, poster_public_id: str, *, private: bool) -> str:
        """The poster frame taken from the video."""
