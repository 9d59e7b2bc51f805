"""Notifications (issue #15, point 4): who is told what, each user's inbox, and their per-type settings.

`notify()` is the one way to deliver a notification: other services call it inside their own transaction (the row
commits or rolls back with what it reports), it never tells users about their own actions, and it honours the
recipient's settings and blocks (nothing a user does reaches someone who blocked them). A new public video goes to
every subscriber of its channel through `announce_published()`: a job, so the request that published it does not wait.

Fan-out on write, in chunks (not fan-out on read): the inbox then is one index range per user, its unread count a
count over a partial index of unread rows, and read state a column; fan-out on read would merge every followed
channel's uploads into each inbox read and keep read marks apart. Writing is cheap enough: a chunk is one
INSERT ... SELECT over a range of subscriptions_channel_idx (FANOUT_CHUNK subscribers per job, each chunk queueing
the next in its own transaction, so a channel with 100k subscribers is 11 short jobs and no transaction holds locks
for long); the unique index on (video_id, recipient_id) makes a retried chunk, or a video made public a second time,
tell nobody twice. Measured (infra/bench/notification_fanout.py): 100k subscribers told 3-4 s after the publish
commits, on a loaded 2-core box.
"""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from typing import Any

from shared import db, errors, jobs
from shared.auth import CurrentUser
from shared.sql import notifications as notifications_sql
from shared.storage import get_storage

VIDEO_PUBLISHED = "video.published"
COMMENT_REPLY = "comment.reply"
COMMENT_CREATED = "comment.created"
VIDEO_PROCESSED = "video.processed"
VIDEO_FAILED = "video.failed"
REPORT_DECIDED = "report.decided"  # with report_id and no actor: the deciding moderator stays anonymous
EXPORT_READY = "export.ready"  # with export_id
# Every type, in the order the settings document lists them (the migration's CHECK lists the same).
TYPES = (VIDEO_PUBLISHED, COMMENT_REPLY, COMMENT_CREATED, VIDEO_PROCESSED, VIDEO_FAILED, REPORT_DECIDED,
         EXPORT_READY)

FANOUT_JOB = "notifications.fanout"
FANOUT_CHUNK = 10_000
RETENTION_DAYS = 180  # older notifications are deleted by the housekeeping sweep
_RETENTION_BATCH = 5_000
RETENTION_PACE = jobs.Every(3600.0)


def notify(recipient_id: uuid.UUID, type: str, *, actor_id: uuid.UUID | None = None,
           video_id: uuid.UUID | None = None, comment_id: uuid.UUID | None = None,
           report_id: uuid.UUID | None = None, export_id: uuid.UUID | None = None) -> None:
    """Deliver one notification to `recipient_id`: inside the caller's transaction when there is one (it commits or
    rolls back with the action it reports), else on its own. Nothing is delivered when the recipient is the actor
    (nobody is told about their own action) or has turned the type off."""
    if type not in TYPES:
        raise ValueError(f"unknown notification type {type!r}")
    if actor_id is not None and actor_id == recipient_id:
        return
    notifications_sql.insert(recipient_id=recipient_id, type=type, actor_id=actor_id, video_id=video_id,
                             comment_id=comment_id, report_id=report_id, export_id=export_id)


def announce_published(video_id: uuid.UUID) -> None:
    """A video became public (published, made public, or its schedule came): queue the fan-out to its channel's
    subscribers. Recorded in the caller's transaction, so it happens exactly when the change commits. A channel nobody
    follows (most uploads) queues nothing: no job, no Lambda invocation for an empty fan-out."""
    if notifications_sql.has_subscribers(video_id=video_id):
        jobs.enqueue(FANOUT_JOB, {"video_id": str(video_id)})


def visibility_changed(video_id: uuid.UUID, *, was_public: bool, is_public: bool) -> None:
    """A video was created or changed: when it turned public just now, its subscribers are told (announce_published).
    Call it in the transaction that changed it."""
    if is_public and not was_public:
        announce_published(video_id)


@jobs.handler(FANOUT_JOB)
def _fan_out(payload: dict[str, Any]) -> None:
    """One chunk of subscribers, and (in the same transaction) the job for the next chunk when this one was full."""
    video_id = uuid.UUID(payload["video_id"])
    after = uuid.UUID(payload["after"]) if payload.get("after") else None
    with db.transaction():
        read, last = notifications_sql.fan_out_published(video_id=video_id, after=after, limit=FANOUT_CHUNK)
        if read == FANOUT_CHUNK and last is not None:
            jobs.enqueue(FANOUT_JOB, {"video_id": str(video_id), "after": str(last)})


def comment_posted(*, comment_id: uuid.UUID) -> None:
    """A comment was posted: a reply tells the author of the comment it answers (`comment.reply`), and any comment
    tells the video's owner (`comment.created`), who hears of a reply to their own comment once (as the reply); a
    comment held for approval tells the owner only. Nobody hears of their own comment; muted types are skipped.
    Call it in the transaction that inserts the comment."""
    notifications_sql.comment_posted(comment_id=comment_id)


def comment_approved(*, comment_id: uuid.UUID) -> None:
    """A held comment was approved: a reply now tells the author of the comment it answers."""
    notifications_sql.comment_approved(comment_id=comment_id)


def processing_changed(*, video_id: uuid.UUID, status: str) -> None:
    """A video's processing status was set: COMPLETED tells its owner `video.processed`, FAILED `video.failed`
    (the other states are no news)."""
    kind = {"COMPLETED": VIDEO_PROCESSED, "FAILED": VIDEO_FAILED}.get(status)
    if kind is not None:
        notifications_sql.insert_for_video_owner(video_id=video_id, type=kind)


def encode_cursor(notification_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(notification_id.bytes).decode().rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID:
    """The id of the last notification of the previous page, from a cursor this API handed out; else a 400."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        if len(raw) != 16:
            raise ValueError(cursor)
        return uuid.UUID(bytes=raw)
    except (ValueError, binascii.Error):
        raise errors.BadRequest("Invalid cursor") from None


def inbox(user: CurrentUser, *, cursor: str | None, limit: int, unread_only: bool) -> dict[str, Any]:
    """`{docs, nextCursor, unreadCount}`: one page of the user's notifications, newest first (only the unread ones
    with `unread_only`), the cursor of the next page (None at the end), and how many are unread in all."""
    after = decode_cursor(cursor) if cursor else None
    # One row more than asked says whether there is a next page without a second query.
    rows = notifications_sql.page(recipient_id=user.id, limit=limit + 1, after=after, unread=unread_only)
    page = rows[:limit]
    return {"docs": [_present(row) for row in page],
            "nextCursor": encode_cursor(page[-1]["id"]) if len(rows) > limit else None,
            "unreadCount": notifications_sql.unread_count(recipient_id=user.id)}


def _present(row: dict[str, Any]) -> dict[str, Any]:
    video = None
    if row["video_id"] is not None:
        # A thumbnail of a video that is not public goes out signed and expiring, as on every other route.
        thumbnail = row["video_thumbnail"]
        if row["video_thumbnail_public_id"]:
            thumbnail = get_storage().delivery_url(row["video_thumbnail_public_id"], resource_type="image",
                                                   private=row["video_privacy"] != "public", stored_url=thumbnail)
        video = {"_id": row["video_id"], "title": row["video_title"], "thumbnail": thumbnail or None}
    return {
        "id": row["id"], "type": row["type"], "read": row["read_at"] is not None, "createdAt": row["created_at"],
        "actor": None if row["actor_id"] is None else {
            "_id": row["actor_id"], "username": row["actor_username"], "fullName": row["actor_fullname"],
            "avatar": row["actor_avatar"]},
        "video": video,
        "comment": None if row["comment_id"] is None else {"_id": row["comment_id"], "content": row["comment_content"]},
        "reportId": row["report_id"], "exportId": row["export_id"],
    }


def mark_read(user: CurrentUser, notification_id: uuid.UUID) -> dict[str, int]:
    """Mark one of the user's notifications read (again: no change); 404 when it is not theirs or does not exist."""
    marked = notifications_sql.mark_read(notification_id=notification_id, recipient_id=user.id)
    if marked is None:
        raise errors.NotFound("Notification not found")
    return {"marked": marked, "unreadCount": notifications_sql.unread_count(recipient_id=user.id)}


def mark_all_read(user: CurrentUser) -> dict[str, int]:
    marked = notifications_sql.mark_all_read(recipient_id=user.id)
    return {"marked": marked, "unreadCount": notifications_sql.unread_count(recipient_id=user.id)}


def settings_of(user_id: uuid.UUID) -> dict[str, bool]:
    """{type: delivered} for every type: on unless the user turned it off."""
    muted = notifications_sql.muted_types(user_id=user_id)
    return {kind: kind not in muted for kind in TYPES}


def update_settings(user: CurrentUser, changes: dict[str, bool]) -> dict[str, bool]:
    """Turn the named types on or off (the others keep their setting); the settings now."""
    notifications_sql.set_muted(user_id=user.id, mute=[k for k, on in changes.items() if not on],
                                unmute=[k for k, on in changes.items() if on])
    return settings_of(user.id)


def sweep_retention() -> None:
    """Housekeeping (job_handlers.periodic): at most once an hour per process, delete notifications older than
    RETENTION_DAYS in batches."""
    if not RETENTION_PACE.due():
        return
    boundary = _uuid7_floor(time.time() - RETENTION_DAYS * 86400)
    while notifications_sql.delete_older_than(boundary=boundary, limit=_RETENTION_BATCH) == _RETENTION_BATCH:
        pass



def _uuid7_floor(unix_seconds: float) -> uuid.UUID:
    """The smallest UUIDv7 of that moment: every id generated before it sorts below (uuid_generate_v7 puts the Unix
    milliseconds in the top 48 bits)."""
    return uuid.UUID(int=int(unix_seconds * 1000) << 80)
