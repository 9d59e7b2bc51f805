"""GET /api/v2/openapi.json and GET /api/v2/docs: the API described from its own routes and models."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from chalice import Blueprint, Response

from shared.openapi import build_spec, doc, render_docs
from shared.wire import to_json

bp = Blueprint(__name__)


@lru_cache(maxsize=1)
def _spec(app: Any) -> tuple[str, str]:
    spec = build_spec(app)
    return to_json(spec), render_docs(spec)


@bp.route("/openapi.json", methods=["GET"])
@doc("This OpenAPI document", public=True)
def openapi_spec() -> Response:
    body, _ = _spec(bp.current_app)
    return Response(body=body, status_code=200, headers={"Content-Type": "application/json; charset=utf-8",
                                                          "Cache-Control": "public, max-age=300"})


@bp.route("/docs", methods=["GET"])
@doc("Human-readable API documentation", public=True)
def api_docs() -> Response:
    _, page = _spec(bp.current_app)
    return Response(body=page, status_code=200, headers={"Content-Type": "text/html; charset=utf-8",
                                                          "Cache-Control": "public, max-age=300"})
