"""GET /api/v2/healthcheck: the service answers, and says whether its database does."""

from __future__ import annotations

from chalice import Blueprint, Response

from shared import db, errors
from shared.http import to_json

bp = Blueprint(__name__)


@bp.route("/", methods=["GET"])
def healthcheck() -> Response:
    try:
        db.fetch_value("SELECT 1")
        database = "ok"
    except errors.AppError:
        database = "unavailable"
    healthy = database == "ok"
    # `data` stays the original's string; the checks ride alongside as an additive key.
    body = {"statusCode": 200 if healthy else 503, "data": "Health check passed!" if healthy else "Health check failed",
            "message": "Success" if healthy else "Database unavailable", "success": healthy,
            "checks": {"database": database}}
    return Response(body=to_json(body), status_code=200 if healthy else 503,
                    headers={"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store"})
