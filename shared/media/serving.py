"""Serving a file over HTTP: ETag, Cache-Control, conditional GET (304) and byte ranges (206 / 416).

Behind the WSGI shim the bytes are streamed from disk by the shim (`SENDFILE_HEADER`); elsewhere
(Lambda, test client) the requested range is read into the response.
"""

from __future__ import annotations

import re
from pathlib import Path

from chalice import Response
from chalice.app import Request

from shared import errors

SENDFILE_HEADER = "X-VizTube-Sendfile"
# Set to True by the WSGI shim when it runs: it then streams files itself instead of taking bytes.
SENDFILE_ENABLED = False
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
MAX_INLINE_BYTES = 8 * 1024 * 1024  # without the shim, one response carries at most this much


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(start, end inclusive) of a single-range header; None to ignore it (multi-range, junk)."""
    match = _RANGE.match(header.strip())
    if not match:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":  # suffix range: the last N bytes
        length = int(last)
        if length == 0:
            raise _unsatisfiable(size)
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        raise _unsatisfiable(size)
    return start, end


def _unsatisfiable(size: int) -> errors.AppError:
    err = errors.AppError("Range Not Satisfiable", headers={"Content-Range": f"bytes */{size}"})
    err.status_code = 416
    return err


def serve_file(request: Request, path: Path, content_type: str, *, cache_control: str | None = None) -> Response:
    stat = path.stat()
    size = stat.st_size
    etag = f'"{stat.st_mtime_ns:x}-{size:x}"'
    headers: dict[str, str | list[str]] = {
        "Content-Type": content_type,
        "ETag": etag,
        "Accept-Ranges": "bytes",
        # Stored names are random and never rewritten, so a response can be cached for good.
        "Cache-Control": cache_control or "public, max-age=31536000, immutable",
        # Kept a year, so the copy an <img> or <video> loaded (no Origin, no CORS headers) must not be reused for a
        # cross-origin fetch of the same URL: a cache keys the answer on Origin (the middleware says so on every
        # answer; said here too, where it matters most, so no path can serve a file without it).
        "Vary": "Origin",
    }
    if etag in [t.strip() for t in (request.headers.get("if-none-match") or "").split(",")]:
        return Response(body=b"", status_code=304, headers=headers)
    status, start, end = 200, 0, size - 1
    range_header = request.headers.get("range")
    if range_header and size > 0:
        if_range = request.headers.get("if-range")
        if not if_range or if_range == etag:
            parsed = _parse_range(range_header, size)
            if parsed:
                status, (start, end) = 206, parsed
                headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    length = max(0, end - start + 1)
    headers["Content-Length"] = str(length)
    if request.method == "HEAD":
        return Response(body=b"", status_code=status, headers=headers)
    if SENDFILE_ENABLED:
        headers[SENDFILE_HEADER] = f"{path}|{start}|{length}"
        return Response(body=b"", status_code=status, headers=headers)
    if length > MAX_INLINE_BYTES:  # a partial answer; players follow up with further ranges
        status, end, length = 206, start + MAX_INLINE_BYTES - 1, MAX_INLINE_BYTES
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        headers["Content-Length"] = str(length)
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read(length)
    return Response(body=data, status_code=status, headers=headers)
