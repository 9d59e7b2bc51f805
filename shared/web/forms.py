"""Multipart forms and raw upload bodies: streamed to disk while parsed, so a 100 MB file is never one bytes
object.

Two ways a form reaches a handler, same code in the handler:
* behind the WSGI shim (one box), the shim streams the socket through `stream_form` into a staging directory
  before routing and hands the result over on the request's thread (`handing_over`);
* under Lambda, `chalice local` or the test client, `read_form` parses `raw_body` the same way.

Each form's staging directory is held under an exclusive flock for as long as the form lives (parsing, then
the handler), so `sweep_staging` can remove what crashed processes left behind without touching a live upload.
A full disk while staging is a 507 (errors.InsufficientStorage), with the partial files removed.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from chalice.app import Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header

from shared import errors
from shared.media.files import UploadedFile, too_large
from shared.settings import get_settings
from shared.text import require_storable
from shared.web.request import MULTIPART, media_type
from shared.web.upload_policy import UploadRoute

if TYPE_CHECKING:  # python-multipart declares its callbacks type for type checkers only
    from python_multipart.multipart import MultipartCallbacks

MAX_TEXT_FIELD_BYTES = 64 * 1024
MAX_PARTS = 16


@dataclass
class StagedForm:
    directory: Path
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, UploadedFile] = field(default_factory=dict)
    duplicate_files: list[str] = field(default_factory=list)
    lock_fd: int | None = None  # the directory, flocked while the form is alive (see sweep_staging)

    def cleanup(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
        if self.lock_fd is not None:  # released only once the files are gone
            os.close(self.lock_fd)
            self.lock_fd = None


def _new_form(staging_dir: Path | None) -> StagedForm:
    """A fresh private staging directory, locked for the life of the form.

    A sweep may lock and remove a directory between its creation and our flock (it is unlocked for that
    instant): then the directory we locked is no longer the one at that path, and we make another.
    """
    base = staging_dir or get_settings().staging_dir
    try:
        base.mkdir(parents=True, exist_ok=True)
        while True:
            directory = Path(tempfile.mkdtemp(prefix="upload-", dir=base))
            fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
            fcntl.flock(fd, fcntl.LOCK_EX)  # blocks only while a sweep that got it first removes it
            try:
                if os.stat(directory).st_ino == os.fstat(fd).st_ino:
                    return StagedForm(directory, lock_fd=fd)
            except FileNotFoundError:
                pass
            os.close(fd)
    except OSError as exc:
        if errors.out_of_space(exc):  # no room even for the directory (or out of inodes)
            raise _no_space() from exc
        raise


def _no_space() -> errors.InsufficientStorage:
    return errors.InsufficientStorage("Not enough storage space on the server for this upload; try again later")


class _Collector:
    """python-multipart callbacks that write file parts to disk and keep small text parts."""

    def __init__(self, form: StagedForm, max_file_bytes: int, file_limits: dict[str, int]) -> None:
        self.form = form
        self.max_file_bytes = max_file_bytes
        self.file_limits = file_limits
        self.parts = 0
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name = ""
        self._file: UploadedFile | None = None
        self._handle: IO[bytes] | None = None
        self._text = bytearray()
        self._skip = False

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": lambda d, s, e: self._add("_header_field", d[s:e]),
            "on_header_value": lambda d, s, e: self._add("_header_value", d[s:e]),
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
        }

    def _add(self, attr: str, data: bytes) -> None:
        setattr(self, attr, getattr(self, attr) + data)

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise errors.BadRequest("Too many form parts")
        self._headers, self._text, self._file, self._handle, self._skip = {}, bytearray(), None, None, False

    def on_header_end(self) -> None:
        self._headers[self._header_field.strip().lower()] = self._header_value.strip()
        self._header_field = self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b"").decode("latin-1"))
        self._name = _form_text(options.get(b"name", b""), "form field name")
        if not self._name:
            raise errors.BadRequest("Form part without a name")
        if b"filename" not in options:
            return
        filename = Path(_form_text(options[b"filename"], f"filename of '{self._name}'").replace("\\", "/")).name
        if self._name in self.form.files:
            self.form.duplicate_files.append(self._name)
            self._skip = True
            return
        # Stored under a random name in a private directory: the client's filename is only metadata.
        path = self.form.directory / secrets.token_hex(8)
        self._file = UploadedFile(self._name, path, filename,
                                  self._headers.get(b"content-type", b"").decode("latin-1"))
        self._handle = open(path, "wb")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._skip:
            return
        if self._file is not None and self._handle is not None:
            self._file.size += end - start
            if self._file.size > self.file_limits.get(self._name, self.max_file_bytes):
                raise too_large(self._name, self.file_limits.get(self._name, self.max_file_bytes))
            self._handle.write(data[start:end])
        else:
            self._text += data[start:end]
            if len(self._text) > MAX_TEXT_FIELD_BYTES:
                raise errors.PayloadTooLarge(f"Form field too large: {self._name}")

    def on_part_end(self) -> None:
        if self._skip:
            return
        if self._file is not None and self._handle is not None:
            self._handle.close()
            self._handle = None
            self.form.files[self._name] = self._file
        else:
            self.form.fields[self._name] = _form_text(bytes(self._text), f"form field '{self._name}'")

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


def _form_text(raw: bytes, where: str) -> str:
    """A multipart name, filename or text value: UTF-8 that PostgreSQL can store, else a 400 naming it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.BadRequest(f"The {where} is not UTF-8 text") from None
    return require_storable(text, where)


def stream_form(chunks: Iterable[bytes], content_type: str, *, max_file_bytes: int,
                file_limits: dict[str, int] | None = None, staging_dir: Path | None = None) -> StagedForm:
    """Parse a multipart body chunk by chunk, spooling files to a fresh private directory."""
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != MULTIPART.encode() or not boundary:
        raise errors.BadRequest("Malformed multipart body: missing boundary")
    form = _new_form(staging_dir)
    collector = _Collector(form, max_file_bytes, file_limits or {})
    try:
        parser = MultipartParser(boundary, collector.callbacks())
        for chunk in chunks:
            if chunk:
                parser.write(chunk)
        parser.finalize()
        if parser.state != MultipartState.END:  # the closing boundary never came: a cut-off upload
            raise errors.BadRequest("Malformed multipart body: truncated")
    except FormParserError:
        collector.close()
        form.cleanup()
        raise errors.BadRequest("Malformed multipart body") from None
    except BaseException as exc:
        _close_quietly(collector)  # closing flushes: on a full disk that fails too
        form.cleanup()
        if errors.out_of_space(exc):
            raise _no_space() from exc
        raise
    return form


def _close_quietly(collector: _Collector) -> None:
    try:
        collector.close()
    except OSError:  # the file is being removed anyway; the first error is the one to report
        pass


# ------------------------------------------------------------------ a form the WSGI shim staged

_handed = threading.local()


@contextmanager
def handing_over(form: StagedForm | None) -> Iterator[None]:
    """The shim parsed this request's body to disk before routing: the handler running on this thread, for this
    request, takes it with `read_form` / `read_raw_file`. Nothing a client sends can name a staged form, and what
    the handler did not take is removed when the request ends."""
    _handed.form = form
    try:
        yield
    finally:
        left = getattr(_handed, "form", None)
        _handed.form = None
        if left is not None:
            left.cleanup()


def _take_handed_over() -> StagedForm | None:
    form = getattr(_handed, "form", None)
    _handed.form = None
    return form


@contextmanager
def read_form(request: Request, route: UploadRoute | None = None) -> Iterator[StagedForm]:
    """The request's multipart form, files on disk; removed when the block ends.

    The upload `route` (shared.web.upload_policy) says which file fields it takes and their limits; any other
    file field is a 400. Without one, the form may carry text fields only.
    """
    file_fields = route.file_fields() if route is not None else {}
    if media_type(request) != MULTIPART:
        raise errors.UnsupportedMediaType("Expected multipart/form-data")
    form = _take_handed_over()
    if form is None:
        raw = request.raw_body or b""
        form = stream_form([raw if isinstance(raw, bytes) else raw.encode()],
                           request.headers.get("content-type", ""),
                           max_file_bytes=max(file_fields.values(), default=1), file_limits=file_fields)
    try:
        unexpected = sorted(set(form.files) - set(file_fields))
        if unexpected:
            raise errors.BadRequest(f"Unexpected field: {unexpected[0]}")
        if form.duplicate_files:
            raise errors.BadRequest(f"Unexpected field: {form.duplicate_files[0]} (only one file allowed)")
        for name, upload in form.files.items():
            if upload.size > file_fields[name]:
                raise too_large(name, file_fields[name])
        yield form
    finally:
        form.cleanup()


def stage_raw(chunks: Iterable[bytes], content_type: str, *, staging_dir: Path | None = None) -> StagedForm:
    """A raw (non-multipart) upload body, spooled to disk as the form's one file, `file`."""
    form = _new_form(staging_dir)
    upload = UploadedFile("file", form.directory / "body", "", content_type)
    try:
        with open(upload.path, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                upload.size += len(chunk)
    except BaseException as exc:
        form.cleanup()
        if errors.out_of_space(exc):
            raise _no_space() from exc
        raise
    form.files["file"] = upload
    return form


@contextmanager
def read_raw_file(request: Request) -> Iterator[UploadedFile]:
    """A raw upload body as a file on disk (streamed there by the shim, or written from raw_body)."""
    form = _take_handed_over()
    if form is None:
        raw = request.raw_body or b""
        form = stage_raw([raw if isinstance(raw, bytes) else raw.encode()], request.headers.get("content-type", ""))
    try:
        yield form.files["file"]
    finally:
        form.cleanup()


def read_text_fields(request: Request) -> dict[str, Any]:
    """The text fields of a multipart body that carries no files (e.g. update-account sent as form-data)."""
    with read_form(request) as form:
        return dict(form.fields)


def _last_modified(path: Path) -> float:
    """The newest mtime in a staging entry: a file being written moves its own mtime, not its directory's."""
    newest = path.lstat().st_mtime
    if path.is_dir() and not path.is_symlink():
        for root, dirs, files in os.walk(path):
            for name in (*dirs, *files):
                try:
                    newest = max(newest, os.lstat(os.path.join(root, name)).st_mtime)
                except FileNotFoundError:
                    continue
    return newest


def sweep_staging(staging_dir: Path | None = None, *, min_idle_seconds: float = 0.0) -> list[Path]:
    """Remove what uploads left in staging when their process died (a crash, a killed worker); return it.

    A form's directory is flocked while its upload is alive, so a locked entry is skipped whatever its age.
    An entry is also kept while anything in it changed less than `min_idle_seconds` ago: the periodic sweep
    passes a grace period on top of the lock, the sweep at start (no worker running yet) passes 0.
    """
    base = staging_dir or get_settings().staging_dir
    if not base.is_dir():
        return []
    removed: list[Path] = []
    now = time.time()
    for entry in base.iterdir():
        try:
            if min_idle_seconds and now - _last_modified(entry) < min_idle_seconds:
                continue
            if entry.is_symlink() or not entry.is_dir():
                entry.unlink()  # no live upload writes a file at the top level: only a dead one's leftovers
                removed.append(entry)
                continue
            fd = os.open(entry, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:  # its own upload finished and removed it meanwhile
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # an upload (or its handler) is using it
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
        finally:
            os.close(fd)
    return removed
