"""Shapes of comments, tweets, likes, subscriptions, playlists and the dashboard (contract-v2 §6–11)."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import Field

from shared import errors
from shared.schemas import In, Out, Timestamp, parse_input
from shared.schemas.videos import VideoWithOwner

MAX_COMMENT = 10_000
MAX_TWEET = 5_000
MAX_PLAYLIST_NAME = 200
MAX_PLAYLIST_DESCRIPTION = 5_000


class UserBrief(Out):
    username: str
    fullname: str
    avatar: str


class ChannelBrief(Out):
    """A subscriber or a subscribed channel: the original's three keys plus the `id` clients need to link."""

    username: str
    fullname: str
    avatar: str
    id: uuid.UUID


class CommentOut(Out):
    id: uuid.UUID
    content: str
    user_id: uuid.UUID
    video_id: uuid.UUID
    created_at: Timestamp
    updated_at: Timestamp


class CommentWithUser(CommentOut):
    user: UserBrief
    likes_count: int


class LikeCount(Out):
    likes: int


class TweetOut(Out):
    id: uuid.UUID
    content: str
    user_id: uuid.UUID
    created_at: Timestamp
    updated_at: Timestamp


class TweetWithCount(TweetOut):
    count: LikeCount = Field(serialization_alias="_count")


class PlaylistOut(Out):
    id: uuid.UUID
    name: str
    description: str
    user_id: uuid.UUID
    created_at: Timestamp
    updated_at: Timestamp


class PlaylistSummary(PlaylistOut):
    total_videos: int
    thumbnail: str | None


class PlaylistDetail(PlaylistOut):
    user: UserBrief
    videos: list[VideoWithOwner]
    total_videos: int
    total_views: int


class DashboardStats(Out):
    total_views: int
    total_subscribers: int
    total_videos: int
    total_likes: int


class ContentIn(In):
    content: str | None = None


class PlaylistIn(In):
    name: str | None = None
    description: str | None = None


def content_of(body: dict[str, Any], *, empty_message: str, limit: int, noun: str) -> str:
    """The `content` of a comment or tweet: present and not blank (400), within its length limit (422)."""
    content = parse_input(ContentIn, body, "Validation failed").content
    if not content or not content.strip():
        raise errors.BadRequest(empty_message)
    if len(content) > limit:
        raise errors.ValidationFailed(f"{noun} is limited to {limit:,} characters")
    return content
