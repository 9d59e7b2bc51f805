"""GET /api/v2/healthcheck: the service answers, and says whether its database does."""

from __future__ import annotations

from chalice import Blueprint, Response

from shared import db, errors
from shared.openapi import doc
from shared.web.envelope import ok

bp = Blueprint(__name__)


@bp.route("/", methods=["GET"])
@doc("Service and database health", response={"type": "string"}, public=True)
def healthcheck() -> Response:
    try:
        db.fetch_value("SELECT 1")
        database = "ok"
    except errors.AppError:
        database = "unavailable"
    healthy = database == "ok"
    # `data` stays the original's string; the checks ride alongside as an additive key.
    return ok("Health check passed!" if healthy else "Health check failed",
              "Success" if healthy else "Database unavailable", status=200 if healthy else 503,
              headers={"Cache-Control": "no-store"}, extra={"checks": {"database": database}})
