"""Shapes of webhooks for API clients (issue #15, points 5 and 8): an endpoint as registered and listed, its
deliveries with their attempts, and the body that registers one."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, ClassVar, Self

from pydantic import BeforeValidator, Field, model_validator

from shared import errors
from shared.schemas import In, Out, Text, Timestamp, field

EVENT_TYPES = ("video.processed", "video.failed", "comment.created", "subscription.created")
MAX_URL = 2048


def _event_list(value: Any) -> Any:
    """`events` as a list: a JSON array as is, a form's comma-separated text (or repeated field) split; absent or
    null is an empty list, refused by the rules as missing."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


EventList = Annotated[list[str], BeforeValidator(_event_list)]


class EndpointIn(In):
    invalid_message: ClassVar[str] = "Webhook endpoint validation failed"
    url: Text = field("https://hooks.example.com/viztube", required=True, max_length=MAX_URL,
                      description="Where deliveries are POSTed: https, on the public internet (in production)")
    events: EventList = Field(
        default_factory=list, examples=[["video.processed", "comment.created"]],
        description="The events to receive, at least one of: " + ", ".join(EVENT_TYPES) + " (a form may send them "
                    "comma-separated)",
        json_schema_extra={"x-viztube-required": True, "minItems": 1,
                           "items": {"type": "string", "enum": list(EVENT_TYPES)}})

    @model_validator(mode="after")
    def _rules(self) -> Self:
        problems = []
        self.url = self.url.strip()
        if not self.url:
            problems.append("url is required")
        elif len(self.url) > MAX_URL:
            problems.append(f"url must be at most {MAX_URL} characters")
        unknown = [e for e in self.events if e not in EVENT_TYPES]
        if not self.events:
            problems.append("events is required: at least one of " + ", ".join(EVENT_TYPES))
        elif unknown:
            problems.append(f"events: unknown event {unknown[0][:100]!r}; known: " + ", ".join(EVENT_TYPES))
        if problems:
            raise errors.ValidationFailed(self.invalid_message, errors=problems)
        self.events = list(dict.fromkeys(self.events))  # each once, in the order given
        return self


class WebhookEndpointOut(Out):
    """A registered endpoint; its secret is shown only when it is created."""

    id: uuid.UUID
    url: str
    events: list[str]
    created_at: Timestamp
    last_status: str | None = Field(None, description="succeeded | failed: how the latest attempt went (null: none "
                                                      "yet)")
    last_status_code: int | None = Field(None, description="The HTTP status of the latest attempt (null: no answer)")
    last_error: str | None = None
    last_attempt_at: Timestamp | None = None


class WebhookEndpointCreated(WebhookEndpointOut):
    """The new endpoint with its signing secret: shown this once, keep it (deliveries carry `VizTube-Signature:
    t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>`)."""

    secret: str


class WebhookAttemptOut(Out):
    attempted_at: Timestamp
    status_code: int | None = Field(None, description="The receiver's HTTP status (null: no answer)")
    error: str | None = None
    duration_ms: int
    response_body: str | None = Field(None, description="The first bytes (at most 1 KiB) of the receiver's answer")


class WebhookDeliveryOut(Out):
    """One event sent to one endpoint: its state and its most recent attempts (newest first)."""

    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    type: str
    status: str = Field(description="pending (an attempt is due) | succeeded | failed (retries exhausted)")
    attempts: int
    next_attempt_at: Timestamp | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    created_at: Timestamp
    updated_at: Timestamp
    payload: dict[str, Any] = Field(description="The JSON POSTed: {id, type, createdAt, data}")
    recent_attempts: list[WebhookAttemptOut]


class WebhookDeliveryPage(Out):
    docs: list[WebhookDeliveryOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end")
