"""A user's webhook endpoints (issue #15, point 5): registering one (its URL checked against server-side request
forgery, a signing secret drawn), listing and deleting them, listing an endpoint's deliveries and re-sending one.

Everything is the caller's own: another user's endpoint or delivery is a 404, as if it did not exist."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from shared import db, errors
from shared.auth import CurrentUser
from shared.schemas.webhooks import EndpointIn, WebhookDeliveryOut
from shared.services.webhook_delivery import queue
from shared.services.webhook_urls import check_endpoint_url
from shared.sql import webhooks as webhooks_sql
from shared.wire import from_json

MAX_ENDPOINTS = 10  # per user
ATTEMPTS_SHOWN = 10  # the most recent attempts listed with each delivery


def _new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)  # 256 bits


def create_endpoint(user: CurrentUser, body: EndpointIn) -> dict[str, Any]:
    """The new endpoint with its secret (the only answer that shows it); 400 for a URL the server must not send
    to, 409 past MAX_ENDPOINTS."""
    url = check_endpoint_url(body.url)
    secret = _new_secret()
    row = webhooks_sql.create_endpoint(user_id=user.id, url=url, events=body.events, secret=secret,
                                       max_per_user=MAX_ENDPOINTS)
    if row is None:
        raise errors.Conflict(f"You already have {MAX_ENDPOINTS} webhook endpoints, the most allowed: delete one "
                              "first")
    return {**row, "secret": secret}


def list_endpoints(user: CurrentUser) -> list[dict[str, Any]]:
    return webhooks_sql.endpoints_of(user_id=user.id)


def delete_endpoint(user: CurrentUser, endpoint_id: uuid.UUID) -> None:
    if not webhooks_sql.delete_endpoint(user_id=user.id, endpoint_id=endpoint_id):
        raise errors.NotFound("Webhook endpoint not found")


def _cursor(value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise errors.BadRequest("Invalid cursor") from None


def _present(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Deliveries on the wire, each with its most recent attempts (one more statement for the whole page)."""
    attempts: dict[uuid.UUID, list[dict[str, Any]]] = {row["id"]: [] for row in rows}
    if rows:
        for attempt in webhooks_sql.recent_attempts(delivery_ids=list(attempts), per_delivery=ATTEMPTS_SHOWN):
            attempts[attempt["delivery_id"]].append(attempt)
    return [WebhookDeliveryOut.shape({**row, "type": row["event_type"], "payload": from_json(row["body"]),
                                      "recent_attempts": attempts[row["id"]]}) for row in rows]


def deliveries(user: CurrentUser, endpoint_id: uuid.UUID, *, cursor: str | None, limit: int) -> dict[str, Any]:
    """`{docs, nextCursor}`: the endpoint's deliveries, newest first, paged by the last one's id."""
    before = _cursor(cursor)
    if not webhooks_sql.owns_endpoint(user_id=user.id, endpoint_id=endpoint_id):
        raise errors.NotFound("Webhook endpoint not found")
    # One row more than asked says whether there is a next page without a second query.
    rows = webhooks_sql.deliveries_of(endpoint_id=endpoint_id, before=before, limit=limit + 1)
    page = rows[:limit]
    return {"docs": _present(page), "nextCursor": str(page[-1]["id"]) if len(rows) > limit else None}


def resend(user: CurrentUser, delivery_id: uuid.UUID) -> dict[str, Any]:
    """Send the delivery again, at once (by a job), with the same body; any retry of it still queued is retired, and
    a failed attempt is retried while its attempts are under the cap."""
    with db.transaction():
        seq = webhooks_sql.restart(user_id=user.id, delivery_id=delivery_id)
        if seq is None:
            raise errors.NotFound("Webhook delivery not found")
        queue(delivery_id, seq=seq)
        row = webhooks_sql.get_delivery(delivery_id=delivery_id)
    assert row is not None  # updated just now, in this transaction
    return _present([row])[0]
