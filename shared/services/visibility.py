"""Who may see what: an unpublished video (and everything under it) exists for its owner only; anyone else gets
the resource's 404, on every route."""

from __future__ import annotations

import uuid
from typing import Any

from shared import cached, errors
from shared.auth import CurrentUser
from shared.services.presenters import present
from shared.sql import comments as comments_sql
from shared.sql import videos as videos_sql


def visible_video(video_id: uuid.UUID, viewer: CurrentUser) -> dict[str, Any]:
    """The video, or 404 when it does not exist or is someone else's unpublished video."""
    row = videos_sql.get(video_id=video_id)
    if row is None or (not row["is_published"] and row["user_id"] != viewer.id):
        raise errors.NotFound("Video not found")
    return row


def visible_video_id(video_id: uuid.UUID, viewer: CurrentUser) -> uuid.UUID:
    """Just "may this viewer see this video?" (comments, likes, playlists): answered from the cached video entry
    that every video write invalidates; 404 as `visible_video`."""
    video = cached_video(video_id)
    if not video or (not video["isPublished"] and video["userId"] != str(viewer.id)):
        raise errors.NotFound("Video not found")
    return video_id


def visible_comment(comment_id: uuid.UUID, viewer: CurrentUser, *, deleted: bool = False) -> dict[str, Any]:
    """A comment with its video's owner; 404 when the comment does not exist, sits under someone else's
    unpublished video (which does not exist for this viewer either), is held for approval and the viewer is neither
    its author nor the video's owner, or is a "deleted comment" (unless `deleted`: its thread stays readable)."""
    row = comments_sql.get_with_video(comment_id=comment_id)
    if (row is None or (not row["video_published"] and row["video_owner_id"] != viewer.id)
            or (row["status"] == "held" and viewer.id not in (row["user_id"], row["video_owner_id"]))
            or (row["deleted_at"] is not None and not deleted)):
        raise errors.NotFound("Comment not found")
    return row


def cached_video(video_id: uuid.UUID) -> dict[str, Any] | None:
    """The video as the API shows it; published ones come from the cache (an unpublished one never does:
    its URLs are signed for its owner)."""
    def load() -> dict[str, Any] | None:
        row = videos_sql.get(video_id=video_id)
        return present(row) if row else None

    return cached.video(video_id, load)


def owned_video(video_id: uuid.UUID, user: CurrentUser, message: str) -> dict[str, Any]:
    row = visible_video(video_id, user)
    if row["user_id"] != user.id:
        raise errors.Forbidden(message)
    return row
