"""Every SQL statement that touches subscriptions."""

from __future__ import annotations

import uuid

from shared import db


def subscribe(*, subscriber_id: uuid.UUID, channel_id: uuid.UUID) -> bool:
    """Idempotent: True when a subscription was created, False when it already existed."""
    return db.execute(
        "INSERT INTO subscriptions (subscriber_id, channel_id) VALUES (:s, :c) ON CONFLICT DO NOTHING",
        s=subscriber_id, c=channel_id,
    ) == 1
