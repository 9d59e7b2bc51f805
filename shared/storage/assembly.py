"""Where a resumable upload's bytes gather until it is whole, then become a stored file: on this node's disk.

`DiskAssembly` implements the `Assembly` protocol (shared.storage.base) for the stores that keep nothing of an
unfinished upload themselves (local, Cloudinary): the bytes gather in one file on this node's disk and go to the
store's `save` when whole. The row's `received_bytes` is the truth about how far an upload got; the S3 store
gathers the bytes as the bucket's own multipart upload instead (shared.storage.s3_multipart).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shared import errors
from shared.storage.base import Assembly, StoredFile

COPY_CHUNK = 1024 * 1024


class DiskAssembly(Assembly):
    """The bytes in one file under `directory` (never served, outside the staging sweep: a paused upload may sit
    for hours), fsynced after every chunk; `save` stores the whole file."""

    def __init__(self, directory: Path, save: Callable[..., StoredFile]) -> None:
        self.directory = directory
        self._save = save

    def _path(self, state: dict[str, Any]) -> Path:
        name = str(uuid.UUID(state["upload"]))  # never a path from anywhere else
        return self.directory / f"{name}.part"

    def start(self, upload_id: uuid.UUID, *, node: str | None, kind: str, mime: str) -> dict[str, Any]:
        self.directory.mkdir(parents=True, exist_ok=True)
        state = {"upload": str(upload_id), "node": node}
        self._path(state).touch()
        return state

    def reachable(self, state: dict[str, Any], *, node: str | None) -> bool:
        return state.get("node") == node

    def append(self, state: dict[str, Any], *, offset: int, chunk: Path) -> dict[str, Any]:
        path = self._path(state)
        try:
            with open(path, "r+b") as out, open(chunk, "rb") as source:
                out.truncate(offset)
                out.seek(offset)
                shutil.copyfileobj(source, out, COPY_CHUNK)
                out.flush()
                os.fsync(out.fileno())
        except FileNotFoundError:
            raise errors.NotFound("Upload not found or expired") from None
        except OSError as exc:
            if errors.out_of_space(exc):
                raise errors.InsufficientStorage("Not enough storage space on the server for this upload") from exc
            raise
        return state

    def complete(self, state: dict[str, Any], *, kind: str, mime: str) -> StoredFile:
        path = self._path(state)
        stored = self._save(path, kind=kind, mime=mime)
        path.unlink(missing_ok=True)
        return stored

    def abort(self, state: dict[str, Any]) -> None:
        self._path(state).unlink(missing_ok=True)
