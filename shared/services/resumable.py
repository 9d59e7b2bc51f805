"""Resumable uploads over tus 1.0 (core, creation, termination, expiration, checksum), so off-the-shelf clients
(tus-js-client, Uppy, tus-py-client) can send a large video over a bad network and go on where they stopped.

An upload is a row of `uploads` (protocol 'tus'): the creation checks the kind, the declared size and type before
any byte (413/415), each PATCH appends one chunk at the offset the row records (409 otherwise), a chunk whose
Upload-Checksum does not match is dropped (460), and the last chunk stores the whole file and marks the upload
received, after which `POST /api/v2/videos` takes its id as `videoUploadId` / `thumbnailUploadId` exactly like a
direct upload's. The bytes gather where the store says (`Storage.resumable_assembly`); the row's
`received_bytes` is the truth after a cut connection or a restart, and a PATCH holds the row (a short lease, not a
transaction) only while its chunk, already on disk, is appended.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
import uuid
from dataclasses import dataclass
from email.utils import format_datetime
from typing import Any

from shared import db, errors
from shared.auth import CurrentUser
from shared.media.files import UploadedFile, too_large
from shared.media.types import IMAGE_TYPES, VIDEO_TYPES
from shared.node import media_node
from shared.settings import get_settings
from shared.sql import uploads as uploads_sql
from shared.storage import get_storage

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,termination,expiration,checksum"
CHECKSUMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "md5": hashlib.md5}
KINDS = {"video": ("videoFile", VIDEO_TYPES), "thumbnail": ("thumbnail", IMAGE_TYPES)}
# A PATCH holds its upload while it appends a chunk that is already on this node's disk (the body is read before
# the handler runs): seconds of copying at most. A request killed mid-way frees the upload when this lapses.
APPEND_LEASE_SECONDS = 120
_DIGITS = re.compile(r"^[0-9]{1,19}$")


def max_size() -> int:
    """The largest upload of any kind (Tus-Max-Size)."""
    settings = get_settings()
    return max(settings.max_video_bytes, settings.max_image_bytes)


def _limit(kind: str) -> int:
    settings = get_settings()
    return settings.max_video_bytes if kind == "video" else settings.max_image_bytes


def _count(value: str | None, header: str) -> int:
    if value is None or not _DIGITS.match(value.strip()):
        raise errors.BadRequest(f"{header} must be a non-negative integer")
    return int(value)


def parse_metadata(header: str | None) -> dict[str, str]:
    """Upload-Metadata: comma-separated `key base64(value)` pairs (a key alone has an empty value)."""
    found: dict[str, str] = {}
    for pair in (header or "").split(","):
        if not pair.strip():
            continue
        key, _, encoded = pair.strip().partition(" ")
        try:
            value = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise errors.BadRequest(f"Upload-Metadata: the value of '{key}' is not base64 of UTF-8 text") from None
        if "\x00" in key or "\x00" in value:
            raise errors.BadRequest(f"Upload-Metadata: '{key}' contains a NUL character")
        found[key] = value
    return found


def encode_metadata(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def discovery_headers() -> dict[str, str]:
    """What this server supports, as a tus OPTIONS answer would say it."""
    return {"Tus-Version": TUS_VERSION, "Tus-Extension": EXTENSIONS, "Tus-Max-Size": str(max_size()),
            "Tus-Checksum-Algorithm": ",".join(CHECKSUMS)}


def http_date(value: dt.datetime) -> str:
    return format_datetime(value.astimezone(dt.UTC), usegmt=True)


@dataclass(frozen=True)
class Progress:
    """What the client is told about an upload: how far it is, how long it is, until when it can go on."""

    upload_id: uuid.UUID
    offset: int
    length: int
    expires_at: dt.datetime
    metadata: dict[str, str]


def _progress(row: dict[str, Any]) -> Progress:
    done = row["status"] != "pending"
    metadata = {"kind": row["kind"], "filetype": row["declared_type"]}
    if row["filename"]:
        metadata["filename"] = row["filename"]
    return Progress(row["id"], row["declared_size"] if done else row["received_bytes"], row["declared_size"],
                    row["expires_at"], metadata)


def create(user: CurrentUser, *, length: str | None, metadata: str | None, deferred: bool) -> Progress:
    """A new upload, checked before any byte: kind, type (415) and declared size (413)."""
    if deferred:
        raise errors.BadRequest("Upload-Defer-Length is not supported: send Upload-Length")
    size = _count(length, "Upload-Length")
    meta = parse_metadata(metadata)
    kind = meta.get("kind", "video")
    if kind not in KINDS:
        raise errors.BadRequest("Upload-Metadata 'kind' must be video or thumbnail")
    field, types = KINDS[kind]
    filetype = meta.get("filetype", "").lower()
    if filetype not in types:
        names = "MP4, WEBM, MKV, or MOV" if kind == "video" else "JPG, PNG, or WEBP"
        raise errors.UnsupportedMediaType(f"Upload-Metadata 'filetype' must be one of {names} for {kind}")
    if size == 0:
        raise errors.BadRequest("Upload-Length must be greater than 0")
    if size > _limit(kind):
        raise too_large(field, _limit(kind))
    storage = get_storage()
    with db.transaction():
        row = uploads_sql.create_resumable(user_id=user.id, kind=kind, declared_type=filetype, declared_size=size,
                                           storage=storage.name, filename=meta.get("filename", "")[:255] or None,
                                           ttl_seconds=get_settings().resumable_ttl_seconds)
        state = storage.resumable_assembly().start(row["id"], node=media_node(), kind=kind, mime=filetype)
        uploads_sql.set_assembly(upload_id=row["id"], assembly=state)
    return _progress(row)


def _existing(user: CurrentUser, upload_id: uuid.UUID) -> dict[str, Any]:
    row = uploads_sql.get_resumable(upload_id=upload_id, user_id=user.id)
    if row is None:
        raise errors.NotFound("Upload not found")
    if row["status"] == "pending" and row["expires_at"] <= dt.datetime.now(dt.UTC):
        raise errors.Gone("Upload expired; start a new one")
    return row


def status(user: CurrentUser, upload_id: uuid.UUID) -> Progress:
    return _progress(_existing(user, upload_id))


def _checksum(header: str | None) -> tuple[str, bytes] | None:
    if not header:
        return None
    algorithm, _, encoded = header.strip().partition(" ")
    if algorithm.lower() not in CHECKSUMS:
        raise errors.BadRequest(f"Upload-Checksum algorithm must be one of {', '.join(CHECKSUMS)}")
    try:
        return algorithm.lower(), base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        raise errors.BadRequest("Upload-Checksum must be an algorithm and a base64 digest") from None


def _digest(algorithm: str, chunk: UploadedFile) -> bytes:
    digest = CHECKSUMS[algorithm]()
    with open(chunk.path, "rb") as source:
        while block := source.read(1024 * 1024):
            digest.update(block)
    return digest.digest()


def _claim(user: CurrentUser, upload_id: uuid.UUID) -> dict[str, Any]:
    row = uploads_sql.claim_for_append(upload_id=upload_id, user_id=user.id, lease_seconds=APPEND_LEASE_SECONDS)
    if row is not None:
        return row
    row = _existing(user, upload_id)  # 404 / 410
    if row["status"] != "pending":
        raise errors.Conflict("Upload is already complete", headers={"Upload-Offset": str(row["declared_size"])})
    raise errors.Locked("Another request is appending to this upload; retry when it is done")


def append(user: CurrentUser, upload_id: uuid.UUID, *, offset: str | None, checksum: str | None,
           chunk: UploadedFile) -> Progress:
    """Append one chunk at `offset` (the offset the upload is at); the last one stores the whole file."""
    at = _count(offset, "Upload-Offset")
    expected = _checksum(checksum)
    row = _claim(user, upload_id)
    try:
        return _append_claimed(row, at, expected, chunk)
    except BaseException:
        uploads_sql.release(upload_id=upload_id)
        raise


def _append_claimed(row: dict[str, Any], at: int, expected: tuple[str, bytes] | None,
                    chunk: UploadedFile) -> Progress:
    received, length = row["received_bytes"], row["declared_size"]
    if at != received:
        raise errors.Conflict(f"Upload-Offset {at} does not match the upload's offset {received}",
                              headers={"Upload-Offset": str(received)})
    if at + chunk.size > length:
        raise errors.PayloadTooLarge(f"The chunk goes past Upload-Length ({length} bytes)")
    if expected is not None and _digest(expected[0], chunk) != expected[1]:
        raise errors.ChecksumMismatch("Upload-Checksum does not match the chunk; it was not stored")
    mime = row["stored_type"]
    if at == 0 and chunk.size:
        mime = chunk.sniff()
        if mime not in KINDS[row["kind"]][1]:
            raise errors.UnsupportedMediaType("Uploaded bytes are not a " + (
                "supported video" if row["kind"] == "video" else "JPG, PNG, or WEBP image"))
    assembly = get_storage().resumable_assembly()
    if not assembly.reachable(row["assembly"], node=media_node()):
        raise errors.Conflict("This upload's chunks are kept by another server; send it there or start again")
    state = assembly.append(row["assembly"], offset=at, chunk=chunk.path)
    if at + chunk.size < length:
        progress = uploads_sql.record_progress(upload_id=row["id"], received_bytes=at + chunk.size, assembly=state,
                                               stored_type=mime, ttl_seconds=get_settings().resumable_ttl_seconds)
        if progress is None:  # terminated meanwhile
            raise errors.NotFound("Upload not found")
        return _progress(progress)
    # The last chunk: store the whole file, then say so in one statement. Until that statement the upload stays
    # at its old offset, so a failure here has the client send the last chunk again.
    mime = mime or row["declared_type"]
    stored = assembly.complete(state, kind=row["kind"], mime=mime)
    try:
        finished = uploads_sql.finish_resumable(upload_id=row["id"], public_id=stored.public_id, url=stored.url,
                                                stored_size=stored.size, stored_type=mime)
    except BaseException:
        get_storage().delete(stored.public_id, resource_type=stored.resource_type)
        raise
    if finished is None:
        get_storage().delete(stored.public_id, resource_type=stored.resource_type)
        raise errors.NotFound("Upload not found")
    return _progress(finished)


def terminate(user: CurrentUser, upload_id: uuid.UUID) -> None:
    """Throw an unfinished upload away (termination extension); a finished one is left to registration."""
    row = uploads_sql.take_resumable(upload_id=upload_id, user_id=user.id)
    if row is None:
        found = _existing(user, upload_id)  # 404 / 410
        if found["status"] == "pending":
            raise errors.Locked("A chunk is being appended to this upload; retry when it is done")
        raise errors.Conflict("Upload is already complete; it can no longer be terminated")
    if row["assembly"]:
        get_storage().resumable_assembly().abort(row["assembly"])
