"""The storage interface every adapter implements: every operation a caller needs, so none asks which backend runs.

What a backend cannot do it says by design (a None, a False, a typed error), never by callers comparing its name.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

# What is being stored → the folder (local) or Cloudinary folder it goes to, and its resource type.
FOLDERS: dict[str, tuple[str, str]] = {
    "avatar": ("avatars", "image"),
    "coverImage": ("covers", "image"),
    "thumbnail": ("thumbnails", "image"),
    "video": ("videos", "video"),
    "export": ("exports", "raw"),  # a user's data export (a zip): never public, only through its signed link
}
MEDIA_FOLDERS = {folder for folder, _ in FOLDERS.values()}
# Media that can belong to an unpublished video (reachable only through signed URLs while it does), and data exports
# (always reachable only so).
PRIVATE_CAPABLE = {"video", "thumbnail", "export"}
PRIVATE_FOLDERS = {FOLDERS[kind][0] for kind in PRIVATE_CAPABLE}
SIGNED_URL_TTL = 3600
# Our media route (functions/media.py): a node's local files, and the playlists of an unpublished video's stream.
MEDIA_ROUTE = "/api/v2/media"
HLS_TYPES = {"m3u8": "application/vnd.apple.mpegurl", "ts": "video/mp2t", "jpg": "image/jpeg",
             "vtt": "text/vtt; charset=utf-8"}  # vtt: a stream's storyboard track (shared.media.storyboard)


class UrlSigner:
    """Expiring URLs signed by us (our own media and upload routes): an HMAC over a key and the expiry time."""

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    def _signature(self, key: str, expires: int) -> str:
        return hmac.new(self._secret, f"{key}:{expires}".encode(), hashlib.sha256).hexdigest()

    def query(self, key: str) -> str:
        """`expires=…&signature=…`, valid for SIGNED_URL_TTL seconds."""
        expires = int(time.time()) + SIGNED_URL_TTL
        return f"expires={expires}&signature={self._signature(key, expires)}"

    def valid(self, key: str, expires: str | None, signature: str | None) -> bool:
        """Genuine and fresh, checked in constant time."""
        if not expires or not signature or not (expires.isascii() and expires.isdigit()) or int(expires) < time.time():
            return False
        return hmac.compare_digest(self._signature(key, int(expires)).encode(), signature.encode())


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


class Assembly(Protocol):
    """Where a resumable upload's bytes gather until it is whole (shared.storage.assembly.DiskAssembly: a file on
    this node's disk; shared.storage.s3_multipart: the bucket's own multipart upload). Its state is a small JSON-able
    dict the caller keeps in the upload's row and hands back on every call, so any process, after a restart too, goes
    on where the last one stopped."""

    def start(self, upload_id: uuid.UUID, *, node: str | None, kind: str, mime: str) -> dict[str, Any]:
        """Begin gathering the bytes of an upload of `kind`, declared as `mime`; the state to keep."""

    def reachable(self, state: dict[str, Any], *, node: str | None) -> bool:
        """Whether this node (`node`) can append to or finish the upload (bytes on another node's disk: no)."""

    def append(self, state: dict[str, Any], *, offset: int, chunk: Path) -> dict[str, Any]:
        """Write the bytes of `chunk` at `offset` (the bytes received so far; anything stored past it, left by a
        request that died before recording its progress, is dropped first). The bytes are durable when this
        returns; the new state to keep."""

    def complete(self, state: dict[str, Any], *, kind: str, mime: str) -> StoredFile:
        """The whole upload, stored as a file of `kind`; nothing is left of the assembly."""

    def abort(self, state: dict[str, Any]) -> None:
        """Throw away what was gathered (idempotent)."""


class Storage(Protocol):
    name: str
    """The backend's name as recorded in rows (`storage` columns, delete jobs): data to compare, not to branch on."""
    node_local: bool
    """Files live on this node's disk: work on them (probing, transcoding, deleting) is pinned to this node."""
    makes_own_streams: bool
    """The store makes each video's HLS stream itself and says so by notification, instead of us transcoding it."""
    tracks_visibility: bool
    """Anyone may read a published video's media straight from the store (a bucket, a CDN in front of it), so the
    store must be told whenever a video's media start or stop being public (`set_visibility`). False where every
    read of an unpublished video's media is checked by us (local) or signed anyway (Cloudinary)."""

    # ------------------------------------------------------------------ storing and delivering

    def save(self, path: Path, *, kind: str, mime: str, private: bool = True) -> StoredFile:
        """Store the file at `path` (which the caller then removes) and say where it lives. `private`: it belongs to
        a video that is not published (yet), so where the store lets anyone read published media it keeps this one
        from them (`tracks_visibility`); kinds that never belong to a video (avatars, covers) are always public."""

    def delete(self, public_id: str, *, resource_type: str) -> None:
        """Remove a stored file (resource type "hls": a video's whole stream folder, `stream_folder`);
        removing one that is already gone is not an error."""

    def set_visibility(self, media: list[tuple[str, str]], *, private: bool) -> None:
        """Let anyone read these stored media (public id, resource type; "hls": a video's whole stream folder), or
        nobody but through signed URLs (`private`), where the store `tracks_visibility`; nothing elsewhere. Media
        already gone are skipped."""

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

    def stream_playlist(self, public_id: str, *, signed_query: str) -> str | None:
        """A playlist of a video's HLS output as our media route serves it: every URI in it made fetchable by the
        client that holds `signed_query` (the signature over the stream it was given; "" for a published video),
        whether the URI comes back to our route or goes to the store itself. None where the store has no such
        playlist, or its players never fetch playlists through us."""

    # ------------------------------------------------------------------ reading what is stored

    def describe(self, public_id: str, *, resource_type: str) -> StoredObject | None:
        """What is stored under a public id (a video's duration and frame size included), or None when nothing is
        there. A stored video that cannot be read raises `shared.media.probe.ProbeError`."""

    def disk_file(self, public_id: str) -> DiskFile | None:
        """A stored object's file on this node's disk (media files and HLS output alike), whether or not it exists
        yet; None when the id is not one of ours or the store keeps no files on this node."""

    def working_copy(self, public_id: str, *, resource_type: str) -> AbstractContextManager[Path]:
        """A stored media file as a file on this node's disk while the block runs (ffmpeg reads files): the store's
        own file where it keeps files here, else a copy downloaded into VIZTUBE_HOME/scratch and removed when the
        block ends. So a worker needs no disk shared with the node that took the upload. Raises `errors.NotFound`
        when nothing is stored under the id, and `errors.StorageUnsupported` where the store works on its media
        itself (it makes its own streams)."""

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

    def publish_hls(self, video_id: uuid.UUID, workdir: Path, *, private: bool = True) -> PublishedStream:
        """Make the HLS output written in `workdir` the video's stream, replacing any previous one; `private` as for
        `save`."""

    def stream_folder(self, video_id: uuid.UUID) -> str | None:
        """The public id (resource type "hls") of a video's own HLS output; None where the store derives the
        stream from the video and removes it with it."""

    def open_stream(self, video_id: uuid.UUID, *, resume: str | None) -> str:
        """Where a progressive transcode publishes the video's HLS output file by file (`publish_stream_files`): the
        folder (public id prefix) `resume`, one an interrupted try of the same transcode opened and published into,
        or else a folder for a new output (a store that keeps generations starts a new one; the stream the video has
        now stays readable until its master is replaced). Raises `errors.StorageUnsupported` where the store makes
        its own streams."""

    def publish_stream_files(self, folder: str, workdir: Path, names: list[str], *, private: bool) -> None:
        """Publish these files of `workdir` (paths relative to it: `master.m3u8`, `poster.jpg`,
        `<rung>/index.m3u8`, `<rung>/seg_NNN.ts`, `storyboard/...`) into the stream `folder`, in the order given (a
        playlist after the files it lists), each replacing what was there; `private` as for `save`. A subfolder's
        files not among `names` are an earlier try's leftovers and may be removed. The published files may be moved
        out of `workdir`."""

    def retire_streams(self, video_id: uuid.UUID, *, keep: str) -> None:
        """Remove (best effort) whatever HLS output of the video is not in the folder `keep`: an earlier
        generation no master points at any more."""

    def read_notification(self, body: bytes | str, headers: Mapping[str, str]) -> StreamEvent | None:
        """A notification the store posted to our webhook, checked (signature, age) and read: the stream event it
        reports, or None when it reports something else. Raises `errors.NotFound` where the store sends none,
        `errors.NotAuthenticated` for a forged or stale one and `errors.BadRequest` for one that is not JSON."""

    # ------------------------------------------------------------------ resumable uploads (tus)

    def resumable_assembly(self) -> Assembly:
        """Where a resumable upload's chunks gather until it is whole (shared.storage.assembly)."""
