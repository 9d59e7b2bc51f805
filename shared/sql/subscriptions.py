"""Every SQL statement that touches subscriptions."""

from __future__ import annotations

import uuid
from typing import Any

from shared import db
from shared.sql.paging import fetch_page, with_total
from shared.sql.videos import EXTRA_COLUMNS_V, OWNER_COLUMNS_U, VIDEO_COLUMNS_V

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


_COUNT_SUBSCRIBERS = "SELECT count(*) FROM subscriptions WHERE channel_id = :c"
_COUNT_CHANNELS = "SELECT count(*) FROM subscriptions WHERE subscriber_id = :s"


def subscribers_of(*, channel_id: uuid.UUID, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Newest subscriber first, and how many there are."""
    return fetch_page(
        f"SELECT {_BRIEF}, {with_total(_COUNT_SUBSCRIBERS)}"
        " FROM subscriptions s JOIN users u ON u.id = s.subscriber_id WHERE s.channel_id = :c"
        " ORDER BY s.created_at DESC, s.id DESC LIMIT :limit OFFSET :offset",
        _COUNT_SUBSCRIBERS, c=channel_id, limit=limit, offset=offset)


def channels_of(*, subscriber_id: uuid.UUID, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Newest subscription first, and how many there are."""
    return fetch_page(
        f"SELECT {_BRIEF}, {with_total(_COUNT_CHANNELS)}"
        " FROM subscriptions s JOIN users u ON u.id = s.channel_id WHERE s.subscriber_id = :s"
        " ORDER BY s.created_at DESC, s.id DESC LIMIT :limit OFFSET :offset",
        _COUNT_CHANNELS, s=subscriber_id, limit=limit, offset=offset)


def _feed_sql(*, after: bool) -> str:
    """The subscriptions feed: per followed channel, its newest published videos older than the cursor (an index-only
    range of videos_published_user_created_idx, at most `limit` entries), merged and cut to `limit`; only then are
    the page's videos and owners read. The work is bounded by channels followed × limit index entries, whatever
    the channels' sizes; the first page has no cursor bound (its own statement, so each plan keeps its range)."""
    bound = " AND (vv.created_at, vv.id) < (:at, :id)" if after else ""
    return (f"SELECT {VIDEO_COLUMNS_V}, {EXTRA_COLUMNS_V}, {OWNER_COLUMNS_U} FROM ("
            " SELECT newest.id, newest.created_at FROM subscriptions s CROSS JOIN LATERAL ("
            "  SELECT vv.id, vv.created_at FROM videos vv"
            f"  WHERE vv.user_id = s.channel_id AND vv.is_published{bound}"
            "  ORDER BY vv.created_at DESC, vv.id DESC LIMIT :limit) newest"
            " WHERE s.subscriber_id = :uid ORDER BY newest.created_at DESC, newest.id DESC LIMIT :limit) page"
            " JOIN videos v ON v.id = page.id JOIN users u ON u.id = v.user_id"
            " ORDER BY v.created_at DESC, v.id DESC")


def feed(*, subscriber_id: uuid.UUID, limit: int, after: tuple[Any, uuid.UUID] | None) -> list[dict[str, Any]]:
    """Up to `limit` of the newest published videos of the channels `subscriber_id` follows, older than `after`
    ((created_at, id) of the last one seen), newest first, with their owners."""
    if after is None:
        return db.fetch_all(_feed_sql(after=False), uid=subscriber_id, limit=limit)
    return db.fetch_all(_feed_sql(after=True), uid=subscriber_id, limit=limit, at=after[0], id=after[1])
