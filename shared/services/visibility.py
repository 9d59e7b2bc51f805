"""Who may see what, by a video's privacy (issue #15, point 1). For anyone but its owner, a video that is
* `public` opens by id and is listed: the feed, search, a channel's videos, the subscriptions feed, lists that belong
  to other users (playlists), and the counts shown to others;
* `unlisted` opens by id or link for anyone signed in (watch page, comments, likes, adding it to a playlist), and is
  listed nowhere but in the viewer's own lists (their likes, history and playlists);
* `private` does not exist: the resource's 404 on every route, as if there were no such video;
* taken down by the moderators (shared/services/moderation.py), whatever its privacy, does not exist either, but for
  the moderators, who open it by id (detail, comments, media) to review it; it is listed for nobody but its owner.
The owner sees all of their own videos everywhere. A scheduled video (`publishAt`) is private until its time, then
public (shared/services/scheduling.py). The media of a video that is not public go out only as expiring signed URLs
(shared/services/presenters.py) and, where the store enforces it, tagged private (shared/services/media_visibility.py).

These functions decide in Python; shared/sql/videos.py (`LISTED`, `reachable_by`, `listed_for`) says the same in SQL
for the lists, and `is_published` is exactly "public" (a database trigger keeps the two columns in step)."""

from __future__ import annotations

import uuid
from typing import Any

from shared import cached, errors
from shared.auth import CurrentUser
from shared.services.presenters import present
from shared.sql import comments as comments_sql
from shared.sql import moderation as moderation_sql
from shared.sql import videos as videos_sql


def may_open(privacy: str, owner_id: object, viewer: CurrentUser, *, taken_down: bool = False) -> bool:
    """Whether `viewer` may open a video (by id or link) of this privacy owned by `owner_id` (a UUID or its text); a
    video taken down by the moderators only its owner opens (and the moderators: `_opens`)."""
    return str(owner_id) == str(viewer.id) or (privacy != "private" and not taken_down)


def _opens(privacy: str, owner_id: object, taken_down: bool, viewer: CurrentUser) -> bool:
    """`may_open`, and a taken-down video for the moderators too: their role is read from the database then (a rare
    path: only a taken-down video someone else owns), never from the cached sign-in."""
    if may_open(privacy, owner_id, viewer, taken_down=taken_down):
        return True
    return taken_down and moderation_sql.acting_role(user_id=viewer.id) in ("moderator", "admin")


def is_listed(privacy: str) -> bool:
    """Whether a video of this privacy is listed for others (feeds, search, channel lists, counts)."""
    return privacy == "public"


def visible_video(video_id: uuid.UUID, viewer: CurrentUser) -> dict[str, Any]:
    """The video, or 404 when it does not exist or is someone else's private (or taken-down) video."""
    row = videos_sql.get(video_id=video_id)
    if row is None or not _opens(row["privacy"], row["user_id"], row["taken_down"], viewer):
        raise errors.NotFound("Video not found")
    return row


def open_video(video_id: uuid.UUID, viewer: CurrentUser) -> dict[str, Any]:
    """The video as the API shows it (cached when public), or 404 as `visible_video`."""
    video = cached_video(video_id)
    # .get: an entry cached before takedowns existed is a public video's, never a taken-down one's
    if not video or not _opens(video["privacy"], video["userId"], video.get("takenDown", False), viewer):
        raise errors.NotFound("Video not found")
    return video


def visible_video_id(video_id: uuid.UUID, viewer: CurrentUser) -> uuid.UUID:
    """Just "may this viewer see this video?" (comments, likes, playlists): from a cached entry of the three columns
    that decide it (every video write forgets it), loaded by a narrow query; 404 as `visible_video`."""
    access = cached.video_access(video_id, lambda: videos_sql.access(video_id=video_id))
    if not access or not _opens(access["privacy"], access["user_id"], access["taken_down"], viewer):
        raise errors.NotFound("Video not found")
    return video_id


def visible_comment(comment_id: uuid.UUID, viewer: CurrentUser, *, deleted: bool = False) -> dict[str, Any]:
    """A comment with its video's owner; 404 when the comment does not exist, sits under someone else's
    private video (which does not exist for this viewer either), is held for approval and the viewer is neither
    its author nor the video's owner, or is a "deleted comment" (unless `deleted`: its thread stays readable)."""
    row = comments_sql.get_with_video(comment_id=comment_id)
    if (row is None or not _opens(row["video_privacy"], row["video_owner_id"], row["video_taken_down"], viewer)
            or (row["status"] == "held" and viewer.id not in (row["user_id"], row["video_owner_id"]))
            or (row["deleted_at"] is not None and not deleted)):
        raise errors.NotFound("Comment not found")
    return row


def cached_video(video_id: uuid.UUID) -> dict[str, Any] | None:
    """The video as the API shows it; public ones come from the cache (any other never does: its media URLs are
    signed, and expire)."""
    def load() -> dict[str, Any] | None:
        row = videos_sql.get(video_id=video_id)
        return present(row) if row else None

    return cached.video(video_id, load)


def owned_video(video_id: uuid.UUID, user: CurrentUser, message: str) -> dict[str, Any]:
    row = visible_video(video_id, user)
    if row["user_id"] != user.id:
        raise errors.Forbidden(message)
    return row
