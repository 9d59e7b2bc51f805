"""The one HTTP middleware: request ids, errors mapped to the envelope once, ETags and 304s on JSON reads, CORS and
security headers."""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import re
import secrets
import time
from collections.abc import Callable

from chalice import Response
from chalice.app import CaseInsensitiveMapping, Request

from shared import errors, metrics, ratelimit
from shared.logs import request_id_var
from shared.web import cors
from shared.web.client_ip import client_ip
from shared.web.envelope import error_response

log = logging.getLogger("viztube.http")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# Not under the global per-IP limit: health probes, and media (a player fetches many ranges and segments).
_MEDIA_PREFIX = "/api/v2/media/"
_UNLIMITED_PREFIXES = ("/api/v2/healthcheck", _MEDIA_PREFIX)

# Chalice's own error responses ({"Code", "Message"}) → our envelope's message.
_CHALICE_MESSAGES = {
    "MethodNotAllowedError": "Method not allowed",
    "InternalServerError": "Internal server error",
}


def _rewrap_chalice_error(response: Response) -> Response:
    body = response.body
    if response.status_code < 400:
        return response
    # Ours is not parsed (parsing it cost a 404 6%): only a body that starts as Chalice's does.
    if (isinstance(body, str) and not body.startswith('{"Code"')) or (
            isinstance(body, bytes) and not body.startswith(b'{"Code"')):
        return response
    if isinstance(body, (str, bytes)):
        try:
            body = json.loads(body)
        except ValueError:
            return response
    if not (isinstance(body, dict) and "Code" in body and "Message" in body):
        return response
    message = str(_CHALICE_MESSAGES.get(body["Code"], body["Message"]))
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
    return error_response(response.status_code, message, headers=headers)


def _accept_anything_when_unsaid(event: Request) -> None:
    """A request without Accept takes any media type (RFC 9110 §12.5.1); Chalice answers 400 to a binary response
    (media files, HLS) unless Accept names a binary type (API Gateway's rule, copied by its local gateway, so through
    the WSGI shim too: platform-notes §2, §9). Say explicitly what no Accept means, before Chalice checks it (only
    the media routes answer binary bodies)."""
    if (event.path or "").startswith(_MEDIA_PREFIX) and not (event.headers.get("accept") or "").strip():
        event.headers = CaseInsensitiveMapping({**event.headers, "accept": "*/*"})


def _etag_or_not_modified(event: Request, response: Response) -> Response:
    """A JSON GET answer gets an ETag, a hash of its body; when the request's If-None-Match names it (weak comparison,
    as RFC 9110 §13.1.2 wants, so a tag a proxy weakened while compressing still matches), the answer is a 304 with
    no body. Done here, once, for every route. Answers with their own ETag (media files, which also take HEAD) and
    answers that set cookies are left as they are. `Cache-Control: private, no-cache` (unless the route says
    otherwise): a browser keeps the answer but asks again each time, with the tag, and no shared cache keeps one
    user's answer for another."""
    headers = response.headers
    if event.method != "GET" or response.status_code != 200 or "ETag" in headers or "Set-Cookie" in headers:
        return response
    body = response.body
    if not isinstance(body, (str, bytes)) or not str(headers.get("Content-Type", "")).startswith("application/json"):
        return response
    digest = hashlib.blake2b(body.encode() if isinstance(body, str) else body, digest_size=12).hexdigest()
    headers["ETag"] = etag = f'W/"{digest}"'
    headers.setdefault("Cache-Control", "private, no-cache")
    wanted = event.headers.get("if-none-match")
    if wanted and any(tag.strip().removeprefix("W/") in (etag[2:], "*") for tag in wanted.split(",")):
        return Response(body="", status_code=304, headers=headers)
    return response


# Request ids: a random per-process prefix and a counter (unique across processes, and ~15 µs cheaper than a uuid4,
# whose urandom call was a fifth of a JSON 404's CPU).
_ID_PREFIX = secrets.token_hex(6)
_ids = itertools.count(1)


def handle(event: Request, get_response: Callable[[Request], Response]) -> Response:
    incoming = event.headers.get("x-request-id") or ""
    request_id = incoming if _REQUEST_ID.match(incoming) else f"{_ID_PREFIX}{next(_ids):020x}"  # 32 hex, as uuid4().hex
    token = request_id_var.set(request_id)
    started = time.perf_counter()
    try:
        try:
            # The route's template, not requestContext.path: on API Gateway that carries the stage (/api/api/v2/...).
            if ratelimit.enabled() and not (event.path or "").startswith(_UNLIMITED_PREFIXES):
                ratelimit.hit("global", client_ip(event))
            _accept_anything_when_unsaid(event)
            response = get_response(event)
        except errors.AppError as exc:
            if exc.status_code >= 500:
                log.error("request failed: %s", exc.message, exc_info=exc.__cause__ or exc)
            message = exc.message if exc.status_code != 500 else "Internal server error"
            response = error_response(exc.status_code, message, exc.errors, exc.headers)
        response = _etag_or_not_modified(event, _rewrap_chalice_error(response))
        response.headers["X-Request-Id"] = request_id
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.update(cors.response_headers(event.headers.get("origin")))
        elapsed = time.perf_counter() - started
        metrics.observe(event.method, event.path, response.status_code, elapsed)
        log.info("request", extra={"method": event.method, "path": (event.context or {}).get("path", event.path),
                                   "status": response.status_code, "durationMs": round(elapsed * 1000, 2)})
        return response
    finally:
        request_id_var.reset(token)
