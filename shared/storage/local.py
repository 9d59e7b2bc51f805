"""Media on local disk under VIZTUBE_HOME/media, served by the app itself (functions/media.py)."""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from shared import errors
from shared.media.probe import probe_video
from shared.media.types import ARCHIVE_TYPES, EXTENSION_TYPES, IMAGE_TYPES, VIDEO_TYPES
from shared.settings import get_settings
from shared.storage.assembly import Assembly, DiskAssembly
from shared.storage.base import (
    FOLDERS,
    HLS_TYPES,
    MEDIA_FOLDERS,
    MEDIA_ROUTE,
    DirectUpload,
    DiskFile,
    PublishedStream,
    StoredFile,
    StoredObject,
    StreamEvent,
    UrlSigner,
)

UPLOAD_ROUTE = "/api/v2/uploads"  # the local store's own upload endpoint (functions/uploads.py)
# A stored name is a UUID plus a known extension: nothing a client sends can name another path.
_NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png|webp|mp4|webm|mkv|mov|zip)$")
# HLS output: hls/<video id>/master.m3u8 | poster.jpg | <rung>/index.m3u8 | <rung>/seg_NNN.ts
# | storyboard/thumbs.vtt | storyboard/sprite_NNN.jpg (shared.media.storyboard)
_STREAM_FILE = (r"(master\.m3u8|poster\.jpg|\d{2,4}p/(index\.m3u8|seg_\d{3,5}\.ts)"
                r"|storyboard/(thumbs\.vtt|sprite_\d{3,5}\.jpg))")
_HLS_PATH = re.compile(rf"^hls/([0-9a-f-]{{36}})/{_STREAM_FILE}$")
_STREAM_RELATIVE = re.compile(rf"^{_STREAM_FILE}$")
_PLAYLISTS = (".m3u8", ".vtt")  # text that names other files of the stream: served with the signature carried on


class LocalStorage:
    name = "local"
    node_local = True
    makes_own_streams = False  # HLS is transcoded here (transcode_hls) and published with `publish_hls`
    tracks_visibility = False  # our media route checks every read of an unpublished video's files

    def __init__(self, root: Path, public_url: str, secret: str = "") -> None:
        self.root = root
        self.public_url = public_url.rstrip("/")
        self._signer = UrlSigner(secret)

    # -------------------------------------------------------------------------- storing and delivering

    def save(self, path: Path, *, kind: str, mime: str, private: bool = True) -> StoredFile:
        folder, resource_type = FOLDERS[kind]
        ext = {**IMAGE_TYPES, **VIDEO_TYPES, **ARCHIVE_TYPES}[mime]
        public_id = f"{folder}/{uuid.uuid4().hex}.{ext}"
        target = self.root / public_id
        tmp = target.with_name(target.name + ".part")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, tmp)  # same filesystem as the staging dir: no copy at all
            except OSError:
                shutil.copyfile(path, tmp)
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)  # never leave a half-written copy behind
            if errors.out_of_space(exc):
                raise errors.InsufficientStorage(f"Not enough storage space on the server to store {kind}") from exc
            raise errors.StorageFailed(f"Could not store {kind}") from exc
        return StoredFile(public_id=public_id, url=f"{self.public_url}{MEDIA_ROUTE}/{public_id}",
                          resource_type=resource_type, size=target.stat().st_size, format=ext)

    def resumable_assembly(self) -> Assembly:
        """Chunks gather in a file on this node's disk; the whole file is stored by `save`."""
        return DiskAssembly(get_settings().resumable_dir, self.save)

    def delete(self, public_id: str, *, resource_type: str) -> None:
        if resource_type == "hls":  # a whole rendition tree: hls/<video id>
            folder = self._hls_dir(public_id.split("/", 1)[1]) if public_id.startswith("hls/") else None
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
            return
        path = self._resolve(public_id)
        if path is not None:
            path.unlink(missing_ok=True)

    def set_visibility(self, media: list[tuple[str, str]], *, private: bool) -> None:
        return None  # who may read a file is decided by our media route, read by read

    def url_for(self, public_id: str, *, resource_type: str, private: bool) -> str:
        url = f"{self.public_url}{MEDIA_ROUTE}/{public_id}"
        if not private:
            return url
        return f"{url}?{self._signer.query(public_id)}"

    def delivery_url(self, public_id: str, *, resource_type: str, private: bool, stored_url: str) -> str:
        # A published file's URL never changes here; only an unpublished one needs a fresh, expiring signature.
        return self.url_for(public_id, resource_type=resource_type, private=True) if private else stored_url

    def hls_url(self, master_public_id: str, *, private: bool) -> str:
        """The master playlist's URL; a private one carries a signature over the whole hls/<id> folder,
        which the media route also appends to every URI inside the playlists it serves."""
        url = f"{self.public_url}{MEDIA_ROUTE}/{master_public_id}"
        if not private:
            return url
        stream = _HLS_PATH.match(master_public_id)  # any file of the stream (a storyboard's too): the whole folder
        return f"{url}?{self._signer.query(f'hls/{stream.group(1)}' if stream else master_public_id.rsplit('/', 1)[0])}"

    def poster_url(self, poster_public_id: str, *, private: bool) -> str:
        return self.hls_url(poster_public_id, private=private)

    def signed_url_valid(self, public_id: str, expires: str | None, signature: str | None) -> bool:
        # Every file of a video's HLS output is covered by the one signature over its folder (see `hls_url`).
        stream = _HLS_PATH.match(public_id)
        return self._signer.valid(f"hls/{stream.group(1)}" if stream else public_id, expires, signature)

    def stream_playlist(self, public_id: str, *, signed_query: str) -> str | None:
        """The playlist from disk; a private stream's with the signature carried into every URI, which all come back
        to our media route (the player's next requests pass too)."""
        found = self.disk_file(public_id) if _HLS_PATH.match(public_id) and public_id.endswith(_PLAYLISTS) else None
        if found is None or not found.path.is_file():
            return None
        lines = found.path.read_text().splitlines()
        if signed_query:
            if public_id.endswith(".vtt"):  # a storyboard track: its sprite lines, the query before the #xywh fragment
                lines = [_signed_fragment_uri(line, signed_query) for line in lines]
            else:
                lines = [line if not line.strip() or line.startswith("#") else f"{line}?{signed_query}"
                         for line in lines]
        return "\n".join(lines) + "\n"

    # -------------------------------------------------------------------------- reading what is stored

    def describe(self, public_id: str, *, resource_type: str) -> StoredObject | None:
        path = self._resolve(public_id)
        if path is None or not path.is_file():
            return None
        size, fmt = path.stat().st_size, path.suffix[1:]
        if resource_type != "video":
            return StoredObject(size=size, format=fmt)
        facts = probe_video(path)  # what ffmpeg reads in the file itself; a ProbeError when it is not a video
        return StoredObject(size=size, format=fmt, duration=facts.duration, width=facts.width, height=facts.height)

    def disk_file(self, public_id: str) -> DiskFile | None:
        if _HLS_PATH.match(public_id):
            return DiskFile(self.root / public_id, HLS_TYPES[public_id.rsplit(".", 1)[1]])
        path = self._resolve(public_id)
        if path is None:
            return None
        return DiskFile(path, EXTENSION_TYPES.get(public_id.rsplit(".", 1)[-1], "application/octet-stream"))

    @contextmanager
    def working_copy(self, public_id: str, *, resource_type: str) -> Iterator[Path]:
        """The file itself: it is already on this node's disk (work on it is pinned here, shared.node)."""
        path = self._resolve(public_id)
        if path is None or not path.is_file():
            raise errors.NotFound("Media file not found on this node")
        yield path

    # -------------------------------------------------------------------------- direct uploads

    def direct_upload_id(self, kind: str) -> str | None:
        return None  # chosen by `save` when the bytes arrive through our upload endpoint

    def sign_upload(self, *, upload_id: uuid.UUID, public_id: str | None, kind: str,
                    content_type: str) -> DirectUpload:
        """The local store's own endpoint: a signed, expiring URL; the bytes are streamed to disk."""
        query = self._signer.query(_upload_key(upload_id))
        return DirectUpload(method="PUT", url=f"{self.public_url}{UPLOAD_ROUTE}/{upload_id}?{query}",
                            public_id=None, headers={"Content-Type": content_type})

    def upload_signature_valid(self, upload_id: uuid.UUID, expires: str | None, signature: str | None) -> bool:
        return self._signer.valid(_upload_key(upload_id), expires, signature)

    # -------------------------------------------------------------------------- HLS output

    def hls_workdir(self, video_id: uuid.UUID) -> Path:
        final = self.root / "hls" / str(video_id)
        # Beside the final folder (same filesystem): publishing is one rename, and players never see half of it.
        return final.with_name(final.name + ".part")

    def publish_hls(self, video_id: uuid.UUID, workdir: Path, *, private: bool = True) -> PublishedStream:
        final = self.root / "hls" / str(video_id)
        shutil.rmtree(final, ignore_errors=True)
        workdir.rename(final)
        return PublishedStream(master_public_id=f"hls/{video_id}/master.m3u8",
                               poster_public_id=f"hls/{video_id}/poster.jpg")

    def stream_folder(self, video_id: uuid.UUID) -> str | None:
        return f"hls/{video_id}"

    def open_stream(self, video_id: uuid.UUID, *, resume: str | None) -> str:
        return f"hls/{video_id}"  # one folder per video: files are replaced in place, each by a rename

    def publish_stream_files(self, folder: str, workdir: Path, names: list[str], *, private: bool) -> None:
        """Each file renamed into place (the work folder is beside the stream's, on the same filesystem): a player
        reads the old file or the new one, never half of one. An earlier try's leftovers in the same subfolders go."""
        target = self._hls_dir(folder.removeprefix("hls/")) if folder.startswith("hls/") else None
        if target is None or any(not _STREAM_RELATIVE.match(name) for name in names):
            raise errors.InternalError(f"not a file of a video's HLS output: {folder} {names}")
        try:
            for name in names:
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                os.replace(workdir / name, target / name)
            kept = set(names)
            for sub in {name.split("/", 1)[0] for name in names if "/" in name}:
                for stale in (target / sub).iterdir():
                    if f"{sub}/{stale.name}" not in kept and stale.is_file():
                        stale.unlink(missing_ok=True)
        except OSError as exc:
            if errors.out_of_space(exc):
                raise errors.InsufficientStorage("Not enough storage space on the server to publish the stream") \
                    from exc
            raise errors.StorageFailed("Could not publish the HLS stream") from exc

    def retire_streams(self, video_id: uuid.UUID, *, keep: str) -> None:
        return None  # the one folder is the stream: nothing older lives elsewhere

    def read_notification(self, body: bytes | str, headers: Mapping[str, str]) -> StreamEvent | None:
        raise errors.NotFound("Route not found")  # nothing posts notifications about local files

    # -------------------------------------------------------------------------- paths

    def _hls_dir(self, video_id: str) -> Path | None:
        try:
            return self.root / "hls" / str(uuid.UUID(video_id))
        except ValueError:
            return None

    def _resolve(self, public_id: str) -> Path | None:
        """The file for a public id, or None when the id is not one of ours (no traversal possible)."""
        folder, _, name = public_id.partition("/")
        if folder not in MEDIA_FOLDERS or not _NAME.match(name):
            return None
        return self.root / folder / name


def _signed_fragment_uri(line: str, signed_query: str) -> str:
    """A WebVTT cue payload that names a file (`sprite_000.jpg#xywh=0,0,160,90`) with the signature added before its
    fragment; every other line (the header, timings, blank lines) as it is."""
    uri, hash_mark, fragment = line.strip().partition("#")
    if not uri or "-->" in line or not _STREAM_RELATIVE.match(f"storyboard/{uri}"):
        return line
    return f"{uri}?{signed_query}{hash_mark}{fragment}"


def _upload_key(upload_id: uuid.UUID) -> str:
    return f"upload:{upload_id}"
