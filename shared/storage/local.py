"""Media on local disk under VIZTUBE_HOME/media, served by the app itself (functions/media.py)."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import shutil
import time
import uuid
from pathlib import Path

from shared import errors
from shared.media_types import EXTENSION_TYPES, IMAGE_TYPES, VIDEO_TYPES
from shared.storage.base import FOLDERS, SIGNED_URL_TTL, StoredFile

MEDIA_ROUTE = "/api/v2/media"
# A stored name is a UUID plus a known extension: nothing a client sends can name another path.
_NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png|webp|mp4|webm|mkv|mov)$")
# HLS output: hls/<video id>/master.m3u8 | poster.jpg | <rung>/index.m3u8 | <rung>/seg_NNN.ts
_HLS_PATH = re.compile(r"^hls/([0-9a-f-]{36})/(master\.m3u8|poster\.jpg|\d{2,4}p/(index\.m3u8|seg_\d{3,5}\.ts))$")
_HLS_TYPES = {"m3u8": "application/vnd.apple.mpegurl", "ts": "video/mp2t", "jpg": "image/jpeg"}
_FOLDER_NAMES = {folder for folder, _ in FOLDERS.values()}


class LocalStorage:
    name = "local"

    def __init__(self, root: Path, public_url: str, secret: str = "") -> None:
        self.root = root
        self.public_url = public_url.rstrip("/")
        self._secret = secret.encode()

    def save(self, path: Path, *, kind: str, mime: str) -> StoredFile:
        folder, resource_type = FOLDERS[kind]
        ext = {**IMAGE_TYPES, **VIDEO_TYPES}[mime]
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

    def url_for(self, public_id: str, *, resource_type: str, private: bool) -> str:
        url = f"{self.public_url}{MEDIA_ROUTE}/{public_id}"
        if not private:
            return url
        return f"{url}?{self.signed_query(public_id)}"

    def _signature(self, public_id: str, expires: int) -> str:
        return hmac.new(self._secret, f"{public_id}:{expires}".encode(), hashlib.sha256).hexdigest()

    def signature_valid(self, public_id: str, expires: str | None, signature: str | None) -> bool:
        """An expiring media URL: HMAC over the path and the expiry time, checked in constant time."""
        if not expires or not signature or not expires.isdigit() or int(expires) < time.time():
            return False
        return hmac.compare_digest(self._signature(public_id, int(expires)), signature)

    def delete(self, public_id: str, *, resource_type: str) -> None:
        if resource_type == "hls":  # a whole rendition tree: hls/<video id>
            folder = self.hls_dir(public_id.split("/", 1)[1]) if public_id.startswith("hls/") else None
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
            return
        path = self.resolve(public_id)
        if path is not None:
            path.unlink(missing_ok=True)

    # -------------------------------------------------------------------------- HLS output

    def hls_dir(self, video_id: str) -> Path | None:
        try:
            return self.root / "hls" / str(uuid.UUID(video_id))
        except ValueError:
            return None

    def resolve_hls(self, path: str) -> tuple[Path, str, str] | None:
        """(file, content type, the video id) for an HLS path, or None when it is not one of ours."""
        match = _HLS_PATH.match(path)
        if not match:
            return None
        return self.root / path, _HLS_TYPES[path.rsplit(".", 1)[1]], match.group(1)

    def hls_url(self, master_public_id: str, *, private: bool) -> str:
        """The master playlist's URL; a private one carries a signature over the whole hls/<id> folder,
        which the media route also appends to every URI inside the playlists it serves."""
        url = f"{self.public_url}{MEDIA_ROUTE}/{master_public_id}"
        if not private:
            return url
        return f"{url}?{self.signed_query(master_public_id.rsplit('/', 1)[0])}"

    def poster_url(self, poster_public_id: str, *, private: bool) -> str:
        return self.hls_url(poster_public_id, private=private)

    def signed_query(self, key: str) -> str:
        expires = int(time.time()) + SIGNED_URL_TTL
        return f"expires={expires}&signature={self._signature(key, expires)}"

    def resolve(self, public_id: str) -> Path | None:
        """The file for a public id, or None when the id is not one of ours (no traversal possible)."""
        folder, _, name = public_id.partition("/")
        if folder not in _FOLDER_NAMES or not _NAME.match(name):
            return None
        return self.root / folder / name

    @staticmethod
    def content_type(public_id: str) -> str:
        return EXTENSION_TYPES.get(public_id.rsplit(".", 1)[-1], "application/octet-stream")
