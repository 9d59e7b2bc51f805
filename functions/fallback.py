"""JSON 404 for every path no route claims (Chalice's local gateway would answer 403 "Missing Authentication Token").

The local route matcher compares paths segment by segment and tries literal routes before `{param}`
ones, so one catch-all per depth, rooted at `/{p1}`, only ever sees paths nothing else matched.
"""

from __future__ import annotations

from chalice import Blueprint

from shared import errors

bp = Blueprint(__name__)
MAX_DEPTH = 12
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]


def _not_found(**_segments: str) -> None:
    raise errors.NotFound(f"Route not found: {bp.current_request.method} {bp.current_request.context.get('path', '')}")


for _depth in range(1, MAX_DEPTH + 1):
    _path = "".join(f"/{{p{i}}}" for i in range(1, _depth + 1))
    bp.route(_path, methods=METHODS, content_types=["*/*"], name=f"route_not_found_{_depth}")(_not_found)
