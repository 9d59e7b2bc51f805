"""Subscribing to a channel: the subscription row and what it causes (the channel owner's `subscription.created`
webhooks), committed together."""

from __future__ import annotations

import uuid

from shared import db
from shared.auth import CurrentUser
from shared.services import webhook_events
from shared.sql import subscriptions as subscriptions_sql


def toggle(subscriber: CurrentUser, channel_id: uuid.UUID) -> bool:
    """Flip the subscription; whether it exists now. A new one is announced to the channel's webhook endpoints in
    the same transaction (nothing is announced for an unsubscription)."""
    with db.transaction():
        subscribed = subscriptions_sql.toggle(subscriber_id=subscriber.id, channel_id=channel_id)
        if subscribed:
            webhook_events.subscription_created(channel_id, subscriber.profile)
    return subscribed
