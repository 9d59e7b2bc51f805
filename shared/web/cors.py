"""CORS with an explicit allow-list of origins (credentials are allowed, so never `*`), and whether the auth cookies
can reach those origins at all."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from shared.settings import Settings, get_settings

ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
ALLOW_HEADERS = "Authorization, Content-Type, X-Request-Id, Range, If-None-Match"
# What a browser app may read of an answer: the paging headers of the lists (X-Total-Count, Link) among them.
EXPOSE_HEADERS = ("X-Request-Id, Content-Range, Content-Length, ETag, Retry-After, "
                  "RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, X-Total-Count, Link")


def allowed_origin(origin: str | None) -> str | None:
    if origin and origin.rstrip("/") in get_settings().cors_origins:
        return origin
    return None


def response_headers(origin: str | None) -> dict[str, str]:
    """Headers for a normal response. `Vary: Origin` is on every answer, with an Origin or without: what the CORS
    headers say depends on it, so a cache (the browser's, a CDN's) must not hand an answer stored for a request
    without Origin (an `<img>`, a `<video>`) to a cross-origin `fetch` of the same URL, which would then fail."""
    if not allowed_origin(origin):
        return {"Vary": "Origin"}
    return {"Access-Control-Allow-Origin": origin or "", "Access-Control-Allow-Credentials": "true",
            "Access-Control-Expose-Headers": EXPOSE_HEADERS, "Vary": "Origin"}


def preflight_headers(origin: str | None) -> dict[str, str]:
    """Headers answering an OPTIONS preflight; none at all for an origin not on the list."""
    if not allowed_origin(origin):
        return {"Vary": "Origin"}
    return {**response_headers(origin), "Access-Control-Allow-Methods": ALLOW_METHODS,
            "Access-Control-Allow-Headers": ALLOW_HEADERS, "Access-Control-Max-Age": "600"}


# ------------------------------------------------------------------------------------ cookies across sites


def _site(url: str) -> tuple[str, str]:
    """(scheme, registrable domain) of a URL: browsers send SameSite=Strict/Lax cookies only to requests made from
    the same site, scheme included. The registrable domain is taken as the last two labels of a name (a public suffix
    of two labels, like co.uk, is not known here: origins under one such suffix are taken as one site), the whole
    host for an IP address or a single-label name (localhost); ports do not count."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        ipaddress.ip_address(host)
        return parts.scheme, host
    except ValueError:
        return parts.scheme, ".".join(host.split(".")[-2:])


def cookie_warnings(settings: Settings) -> list[str]:
    """What the dev server says at start when CORS_ORIGINS lists origins the auth cookies cannot reach (issue #14):
    a front end there signs in fine (200) and then gets 401 on every call, with nothing to say why."""
    if settings.stage != "dev" or settings.cookie_samesite == "None":
        return []
    api = _site(settings.public_url)
    cut_off = [origin for origin in settings.cors_origins if _site(origin) != api]
    if not cut_off:
        return []
    return [f"COOKIE_SAMESITE={settings.cookie_samesite}: browsers do not send the auth cookies on requests from"
            f" {', '.join(cut_off)} (CORS_ORIGINS), another site than the API's {settings.public_url}, so a front end"
            " there that signs in with cookies gets 401 on its next call. Serve both from one site (the same host"
            " name, e.g. localhost for both: ports do not matter), or set COOKIE_SAMESITE=None (needs HTTPS and a"
            " test or prod stage), or send the access token as Authorization: Bearer"]
