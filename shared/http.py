"""HTTP helpers shared by every handler: the envelope, JSON encoding, and parsing of bodies, pages, ids, cookies."""

from __future__ import annotations

import contextvars
import datetime as dt
import decimal
import ipaddress
import json
import uuid
from collections.abc import Iterable
from functools import lru_cache
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs, unquote

from chalice import Response
from chalice.app import Request

from shared import errors
from shared.settings import PROJECT_DIR, get_settings
from shared.text import require_storable, require_storable_tree

JSON = "application/json"
FORM_URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
# Routes that read a JSON body also take a urlencoded form, like the original (express.urlencoded).
BODY_TYPES = [JSON, FORM_URLENCODED]
UPLOAD_TYPES = [MULTIPART]

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def iso_timestamp(value: dt.datetime) -> str:
    """ISO-8601 UTC with milliseconds, as the original serialises: 2026-06-14T08:42:08.123Z."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return iso_timestamp(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", by_alias=True)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(value: Any) -> str:
    return json.dumps(value, default=_json_default, separators=(",", ":"), ensure_ascii=False)


def ok(data: Any, message: str, *, status: int = 200, body_status: int | None = None,
       cookies: Iterable[str] = (), headers: dict[str, Any] | None = None) -> Response:
    """The success envelope {statusCode, data, message, success}."""
    code = body_status or status
    body = to_json({"statusCode": code, "data": data, "message": message, "success": code < 400})
    out_headers: dict[str, Any] = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    cookie_list = list(cookies)
    if cookie_list:
        out_headers["Set-Cookie"] = cookie_list
    return Response(body=body, status_code=status, headers=out_headers)


def error_response(status: int, message: str, errors_list: list[str] | None = None,
                   headers: dict[str, Any] | None = None) -> Response:
    """The error envelope {statusCode, data: null, success: false, errors, message}."""
    body = to_json({"statusCode": status, "data": None, "success": False,
                    "errors": errors_list or [], "message": message})
    return Response(body=body, status_code=status,
                    headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})})


# ---------------------------------------------------------------------------------------------- input


def media_type(request: Request) -> str:
    return (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()


def _raw_body(request: Request) -> bytes:
    raw = request.raw_body or b""
    return raw if isinstance(raw, bytes) else raw.encode("utf-8")


def read_body(request: Request) -> dict[str, Any]:
    """The request's JSON object or urlencoded form as a dict; {} when there is no body.

    Wrong content types are 415, malformed JSON is 400, oversized bodies are 413: never a 500.
    """
    raw = _raw_body(request)
    if len(raw) > get_settings().max_json_bytes:
        raise errors.PayloadTooLarge("Request body too large")
    kind = media_type(request)
    if not raw.strip():
        return {}
    if kind in ("", JSON) or kind.endswith("+json"):
        try:
            value = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise errors.BadRequest("Malformed JSON body") from None
        if not isinstance(value, dict):
            raise errors.BadRequest("Request body must be a JSON object")
        require_storable_tree(value)
        return value
    if kind == FORM_URLENCODED:
        try:  # strict: a %-escape that is not UTF-8 is refused, not turned into U+FFFD
            pairs = parse_qs(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False, errors="strict")
        except UnicodeDecodeError:
            raise errors.BadRequest("Malformed form body: not UTF-8 text") from None
        form = {k: v[0] if len(v) == 1 else v for k, v in pairs.items()}
        require_storable_tree(form)
        return form
    if kind == MULTIPART:
        from shared.uploads import read_text_fields  # multipart without files, e.g. update-account

        return read_text_fields(request)
    raise errors.UnsupportedMediaType(f"Unsupported media type: {kind}")


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


@lru_cache(maxsize=8)
def _trusted_networks(entries: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """TRUSTED_PROXIES: CIDRs, plus `cloudflare` for Cloudflare's published ranges (infra/data)."""
    networks = []
    for entry in entries:
        if entry.lower() == "cloudflare":
            lines = (PROJECT_DIR / "infra" / "data" / "cloudflare-ips.txt").read_text().splitlines()
            networks += [ipaddress.ip_network(line.strip()) for line in lines if line.strip() and line[0] != "#"]
        else:
            networks.append(ipaddress.ip_network(entry, strict=False))
    return tuple(networks)


def _ip(value: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address((value or "").strip())
    except ValueError:
        return None


def client_ip(request: Request) -> str:
    """The socket peer; a forwarded header is believed only when that peer is a configured trusted proxy
    (so a client cannot pick its own address to dodge rate limits)."""
    peer = ((request.context or {}).get("identity") or {}).get("sourceIp") or "unknown"
    networks = _trusted_networks(get_settings().trusted_proxies)
    peer_ip = _ip(peer)
    if not networks or peer_ip is None or not any(peer_ip in n for n in networks):
        return peer
    forwarded = _ip(request.headers.get("cf-connecting-ip"))
    if forwarded is not None:
        return str(forwarded)
    # X-Forwarded-For: the right-most address our trusted proxies did not add themselves.
    for hop in reversed((request.headers.get("x-forwarded-for") or "").split(",")):
        hop_ip = _ip(hop)
        if hop_ip is None:
            break
        if not any(hop_ip in n for n in networks):
            return str(hop_ip)
    real = _ip(request.headers.get("x-real-ip"))
    return str(real) if real is not None else peer


def user_agent(request: Request) -> str:
    """The User-Agent, as stored with a session."""
    return require_storable((request.headers.get("user-agent") or "")[:400], "header 'User-Agent'")
