"""Reading a request: media type, pages, ids, path and query text, cookies, the User-Agent (text checked by
shared.text as it enters)."""

from __future__ import annotations

import uuid
from http.cookies import CookieError, SimpleCookie
from urllib.parse import unquote

from chalice.app import Request

from shared import errors
from shared.text import require_storable

JSON = "application/json"
FORM_URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
# Routes that read a JSON body also take a urlencoded form, like the original (express.urlencoded).
BODY_TYPES = [JSON, FORM_URLENCODED]
UPLOAD_TYPES = [MULTIPART]


def media_type(request: Request) -> str:
    return (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()


def raw_body(request: Request) -> bytes:
    raw = request.raw_body or b""
    return raw if isinstance(raw, bytes) else raw.encode("utf-8")


def query_param(request: Request, name: str) -> str | None:
    """One query parameter; repeating it is a 400, not a silent pick."""
    params = request.query_params
    if not params or name not in params:
        return None
    values = params.getlist(name)
    if len(values) > 1:
        raise errors.BadRequest(f"Query parameter '{name}' must be given once")
    return require_storable(values[0], f"query parameter '{name}'")


def _int_param(request: Request, name: str, default: int, low: int, high: int | None) -> int:
    raw = query_param(request, name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        raise errors.BadRequest(f"'{name}' must be an integer {bound}")
    return value


def limit_param(request: Request, default_limit: int = 20) -> int:
    """`limit` of a cursor-paged list: 1..100, else 400."""
    return _int_param(request, "limit", default_limit, 1, 100)


def page_params(request: Request, default_limit: int = 10) -> tuple[int, int]:
    """(page, limit): page >= 1, limit 1..100, else 400."""
    page = _int_param(request, "page", 1, 1, 1_000_000)
    limit = _int_param(request, "limit", default_limit, 1, 100)
    return page, limit


def parse_uuid(value: str | None, message: str) -> uuid.UUID:
    """A path id as a UUID; anything else is a 400 with the resource's message ("Invalid video ID")."""
    try:
        return uuid.UUID(unquote(value or "").strip())
    except ValueError:
        raise errors.BadRequest(message) from None


def path_text(value: str, name: str) -> str:
    """A text path parameter, URL-decoded (Chalice does not: aws/chalice#511); bytes that are not UTF-8, a NUL
    or a lone surrogate are a 400 naming the parameter."""
    try:
        text = unquote(value, errors="strict")
    except UnicodeDecodeError:
        raise errors.BadRequest(f"The path parameter '{name}' is not UTF-8 text") from None
    return require_storable(text, f"path parameter '{name}'")


def cookies(request: Request) -> dict[str, str]:
    header = request.headers.get("cookie") or ""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        # One malformed cookie must not hide the others: fall back to a lenient split.
        out: dict[str, str] = {}
        for part in header.split(";"):
            name, sep, value = part.strip().partition("=")
            if sep and name:
                out[name] = value
        return out
    return {name: morsel.value for name, morsel in jar.items()}


def user_agent(request: Request) -> str:
    """The User-Agent, as stored with a session."""
    return require_storable((request.headers.get("user-agent") or "")[:400], "header 'User-Agent'")
