"""What a file really is, told by its first bytes (magic numbers), never by the client's declared type."""

from __future__ import annotations

from pathlib import Path

IMAGE_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
VIDEO_TYPES = {"video/mp4": "mp4", "video/webm": "webm", "video/x-matroska": "mkv", "video/quicktime": "mov"}
ARCHIVE_TYPES = {"application/zip": "zip"}  # data exports (shared.services.data_export), never an upload
EXTENSION_TYPES = {ext: mime for mime, ext in {**IMAGE_TYPES, **VIDEO_TYPES, **ARCHIVE_TYPES}.items()}


def sniff(head: bytes) -> str | None:
    """The MIME type of a file from its first bytes, for the formats VizTube accepts; None otherwise."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: Matroska or WebM, told apart by the DocType
        return "video/webm" if b"webm" in head[:64] else "video/x-matroska"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        return "video/quicktime" if brand == b"qt  " else "video/mp4"
    if len(head) >= 8 and head[4:8] in (b"moov", b"mdat", b"wide", b"free"):
        return "video/quicktime"
    return None


def sniff_file(path: Path) -> str | None:
    with open(path, "rb") as f:
        return sniff(f.read(64))

VIDEO_FORMAT_MESSAGE = "Invalid video format. Must be MP4, WEBM, MKV, or MOV."
IMAGE_FORMAT_MESSAGE = "Invalid image format. Must be JPG, PNG, or WEBP."
# A stored object's format (as storage describes it) → the MIME type we record.
VIDEO_FORMATS = {"mp4": "video/mp4", "webm": "video/webm", "mkv": "video/x-matroska", "mov": "video/quicktime"}
IMAGE_FORMATS = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
