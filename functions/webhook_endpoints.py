"""Webhooks for API clients: /api/v2/webhooks/endpoints* and /api/v2/webhooks/deliveries/* (issue #15, points 5 and
8). The same prefix as the store's own notification (functions/webhooks.py), which this leaves alone."""

from __future__ import annotations

from chalice import Blueprint, Response

from shared.auth import require_user
from shared.openapi import EMPTY, doc
from shared.schemas import parse_input
from shared.schemas.webhooks import (
    EndpointIn,
    WebhookDeliveryOut,
    WebhookDeliveryPage,
    WebhookEndpointCreated,
    WebhookEndpointOut,
)
from shared.services import webhooks
from shared.web.body import read_body
from shared.web.envelope import ok
from shared.web.request import BODY_TYPES, limit_param, parse_uuid, query_param

bp = Blueprint(__name__)


@bp.route("/endpoints", methods=["POST"], content_types=BODY_TYPES)
@doc("Register a webhook endpoint for my events; its signing secret is in this answer only", body=EndpointIn,
     response=WebhookEndpointCreated, status=201, errors=(409, 422))
def create_webhook_endpoint() -> Response:
    request = bp.current_request
    user = require_user(request)
    body = parse_input(EndpointIn, read_body(request))
    endpoint = webhooks.create_endpoint(user, body)
    return ok(WebhookEndpointCreated.shape(endpoint), "Webhook endpoint created", status=201)


@bp.route("/endpoints", methods=["GET"])
@doc("My webhook endpoints, newest first, with how their latest delivery attempt went (no secrets)",
     response=[WebhookEndpointOut])
def list_webhook_endpoints() -> Response:
    user = require_user(bp.current_request)
    return ok([WebhookEndpointOut.shape(r) for r in webhooks.list_endpoints(user)], "Webhook endpoints fetched")


@bp.route("/endpoints/{endpoint_id}", methods=["DELETE"])
@doc("Delete one of my webhook endpoints (its deliveries go with it; nothing more is sent to it)", response=EMPTY,
     errors=(404,))
def delete_webhook_endpoint(endpoint_id: str) -> Response:
    user = require_user(bp.current_request)
    webhooks.delete_endpoint(user, parse_uuid(endpoint_id, "Invalid webhook endpoint ID"))
    return ok({}, "Webhook endpoint deleted")


@bp.route("/endpoints/{endpoint_id}/deliveries", methods=["GET"])
@doc("An endpoint's deliveries, newest first, each with its state and recent attempts; paged by cursor",
     response=WebhookDeliveryPage, query=(("cursor", "string", "nextCursor of the previous page (omit for the first)"),
                                          ("limit", "integer", "1-100, default 20")), errors=(404,))
def list_webhook_deliveries(endpoint_id: str) -> Response:
    request = bp.current_request
    user = require_user(request)
    endpoint = parse_uuid(endpoint_id, "Invalid webhook endpoint ID")
    page = webhooks.deliveries(user, endpoint, cursor=query_param(request, "cursor"), limit=limit_param(request))
    return ok(page, "Webhook deliveries fetched")


@bp.route("/deliveries/{delivery_id}/resend", methods=["POST"], content_types=BODY_TYPES)
@doc("Send a delivery again now (same body and event id, signed anew)", response=WebhookDeliveryOut, status=202,
     errors=(404,))
def resend_webhook_delivery(delivery_id: str) -> Response:
    user = require_user(bp.current_request)
    delivery = webhooks.resend(user, parse_uuid(delivery_id, "Invalid webhook delivery ID"))
    return ok(delivery, "Webhook delivery queued", status=202)
