"""WSGI shim: the Chalice app under a production WSGI server (Granian, threads), same handlers as Lambda.

Requests go straight to the view functions through shared.web.dispatch (a route table compiled once from the
app's routes, the app's middleware, Chalice's error mapping: what `chalice local` and the test client answer,
without a Lambda event built and parsed per request). What it adds for a server that lives on one small box:
* `current_request` is thread-local (platform-notes §3: without this, threads see each other's requests);
* bodies over the route's limit are refused with 413 before they are read;
* the bodies of upload routes (shared.web.upload_policy) are streamed to disk while parsed, never held in
  memory, and handed to the handler on the request's thread (shared.web.forms.handing_over);
* media files are streamed from disk in chunks (shared.media.serving's sendfile header);
* the client IP is the socket peer (a forwarded header only from a configured trusted proxy, issue #5).
"""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Iterable, Iterator
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from chalice.cli.factory import CLIFactory
from chalice.local import LocalChalice

from shared import errors, jobs
from shared.media import serving as media_serving
from shared.settings import PROJECT_DIR, get_settings
from shared.web import cors
from shared.web.dispatch import Dispatcher
from shared.web.envelope import JSON_CONTENT_TYPE, error_json
from shared.web.forms import StagedForm, handing_over, stage_raw, stream_form
from shared.web.upload_policy import body_limit, is_raw_upload

STAGE = get_settings().stage
CHUNK = 64 * 1024
# Granian hands a request to a Python thread before its body has arrived, and a WSGI read cannot time out, so a
# client that sends a body slowly (or stops) holds a thread. Receiving bodies may take all threads but two, so
# requests without a body (reads, health probes) are always served; past that, a body waits a moment (a normal
# body arrives in well under a millisecond, so a burst of them queues fine), then 503: waiting holds a thread too.
BODY_SLOT_WAIT_SECONDS = 0.2
_body_slots = threading.BoundedSemaphore(max(1, get_settings().web_threads - 2))

_factory = CLIFactory(str(PROJECT_DIR), environ=os.environ)
_config = _factory.create_config_obj(chalice_stage_name=STAGE)
app = _config.chalice_app


class _ThreadLocalApp(LocalChalice, app.__class__):  # type: ignore[misc]
    """The same class swap `chalice local` does: current_request becomes per-thread."""


app.__class__ = _ThreadLocalApp
media_serving.SENDFILE_ENABLED = True
if get_settings().jobs_enabled:  # JOBS=off: API only, `python -m infra.worker` runs the jobs elsewhere
    jobs.start_worker()  # this process runs queued jobs (probing, clean-ups) in the background
# Start-up objects (modules, the app, pydantic schemas) live for the whole process: move them out of the
# collector's way, and collect the young generation less often, so full collections stop pausing requests.
gc.freeze()
gc.set_threshold(20_000, 50, 100)


_dispatcher = Dispatcher(app)


def _status(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"{code} Unknown"


def _error(start_response: Any, status: int, message: str, extra: dict[str, str] | None = None) -> list[bytes]:
    body = error_json(status, message).encode()
    headers = [("Content-Type", JSON_CONTENT_TYPE), ("Content-Length", str(len(body))),
               *(extra or {}).items()]
    start_response(_status(status), headers)
    return [body]


def too_large_message(path: str, limit: int) -> str:
    message = f"Request body larger than {limit // (1024 * 1024) or 1} MB"
    if path.split("?", 1)[0].rstrip("/").endswith("/api/v2/videos"):
        message += "; upload large files with POST /api/v2/uploads, then publish with videoUploadId"
    return message


def _read_chunks(stream: Any, length: int | None, limit: int) -> Iterator[bytes]:
    """The request body in chunks; raises 413 as soon as more than `limit` bytes arrive."""
    remaining = length
    total = 0
    while remaining is None or remaining > 0:
        chunk = stream.read(CHUNK if remaining is None else min(CHUNK, remaining))
        if not chunk:
            if remaining:
                raise errors.BadRequest("Request body ended early")
            return
        total += len(chunk)
        if total > limit:
            raise errors.PayloadTooLarge(f"Request body larger than {limit // (1024 * 1024) or 1} MB")
        if remaining is not None:
            remaining -= len(chunk)
        yield chunk


def _file_iter(path: str, start: int, length: int) -> Iterator[bytes]:
    with open(path, "rb") as f:
        f.seek(start)
        left = length
        while left > 0:
            data = f.read(min(256 * 1024, left))
            if not data:
                return
            left -= len(data)
            yield data


# Granian (like wsgiref) builds each environ on top of the process environment: an HTTP_* variable of
# the process is not a request header, unless the request really sent it (then its value wins).
_PROCESS_HTTP_VARS = {k: v for k, v in os.environ.items() if k.startswith("HTTP_")}
# The process's other variables, skipped with one set difference (in C) rather than a test per key: Granian's
# environ carries the whole process environment, ~50 keys, and scanning them was 4 µs a request.
_PROCESS_KEYS = frozenset(os.environ) - _PROCESS_HTTP_VARS.keys()


def _request_headers(environ: dict[str, Any]) -> dict[str, str]:
    return {k[5:].replace("_", "-").lower(): environ[k] for k in environ.keys() - _PROCESS_KEYS
            if k.startswith("HTTP_") and _PROCESS_HTTP_VARS.get(k) != environ[k]}


def request_path(environ: dict[str, Any]) -> str:
    """The path and query, %-encoded, as chalice local passes them: the raw target when the server keeps it
    (gunicorn's RAW_URI, uWSGI's REQUEST_URI), else rebuilt from PATH_INFO (Granian), which PEP 3333 carries
    as latin-1-decoded bytes."""
    path = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
    if path.startswith("/"):
        return path
    path = quote((environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "/")).encode("latin-1"))
    if environ.get("QUERY_STRING"):
        path += "?" + environ["QUERY_STRING"]
    return path


def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    method = environ["REQUEST_METHOD"]
    headers = _request_headers(environ)
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    path = request_path(environ)

    if method == "OPTIONS":  # CORS preflight: answered here, for every path
        preflight = cors.preflight_headers(headers.get("origin"))
        start_response("204 No Content", list(preflight.items()))
        return [b""]

    route_path = path.split("?", 1)[0]
    limit = body_limit(method, route_path, headers.get("content-type", ""))
    raw_length = environ.get("CONTENT_LENGTH") or ""
    length = int(raw_length) if raw_length.isdigit() else None
    chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    if length is not None and length > limit:
        return _error(start_response, 413, too_large_message(path, limit))

    staged: StagedForm | None = None
    body: bytes | None = None
    receiving = bool(length or chunked)
    if receiving and not _body_slots.acquire(timeout=BODY_SLOT_WAIT_SECONDS):
        return _error(start_response, 503, "Server busy receiving other request bodies, please retry",
                      {"Retry-After": "5"})
    try:
        if receiving:
            chunks = _read_chunks(environ["wsgi.input"], length, limit)
            if headers.get("content-type", "").lower().startswith("multipart/form-data"):
                staged = stream_form(chunks, headers["content-type"], max_file_bytes=limit)
            elif is_raw_upload(method, route_path):  # the file itself as the body: to disk too
                staged = stage_raw(chunks, headers.get("content-type", ""))
            else:
                body = b"".join(chunks)
    except errors.AppError as exc:
        return _error(start_response, exc.status_code, exc.message)
    finally:
        if receiving:
            _body_slots.release()

    with handing_over(staged):
        response = _dispatcher.dispatch(method, path, headers, body, environ.get("REMOTE_ADDR", "unknown"))
    start_response(_status(response.status), response.headers)
    if response.sendfile:  # the handler named a file (shared.media.serving): streamed from disk in chunks
        return _file_iter(*response.sendfile)
    return [response.body]


__all__ = ["app", "application"]
