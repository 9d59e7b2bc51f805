"""The response envelope, rendered in one place: {statusCode, data, message, success} for successes and
{statusCode, data: null, success: false, errors, message} for errors (the middleware, the WSGI shim and the
healthcheck all render through here)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chalice import Response

from shared.wire import to_json

JSON_CONTENT_TYPE = "application/json; charset=utf-8"


def error_json(status: int, message: str, errors_list: list[str] | None = None) -> str:
    """The error envelope's JSON text."""
    return to_json({"statusCode": status, "data": None, "success": False, "errors": errors_list or [],
                    "message": message})


def ok(data: Any, message: str, *, status: int = 200, body_status: int | None = None,
       cookies: Iterable[str] = (), headers: dict[str, Any] | None = None,
       extra: dict[str, Any] | None = None) -> Response:
    """The success envelope {statusCode, data, message, success} (plus any additive `extra` keys)."""
    code = body_status or status
    body = to_json({"statusCode": code, "data": data, "message": message, "success": code < 400, **(extra or {})})
    out_headers: dict[str, Any] = {"Content-Type": JSON_CONTENT_TYPE, **(headers or {})}
    cookie_list = list(cookies)
    if cookie_list:
        out_headers["Set-Cookie"] = cookie_list
    return Response(body=body, status_code=status, headers=out_headers)


def error_response(status: int, message: str, errors_list: list[str] | None = None,
                   headers: dict[str, Any] | None = None) -> Response:
    """The error envelope {statusCode, data: null, success: false, errors, message}."""
    body = error_json(status, message, errors_list)
    return Response(body=body, status_code=status,
                    headers={"Content-Type": JSON_CONTENT_TYPE, **(headers or {})})
