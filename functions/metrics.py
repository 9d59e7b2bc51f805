"""GET /metrics in Prometheus' text format (behind Nginx it is not reachable from outside; METRICS_TOKEN guards it)."""

from __future__ import annotations

import hmac

from chalice import Blueprint, Response

from shared import errors, metrics
from shared.openapi import doc
from shared.settings import get_settings

bp = Blueprint(__name__)


@bp.route("/metrics", methods=["GET"])
@doc("Prometheus metrics", public=True)
def prometheus_metrics() -> Response:
    token = get_settings().metrics_token
    if token:
        given = (bp.current_request.headers.get("authorization") or "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise errors.NotAuthenticated("Unauthorized request")
    body, content_type = metrics.render()
    return Response(body=body.decode(), status_code=200, headers={"Content-Type": content_type,
                                                                   "Cache-Control": "no-store"})
