"""What viewers browse: the published-video feed (its front page briefly cached), a video's watch page (the view
counted once per viewer per window) and a channel's profile (its email for its owner's eyes only)."""

from __future__ import annotations

import uuid
from typing import Any

from shared import cached, errors
from shared.auth import CurrentUser
from shared.schemas.playback import position_of
from shared.schemas.users import ChannelProfile, normalize_username
from shared.schemas.videos import VideoListQuery
from shared.services.presenters import present_with_owner
from shared.services.visibility import open_video
from shared.settings import get_settings
from shared.sql import subscriptions as subscriptions_sql
from shared.sql import users as users_sql
from shared.sql import videos as videos_sql


def feed(query: VideoListQuery) -> dict[str, Any]:
    """A page of published videos, in the original's paginated shape (schemas.videos.VideoPage)."""
    def load() -> dict[str, Any]:
        rows, total = videos_sql.list_published(limit=query.limit, offset=query.offset, sort_by=query.sort_by,
                                                ascending=query.ascending, user_id=query.user_id, query=query.query,
                                                tag=query.tag)
        total_pages = -(-total // query.limit)
        return {"docs": [present_with_owner(r) for r in rows], "totalDocs": total, "limit": query.limit,
                "page": query.page, "totalPages": total_pages, "hasNextPage": query.page < total_pages,
                "hasPrevPage": query.page > 1}

    if query.is_front_page:  # what most visitors load first: briefly cached
        page: dict[str, Any] = cached.feed_page(query.sort_by, query.sort_type, query.limit, load)
        return page
    return load()


def watch(viewer: CurrentUser, video_id: uuid.UUID) -> dict[str, Any]:
    """A video as its watch page shows it (schemas.videos.VideoDetail): 404 when it is someone else's private video
    (an unlisted one opens by its id); the view is counted, and the owner comes with the subscriber count. What
    changes with every like and subscription (the like count, whether the viewer likes the video and follows its
    channel) is never cached: it comes live from the statement that counts the view."""
    video = open_video(video_id, viewer)
    owner_id = video["userId"]
    owner = cached.channel(owner_id, lambda: users_sql.channel_stats(user_id=owner_id))
    seen = videos_sql.record_view(video_id=video_id, viewer_id=viewer.id,
                                  window_seconds=get_settings().view_window_seconds)
    user = {"fullname": owner["fullname"], "username": owner["username"], "avatar": owner["avatar"],
            "subscribersCount": owner["subscriber_count"]}
    return {**video, "views": seen["views"], "likesCount": seen["likes_count"], "isLiked": seen["is_liked"],
            "isSubscribed": seen["is_subscribed"], "user": user, "watchPosition": position_of(seen)}


def channel_profile(viewer: CurrentUser, username: str) -> dict[str, Any]:
    """A channel's profile with its counts and whether the viewer subscribes; its email only for its owner."""
    name = normalize_username(username)
    channel_id = cached.channel_id(name, lambda: users_sql.id_by_username(username=name))
    channel = channel_id and cached.channel(channel_id, lambda: users_sql.channel_stats(user_id=channel_id))
    if not channel:
        raise errors.NotFound("Channel not found")
    own = channel["id"] == str(viewer.id)
    subscribed = not own and subscriptions_sql.is_subscribed(subscriber_id=viewer.id, channel_id=channel["id"])
    data = ChannelProfile.model_validate({**channel, "is_subscribed": subscribed}).dump()
    if not own:
        del data["email"]  # a channel's email is its owner's business only
    return data
