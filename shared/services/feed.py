"""The subscriptions feed (issue #15, point 3): the newest public videos of the channels a user follows, paged by an
opaque cursor that names the last video seen (its creation time and id), so a page never repeats or skips a video
when new ones arrive meanwhile."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Any

from shared import errors
from shared.auth import CurrentUser
from shared.services.presenters import present_with_owner
from shared.sql import subscriptions as subscriptions_sql


def encode_cursor(created_at: datetime, video_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{video_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """(created_at, id) of a cursor this API handed out; anything else is a 400."""
    try:
        at, _, vid = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().partition("|")
        when = datetime.fromisoformat(at)
        if when.tzinfo is None:
            raise ValueError(at)
        return when, uuid.UUID(vid)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise errors.BadRequest("Invalid cursor") from None


def subscriptions_feed(user: CurrentUser, *, cursor: str | None, limit: int) -> dict[str, Any]:
    """`{docs, nextCursor}`: one page, and the cursor of the next (None once the feed is exhausted)."""
    after = decode_cursor(cursor) if cursor else None
    # One row more than asked says whether there is a next page without a second query.
    rows = subscriptions_sql.feed(subscriber_id=user.id, limit=limit + 1, after=after)
    page = rows[:limit]
    more = len(rows) > limit
    return {"docs": [present_with_owner(r) for r in page],
            "nextCursor": encode_cursor(page[-1]["created_at"], page[-1]["id"]) if more else None}
