"""The storage interface every adapter implements."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

# What is being stored → the folder (local) or Cloudinary folder it goes to, and its resource type.
FOLDERS: dict[str, tuple[str, str]] = {
    "avatar": ("avatars", "image"),
    "coverImage": ("covers", "image"),
    "thumbnail": ("thumbnails", "image"),
    "video": ("videos", "video"),
}


@dataclass(frozen=True)
class StoredFile:
    public_id: str
    url: str
    resource_type: str
    size: int
    format: str
    duration: float | None = None


class Storage(Protocol):
    name: str

    def save(self, path: Path, *, kind: str, mime: str) -> StoredFile:
        """Store the file at `path` (which the caller then removes) and say where it lives."""

    def delete(self, public_id: str, *, resource_type: str) -> None:
        """Remove a stored file; removing one that is already gone is not an error."""
