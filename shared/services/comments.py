"""Comments beyond one row: replies (one level of threading, as YouTube has), the video's comment policy, comments
held for the owner's approval, and how a comment is shown (a deleted one that still has replies included)."""

from __future__ import annotations

import uuid
from typing import Any

from shared import db, errors
from shared.auth import CurrentUser
from shared.schemas.social import CommentThread, CommentWithUser
from shared.services import notifications, webhook_events
from shared.services.visibility import open_video, visible_comment
from shared.sql import comments as comments_sql

# A top-level comment deleted while it has replies stays in its video's list so the thread reads on: its text is
# erased and it shows this marker as its content and its author, with `userId` null and `isDeleted` true (a marker
# rather than a null `user`: v2 clients read `user.username` on every comment).
DELETED = "[deleted]"
_DELETED_AUTHOR = {"username": DELETED, "fullname": DELETED, "avatar": ""}


def present(row: dict[str, Any]) -> dict[str, Any]:
    """A comment of a list (a thread, a reply, a held comment) with its author, as the wire has it."""
    if row.get("deleted_at") is not None:
        return CommentThread.shape({**row, "content": DELETED, "user_id": None, "user": _DELETED_AUTHOR,
                                    "is_deleted": True})
    author = {"username": row["owner_username"], "fullname": row["owner_fullname"], "avatar": row["owner_avatar"]}
    shape = CommentWithUser.shape if row.get("parent_id") else CommentThread.shape
    return shape({**row, "user": author, "is_deleted": False})


def add(user: CurrentUser, video_id: uuid.UUID, *, content: str, parent_id: uuid.UUID | None) -> dict[str, Any]:
    """A new comment, or a reply when `parent_id` names a comment of this video (a reply to a reply joins that
    reply's thread). A closed video takes none (403); on an `approval` video everyone's but the owner's are held."""
    video = _video(user, video_id)
    policy = video.get("commentPolicy", "open")
    if policy == "closed":
        raise errors.Forbidden("Comments are turned off for this video")
    status = "held" if policy == "approval" and video.get("userId") != str(user.id) else "published"
    with db.transaction():  # the comment and the news of it commit together
        row = _insert(user, video_id, content=content, parent_id=parent_id, status=status)
        notifications.comment_posted(comment_id=row["id"])
        webhook_events.comment_created(video, row, user.profile)  # the video owner's comment.created webhooks
    return row


def _insert(user: CurrentUser, video_id: uuid.UUID, *, content: str, parent_id: uuid.UUID | None,
            status: str) -> dict[str, Any]:
    if parent_id is None:
        return comments_sql.insert(video_id=video_id, user_id=user.id, content=content, status=status)
    parent = visible_comment(parent_id, user)
    if parent["video_id"] != video_id:
        raise errors.NotFound("Comment not found")
    row = comments_sql.insert_reply(parent_id=parent["parent_id"] or parent["id"], video_id=video_id,
                                    user_id=user.id, content=content, status=status)
    if row is None:  # the thread was deleted (or held) meanwhile
        raise errors.NotFound("Comment not found")
    return row


def replies(user: CurrentUser, comment_id: uuid.UUID, *, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """A thread's replies, a page of them and how many; a deleted parent's thread stays readable."""
    parent = visible_comment(comment_id, user, deleted=True)
    rows, total = comments_sql.list_replies(parent_id=parent["id"], limit=limit, offset=offset, viewer_id=user.id)
    return [present(r) for r in rows], total


def held(user: CurrentUser, video_id: uuid.UUID, *, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """The comments of the caller's video waiting for approval, oldest first."""
    _own(user, video_id)
    rows, total = comments_sql.list_held(video_id=video_id, limit=limit, offset=offset)
    return [present(r) for r in rows], total


def approve(user: CurrentUser, comment_id: uuid.UUID) -> dict[str, Any]:
    """Publish a held comment of the caller's video; approving it again changes nothing."""
    comment = visible_comment(comment_id, user)
    if comment["video_owner_id"] != user.id:
        raise errors.Forbidden("Only the video's owner may approve its comments")
    with db.transaction():
        row = comments_sql.approve(comment_id=comment["id"])
        if row is None:  # deleted meanwhile
            raise errors.NotFound("Comment not found")
        notifications.comment_approved(comment_id=row["id"])
    return row


def _video(user: CurrentUser, video_id: uuid.UUID) -> dict[str, Any]:
    """The video as the API shows it (cached), 404 as everywhere when this user may not see it."""
    return open_video(video_id, user)


def _own(user: CurrentUser, video_id: uuid.UUID) -> None:
    if _video(user, video_id)["userId"] != str(user.id):
        raise errors.Forbidden("Only the video's owner may see its held comments")
