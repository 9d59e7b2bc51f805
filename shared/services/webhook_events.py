"""Webhook events: what happened to a user, turned into one delivery per endpoint of theirs that subscribed to it.

`emit` runs inside the transaction of what caused the event (the comment's insert, the subscription, the video's
new processing status): the deliveries and their jobs are committed with it or not at all, and nothing is sent
before the commit, nor while the request waits (the jobs send). The helpers below build each event's `data` and
are what the call sites use, one line each."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from shared import db
from shared.schemas.webhooks import EVENT_TYPES
from shared.services.webhook_delivery import queue
from shared.sql import videos as videos_sql
from shared.sql import webhooks as webhooks_sql
from shared.wire import to_json


def emit(event_type: str, user_id: uuid.UUID | str, data: dict[str, Any]) -> None:
    """Deliver `{id, type, createdAt, data}` to the user's endpoints that listen to `event_type` (one statement,
    which finds none for a user without endpoints)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    event_id = uuid.uuid4()
    body = to_json({"id": event_id, "type": event_type, "createdAt": dt.datetime.now(dt.UTC), "data": data})
    with db.transaction():
        for delivery_id in webhooks_sql.create_deliveries(user_id=uuid.UUID(str(user_id)), event_type=event_type,
                                                          event_id=event_id, body=body):
            queue(delivery_id, seq=0)


def _video(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "title": row["title"], "processingStatus": row["processing_status"],
            "processingError": row.get("processing_error"), "duration": row["duration"], "width": row.get("width"),
            "height": row.get("height"), "isPublished": row["is_published"], "privacy": row.get("privacy"),
            "thumbnail": row["thumbnail_url"], "createdAt": row["created_at"]}


def processing_changed(video_id: uuid.UUID, status: str) -> None:
    """`video.processed` (COMPLETED) or `video.failed` (FAILED) for the owner; nothing for another status. Call it in
    the transaction that set the status: the event carries the video as that transaction sees it."""
    if status not in ("COMPLETED", "FAILED"):
        return
    row = videos_sql.get(video_id=video_id)
    if row is None:
        return
    if status == "COMPLETED":
        emit("video.processed", row["user_id"], {"video": _video(row)})
    else:
        emit("video.failed", row["user_id"], {"video": _video(row), "reason": row.get("processing_error")})


def comment_created(video: dict[str, Any], comment: dict[str, Any], author: dict[str, Any]) -> None:
    """`comment.created` for the owner of `video` (the API's video object) about `comment` (its row) by `author`
    (a public profile)."""
    emit("comment.created", video["userId"], {
        "comment": {"id": comment["id"], "content": comment["content"], "parentId": comment.get("parent_id"),
                    "status": comment.get("status", "published"), "createdAt": comment["created_at"]},
        "video": {"id": video["id"], "title": video["title"]},
        "author": _person(author)})


def subscription_created(channel_id: uuid.UUID, subscriber: dict[str, Any]) -> None:
    """`subscription.created` for the channel followed, naming who followed it (their public profile)."""
    emit("subscription.created", channel_id, {"subscriber": _person(subscriber), "channelId": channel_id})


def _person(profile: dict[str, Any]) -> dict[str, Any]:
    return {"id": profile["id"], "username": profile["username"],
            "fullname": profile["fullname"], "avatar": profile.get("avatar", "")}
