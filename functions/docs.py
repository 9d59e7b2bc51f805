"""GET /api/v2/openapi.json and GET /api/v2/docs: the API described from its own routes and models, and tried out."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from chalice import Blueprint, Response

from shared.openapi import build_spec, doc
from shared.web import docs_ui
from shared.wire import to_json

bp = Blueprint(__name__)
HTML = "text/html; charset=utf-8"


@lru_cache(maxsize=1)
def _spec(app: Any) -> str:
    return to_json(build_spec(app))


@bp.route("/openapi.json", methods=["GET"])
@doc("This OpenAPI document", public=True)
def openapi_spec() -> Response:
    return Response(body=_spec(bp.current_app), status_code=200,
                    headers={"Content-Type": "application/json; charset=utf-8", "Cache-Control": "public, max-age=300"})


@bp.route("/docs", methods=["GET"])
@doc("Interactive API documentation (Swagger UI, served from this API: works offline)", public=True)
def api_docs() -> Response:
    return Response(body=docs_ui.PAGE, status_code=200, headers={"Content-Type": HTML,
                                                                 "Cache-Control": "public, max-age=300"})


@bp.route("/docs/{asset}", methods=["GET"])
@doc("A script or stylesheet of the docs page", public=True, errors=(404,))
def api_docs_asset(asset: str) -> Response:
    body, content_type = docs_ui.asset(asset)
    return Response(body=body, status_code=200, headers={"Content-Type": content_type,
                                                         "Cache-Control": "public, max-age=86400"})
