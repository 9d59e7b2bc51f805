"""CORS with an explicit allow-list of origins (credentials are allowed, so never `*`)."""

from __future__ import annotations

from shared.settings import get_settings

ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
ALLOW_HEADERS = "Authorization, Content-Type, X-Request-Id, Range, If-None-Match"
EXPOSE_HEADERS = ("X-Request-Id, Content-Range, Content-Length, ETag, Retry-After, "
                  "RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset")


def allowed_origin(origin: str | None) -> str | None:
    if origin and origin.rstrip("/") in get_settings().cors_origins:
        return origin
    return None


def response_headers(origin: str | None) -> dict[str, str]:
    """Headers for a normal response to a request carrying `Origin`."""
    if not allowed_origin(origin):
        return {"Vary": "Origin"} if origin else {}
    return {"Access-Control-Allow-Origin": origin or "", "Access-Control-Allow-Credentials": "true",
            "Access-Control-Expose-Headers": EXPOSE_HEADERS, "Vary": "Origin"}


def preflight_headers(origin: str | None) -> dict[str, str]:
    """Headers answering an OPTIONS preflight; none at all for an origin not on the list."""
    if not allowed_origin(origin):
        return {"Vary": "Origin"}
    return {**response_headers(origin), "Access-Control-Allow-Methods": ALLOW_METHODS,
            "Access-Control-Allow-Headers": ALLOW_HEADERS, "Access-Control-Max-Age": "600"}
