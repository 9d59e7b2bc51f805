"""Every SQL statement that touches subscriptions."""

from __future__ import annotations

import uuid
from typing import Any

from shared import db

_LOCK_NAMESPACE = 0x53756273  # "Subs": advisory-lock namespace for toggles
_BRIEF = "u.id, u.username, u.fullname, u.avatar"


def subscribe(*, subscriber_id: uuid.UUID, channel_id: uuid.UUID) -> bool:
    """Idempotent: True when a subscription was created, False when it already existed."""
    return db.execute(
        "INSERT INTO subscriptions (subscriber_id, channel_id) VALUES (:s, :c) ON CONFLICT DO NOTHING",
        s=subscriber_id, c=channel_id,
    ) == 1


def is_subscribed(*, subscriber_id: uuid.UUID, channel_id: uuid.UUID) -> bool:
    return bool(db.fetch_value("SELECT EXISTS (SELECT 1 FROM subscriptions WHERE subscriber_id = :s AND channel_id = :c)",
                               s=subscriber_id, c=channel_id))


def toggle(*, subscriber_id: uuid.UUID, channel_id: uuid.UUID) -> bool:
    """Flip the subscription; return whether it exists now (serialised per pair, like likes.toggle)."""
    with db.transaction() as tx:
        tx.execute("SELECT pg_advisory_xact_lock(:ns, hashtext(:key))", ns=_LOCK_NAMESPACE,
                   key=f"{subscriber_id}:{channel_id}")
        if tx.execute("DELETE FROM subscriptions WHERE subscriber_id = :s AND channel_id = :c",
                      s=subscriber_id, c=channel_id):
            return False
        tx.execute("INSERT INTO subscriptions (subscriber_id, channel_id) VALUES (:s, :c)",
                   s=subscriber_id, c=channel_id)
        return True


def subscribers_of(*, channel_id: uuid.UUID, limit: int, offset: int) -> list[dict[str, Any]]:
    return db.fetch_all(
        f"SELECT {_BRIEF} FROM subscriptions s JOIN users u ON u.id = s.subscriber_id WHERE s.channel_id = :c"
        " ORDER BY s.created_at DESC, s.id DESC LIMIT :limit OFFSET :offset",
        c=channel_id, limit=limit, offset=offset)


def channels_of(*, subscriber_id: uuid.UUID, limit: int, offset: int) -> list[dict[str, Any]]:
    return db.fetch_all(
        f"SELECT {_BRIEF} FROM subscriptions s JOIN users u ON u.id = s.channel_id WHERE s.subscriber_id = :s"
        " ORDER BY s.created_at DESC, s.id DESC LIMIT :limit OFFSET :offset",
        s=subscriber_id, limit=limit, offset=offset)
