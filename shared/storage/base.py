"""The storage interface every adapter implements: every operation a caller needs, so none asks which backend runs.

What a backend cannot do it says by design (a None, a False, a typed error), never by callers comparing its name.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
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
MEDIA_FOLDERS = {folder for folder, _ in FOLDERS.values()}
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
class StoredObject:
    """What storage holds under a public id, as measured there (never the client's word)."""

    size: int
    format: str  # lower-case extension: jpg, png, webp, mp4, webm, mkv, mov
    duration: float | None = None
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class DiskFile:
    """A stored object's bytes on this node's disk, and the content type to serve them with."""

    path: Path
    content_type: str


@dataclass(frozen=True)
class DirectUpload:
    """How a client sends bytes straight to storage."""

    method: str
    url: str
    public_id: str | None
    headers: dict[str, str] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StreamEvent:
    """A store's word that the adaptive stream it makes of a video is ready (`ok`), or why it is not."""

    video_public_id: str
    ok: bool
    reason: str | None = None


@dataclass(frozen=True)
class PublishedStream:
    """Where a video's published HLS output lives: its master playlist and poster frame."""

    master_public_id: str
    poster_public_id: str


class Storage(Protocol):
    name: str
    """The backend's name as recorded in rows (`storage` columns, delete jobs): data to compare, not to branch on."""
    node_local: bool
    """Files live on this node's disk: work on them (probing, transcoding, deleting) is pinned to this node."""
    makes_own_streams: bool
    """The store makes each video's HLS stream itself and says so by notification, instead of us transcoding it."""

    # ------------------------------------------------------------------ storing and delivering

    def save(self, path: Path, *, kind: str, mime: str) -> StoredFile:
        """Store the file at `path` (which the caller then removes) and say where it lives."""

    def delete(self, public_id: str, *, resource_type: str) -> None:
        """Remove a stored file (resource type "hls": a video's whole stream folder, `stream_folder`);
        removing one that is already gone is not an error."""

    def url_for(self, public_id: str, *, resource_type: str, private: bool) -> str:
        """The HTTPS (or local) URL to deliver a file; an expiring signed one when `private`."""

    def delivery_url(self, public_id: str, *, resource_type: str, private: bool, stored_url: str) -> str:
        """The URL to hand a client now: `stored_url` (recorded when the file was stored) where it stays valid,
        otherwise a fresh `url_for`."""

    def hls_url(self, master_public_id: str, *, private: bool) -> str:
        """The adaptive stream's master playlist (local HLS output, or Cloudinary's sp_auto stream)."""

    def poster_url(self, poster_public_id: str, *, private: bool) -> str:
        """The poster frame taken from the video."""

    def signed_url_valid(self, public_id: str, expires: str | None, signature: str | None) -> bool:
        """Whether an expiring signed URL this store handed out for `public_id` is genuine and fresh (a file of a
        video's HLS output is covered by the signature over its stream). False where the store's URLs are checked
        by the store itself, not by us."""

    # ------------------------------------------------------------------ reading what is stored

    def describe(self, public_id: str, *, resource_type: str) -> StoredObject | None:
        """What is stored under a public id (a video's duration and frame size included), or None when nothing is
        there. A stored video that cannot be read raises `shared.media.probe.ProbeError`."""

    def disk_file(self, public_id: str) -> DiskFile | None:
        """A stored object's file on this node's disk (media files and HLS output alike), whether or not it exists
        yet; None when the id is not one of ours or the store keeps no files on this node."""

    # ------------------------------------------------------------------ direct uploads

    def direct_upload_id(self, kind: str) -> str | None:
        """The public id a direct upload of this kind will have, where the store fixes it at signing; None where
        it is chosen when the bytes arrive through our own upload endpoint."""

    def sign_upload(self, *, upload_id: uuid.UUID, public_id: str | None, kind: str,
                    content_type: str) -> DirectUpload:
        """How the client sends the bytes of upload `upload_id` (public id from `direct_upload_id`)."""

    def upload_signature_valid(self, upload_id: uuid.UUID, expires: str | None, signature: str | None) -> bool:
        """Whether a signed upload URL for our own upload endpoint is genuine and fresh; False where the bytes go
        straight to the store and never through us."""

    # ------------------------------------------------------------------ adaptive streams (HLS)

    def hls_workdir(self, video_id: uuid.UUID) -> Path:
        """An empty place on this node's disk to write a video's HLS output before `publish_hls`.
        Raises `errors.StorageUnsupported` where the store makes its own streams."""

    def publish_hls(self, video_id: uuid.UUID, workdir: Path) -> PublishedStream:
        """Make the HLS output written in `workdir` the video's stream, replacing any previous one."""

    def stream_folder(self, video_id: uuid.UUID) -> str | None:
        """The public id (resource type "hls") of a video's own HLS output; None where the store derives the
        stream from the video and removes it with it."""

    def read_notification(self, body: bytes | str, headers: Mapping[str, str]) -> StreamEvent | None:
        """A notification the store posted to our webhook, checked (signature, age) and read: the stream event it
        reports, or None when it reports something else. Raises `errors.NotFound` where the store sends none,
        `errors.NotAuthenticated` for a forged or stale one and `errors.BadRequest` for one that is not JSON."""
