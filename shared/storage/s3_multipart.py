"""Resumable (tus) uploads gathered in the bucket itself, as an S3 multipart upload of the final key (issue #13,
point 2), so nothing of an upload is kept on the API host's disk and any node can take its next chunk.

S3 parts are at least 5 MiB, all but the last, while tus chunks have whatever size the client chose. So, as tusd's
s3store does with its ".part" object, the bytes after the last whole part (the tail) wait in a temporary object of
the bucket, `tus/<upload id>/tail-<next part number>`: a chunk that leaves less than 5 MiB after the parts rewrites
it (recorded tail + chunk), a chunk that reaches 5 MiB turns tail + chunk into parts. Completion sends the tail as
the last part and completes the upload; abort aborts it. The state (upload id, parts with their ETags, tail size)
lives in the JSON the caller keeps in the upload's row, recorded with the row's offset, which is the truth: a
request that died before recording its progress may have left more in the bucket (a longer tail object, a part
numbered past the recorded ones), and it is simply not used: the tail is read up to its recorded size, and a part
number is uploaded again over the unrecorded one. A consumed tail object is deleted by the next append, once the
state that no longer needs it is recorded.

Incomplete multipart uploads cost storage until aborted: an unfinished upload is aborted when it expires (the
expiry sweep), and a bucket lifecycle rule (AbortIncompleteMultipartUpload, README) catches any a crash orphaned.
"""

from __future__ import annotations

import logging
import math
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from boto3.exceptions import Boto3Error
from botocore.exceptions import BotoCoreError, ClientError
from s3transfer.utils import ReadFileChunk

from shared import errors
from shared.media.types import sniff_file
from shared.storage import scratch
from shared.storage.base import Assembly, StoredFile

log = logging.getLogger(__name__)

MIB = 1024 * 1024
MIN_PART = 5 * MIB  # S3's smallest part, the last one excepted
MAX_PART = 5 * 1024 * MIB  # and its largest
COPY_CHUNK = MIB
TAIL_PREFIX = "tus"
_FAILED = (Boto3Error, BotoCoreError, ClientError, OSError)


def _code(exc: BaseException) -> str:
    return str(exc.response.get("Error", {}).get("Code")) if isinstance(exc, ClientError) else ""


class S3MultipartAssembly(Assembly):
    """An upload's bytes as the bucket's own multipart upload of the final key. `new_key(kind, mime)` names a new
    object, `stored(key, kind, size)` describes a stored one, `object_args` go with every object it creates (the
    type excepted: content type, cache control, tags), all as the store (shared.storage.s3) decides them."""

    def __init__(self, client: Any, bucket: str, *, scratch_dir: Path, new_key: Callable[[str, str], str],
                 stored: Callable[[str, str, int], StoredFile], object_args: dict[str, str]) -> None:
        self._s3 = client
        self.bucket = bucket
        self.scratch_dir = scratch_dir
        self._new_key = new_key
        self._stored = stored
        self._object_args = object_args

    # ------------------------------------------------------------------ the protocol

    def start(self, upload_id: uuid.UUID, *, node: str | None, kind: str, mime: str) -> dict[str, Any]:
        state = {"upload": str(upload_id), "kind": kind, "parts": [], "tail": 0}
        return self._create(state, mime)

    def reachable(self, state: dict[str, Any], *, node: str | None) -> bool:
        return True  # every node reaches the bucket

    def append(self, state: dict[str, Any], *, offset: int, chunk: Path) -> dict[str, Any]:
        state = {**state, "parts": list(state["parts"])}
        parts, tail, size = state["parts"], int(state["tail"]), chunk.stat().st_size
        if offset != sum(p[2] for p in parts) + tail:  # recorded together with the offset: they always agree
            raise errors.InternalError("A resumable upload's recorded state does not match its offset")
        if state.get("stale"):
            self._delete_quietly(state.pop("stale"))
        if offset == 0 and size:
            mime = sniff_file(chunk)
            if mime and mime != state["mime"]:  # not the declared type (both of the kind: checked by the caller)
                self._abort_upload(state)
                state = self._create({**state, "parts": []}, mime)
        if size == 0:
            return state
        number = len(parts) + 1
        try:
            if tail + size < MIN_PART:  # the tail grows: recorded tail + chunk, as one object again
                if tail == 0:
                    self._s3.upload_file(str(chunk), self.bucket, self._tail_key(state, number))
                else:
                    with self._joined(state, number, tail, chunk) as joined:
                        self._s3.upload_file(str(joined), self.bucket, self._tail_key(state, number))
                return {**state, "tail": tail + size}
            if tail == 0:
                state["parts"] = parts + self._upload_parts(state, chunk, number, size)
            else:
                with self._joined(state, number, tail, chunk) as joined:
                    state["parts"] = parts + self._upload_parts(state, joined, number, tail + size)
                state["stale"] = self._tail_key(state, number)  # consumed: deleted once this state is recorded
        except _FAILED as exc:
            raise self._failure(exc) from exc
        return {**state, "tail": 0}

    def complete(self, state: dict[str, Any], *, kind: str, mime: str) -> StoredFile:
        parts, tail = list(state["parts"]), int(state["tail"])
        try:
            if tail:  # the tail is the last part, which may be smaller than MIN_PART
                number = len(parts) + 1
                with scratch.scratch_folder(self.scratch_dir, "tus-") as folder:
                    last = folder / "tail"
                    self._download_tail(state, number, tail, last)
                    parts += self._upload_parts(state, last, number, tail)
            self._s3.complete_multipart_upload(
                Bucket=self.bucket, Key=state["key"], UploadId=state["mpu"],
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etag} for n, etag, _ in parts]})
        except _FAILED as exc:
            raise self._failure(exc) from exc
        self._delete_tails(state)
        return self._stored(state["key"], kind, sum(p[2] for p in parts))

    def abort(self, state: dict[str, Any]) -> None:
        self._abort_upload(state)
        self._delete_tails(state)

    # ------------------------------------------------------------------ the bucket's side

    def _create(self, state: dict[str, Any], mime: str) -> dict[str, Any]:
        key = self._new_key(state["kind"], mime)
        try:
            created = self._s3.create_multipart_upload(Bucket=self.bucket, Key=key, ContentType=mime,
                                                       **self._object_args)
        except _FAILED as exc:
            raise errors.StorageFailed("Could not start the upload in storage") from exc
        return {**state, "key": key, "mime": mime, "mpu": created["UploadId"]}

    def _tail_key(self, state: dict[str, Any], number: int) -> str:
        return f"{TAIL_PREFIX}/{uuid.UUID(state['upload'])}/tail-{number}"

    def _upload_parts(self, state: dict[str, Any], path: Path, first: int, size: int) -> list[list[Any]]:
        """`path` (`size` bytes) as parts numbered from `first`: one part, or equal ones under MAX_PART each; read
        from the file part by part, never whole in memory."""
        count = math.ceil(size / MAX_PART)
        uploaded = []
        for index in range(count):
            start = index * size // count
            length = (index + 1) * size // count - start
            with ReadFileChunk.from_filename(str(path), start, length, enable_callbacks=False) as body:
                answer = self._s3.upload_part(Bucket=self.bucket, Key=state["key"], UploadId=state["mpu"],
                                              PartNumber=first + index, Body=body, ContentLength=length)
            uploaded.append([first + index, answer["ETag"], length])
        return uploaded

    def _download_tail(self, state: dict[str, Any], number: int, tail: int, into: Path) -> None:
        """The recorded tail: its first `tail` bytes (an unrecorded append may have made the object longer)."""
        answer = self._s3.get_object(Bucket=self.bucket, Key=self._tail_key(state, number), Range=f"bytes=0-{tail - 1}")
        with open(into, "wb") as out:
            shutil.copyfileobj(answer["Body"], out, COPY_CHUNK)
        if into.stat().st_size != tail:
            raise errors.StorageFailed("The stored part of the upload is shorter than recorded")

    @contextmanager
    def _joined(self, state: dict[str, Any], number: int, tail: int, chunk: Path) -> Iterator[Path]:
        """A scratch file holding the recorded tail, then the chunk; removed when the block ends."""
        with scratch.scratch_folder(self.scratch_dir, "tus-") as folder:
            path = folder / "part"
            self._download_tail(state, number, tail, path)
            with open(path, "ab") as out, open(chunk, "rb") as source:
                shutil.copyfileobj(source, out, COPY_CHUNK)
            yield path

    def _abort_upload(self, state: dict[str, Any]) -> None:
        try:
            self._s3.abort_multipart_upload(Bucket=self.bucket, Key=state["key"], UploadId=state["mpu"])
        except ClientError as exc:
            if _code(exc) not in ("NoSuchUpload", "404"):
                raise errors.StorageFailed("Could not abort the upload in storage") from exc
        except (Boto3Error, BotoCoreError) as exc:
            raise errors.StorageFailed("Could not abort the upload in storage") from exc

    def _delete_tails(self, state: dict[str, Any]) -> None:
        """Every tail object of the upload (best effort: a later abort or the expiry sweep tries again)."""
        prefix = f"{TAIL_PREFIX}/{uuid.UUID(state['upload'])}/"
        try:
            listed = self._s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix).get("Contents", [])
            if listed:
                self._s3.delete_objects(Bucket=self.bucket, Delete={
                    "Objects": [{"Key": item["Key"]} for item in listed], "Quiet": True})
        except (BotoCoreError, ClientError) as exc:
            log.warning("could not remove the tail objects under %s: %s", prefix, exc)

    def _delete_quietly(self, key: str) -> None:
        try:
            self._s3.delete_object(Bucket=self.bucket, Key=key)
        except (BotoCoreError, ClientError) as exc:
            log.warning("could not remove %s (removed when the upload ends): %s", key, exc)

    @staticmethod
    def _failure(exc: BaseException) -> errors.AppError:
        if _code(exc) in ("NoSuchUpload", "NoSuchKey"):
            return errors.NotFound("Upload not found or expired")
        if isinstance(exc, OSError) and errors.out_of_space(exc):
            return errors.InsufficientStorage("Not enough scratch space on the server for this upload")
        return errors.StorageFailed("Could not store the upload's bytes")
