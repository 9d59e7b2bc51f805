"""Shapes of comments, tweets, likes, subscriptions, playlists and the dashboard (contract-v2 §6–11), and what
those routes take, with their rules and the original's messages."""

from __future__ import annotations

import uuid
from typing import ClassVar, Self

from pydantic import Field, model_validator

from shared import errors
from shared.schemas import In, Out, Text, Timestamp, field
from shared.schemas.videos import VideoOut, VideoWithOwner
from shared.text import single_line_problems
from shared.web.request import parse_uuid

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
    parent_id: uuid.UUID | None = Field(None, description="The thread's top-level comment, for a reply")
    status: str = Field("published", description="published | held (waiting for the video owner's approval)")


class CommentWithUser(CommentOut):
    user: UserBrief
    likes_count: int


class CommentThread(CommentWithUser):
    """A top-level comment of a video's list, with how many replies it has. A thread whose comment was deleted
    stays while it has replies: `isDeleted` true, `content` and the author's names "[deleted]", `userId` null."""

    user_id: uuid.UUID | None  # type: ignore[assignment]
    replies_count: int = 0
    is_deleted: bool = False


class SubscriptionFeed(Out):
    """A page of the subscriptions feed: the newest public videos of the channels the caller follows. `nextCursor`
    asks for the next page (null at the end)."""

    docs: list[VideoWithOwner]
    next_cursor: str | None


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


class DashboardVideo(VideoOut):
    """One of the caller's videos, drafts included, with its like count."""

    count: LikeCount = Field(serialization_alias="_count")


class ChannelVideos(Out):
    videos: list[DashboardVideo]
    total_videos: int


class LikeState(Out):
    """Whether the caller now likes the target."""

    liked: bool


class SubscriptionState(Out):
    """Whether the caller is now subscribed to the channel."""

    subscribed: bool


class VideoRemoved(Out):
    """Whether this call removed the video (removing one that was not there is not an error)."""

    removed: bool


# ------------------------------------------------------------------------------------ inputs


class ContentIn(In):
    """The text of a comment or a post: given and not blank (400), within its length limit (422)."""

    empty_message: ClassVar[str]
    noun: ClassVar[str]
    max_length: ClassVar[int]
    content: Text = field("Great video!", required=True, max_length=MAX_COMMENT)

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if not self.content.strip():
            raise errors.BadRequest(self.empty_message)
        if len(self.content) > self.max_length:
            raise errors.ValidationFailed(f"{self.noun} is limited to {self.max_length:,} characters")
        return self


class CommentIn(ContentIn):
    """A new comment, or a reply: `parentId` names a comment of the same video (a reply to a reply joins that
    reply's thread: one level of threading)."""

    empty_message: ClassVar[str] = "Comment cannot be empty"
    noun: ClassVar[str] = "Comment"
    max_length: ClassVar[int] = MAX_COMMENT
    parentId: Text = field("0196a5a0-3c1e-7d2a-9f4b-2b8e1c3d4e5f", description="The comment this one answers")

    @model_validator(mode="after")
    def _parent(self) -> Self:
        self.parent_id  # noqa: B018 (a malformed id is a 400 before anything else runs)
        return self

    @property
    def parent_id(self) -> uuid.UUID | None:
        return parse_uuid(self.parentId, "Invalid comment ID in parentId") if self.parentId else None


class CommentEditIn(ContentIn):
    """A comment's new text."""

    empty_message: ClassVar[str] = "Content is required"
    noun: ClassVar[str] = "Comment"
    max_length: ClassVar[int] = MAX_COMMENT


class TweetIn(ContentIn):
    """A new post."""

    empty_message: ClassVar[str] = "Tweet content cannot be empty."
    noun: ClassVar[str] = "Tweet"
    max_length: ClassVar[int] = MAX_TWEET
    content: Text = field("New video on Friday", required=True, max_length=MAX_TWEET)


class TweetEditIn(TweetIn):
    """A post's new text."""

    empty_message: ClassVar[str] = "Content cannot be empty"


def _check_playlist(name: str, description: str) -> None:
    if len(name) > MAX_PLAYLIST_NAME or len(description) > MAX_PLAYLIST_DESCRIPTION:
        raise errors.ValidationFailed(f"Playlist names are limited to {MAX_PLAYLIST_NAME} characters and "
                                      f"descriptions to {MAX_PLAYLIST_DESCRIPTION:,}")
    problems = single_line_problems(name, "Playlist name")
    if problems:
        raise errors.ValidationFailed(problems[0], errors=problems)


class PlaylistIn(In):
    """A new playlist: a name (one line) and an optional description."""

    name: Text = field("Guitar", required=True, max_length=MAX_PLAYLIST_NAME)
    description: Text = field("Everything about guitars", max_length=MAX_PLAYLIST_DESCRIPTION)

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if not self.name.strip():
            raise errors.BadRequest("Playlist name is required")
        _check_playlist(self.name, self.description)
        return self


class PlaylistUpdateIn(In):
    """PATCH semantics: an omitted (or null) field is unchanged; something must change, and a name not be blank."""

    one_of_required: ClassVar[tuple[str, ...]] = ("name", "description")
    name: str | None = field("Guitar (all levels)", default=None, max_length=MAX_PLAYLIST_NAME)
    description: str | None = field("Everything about guitars", default=None, max_length=MAX_PLAYLIST_DESCRIPTION)

    @model_validator(mode="after")
    def _rules(self) -> Self:
        changes = self.changes()
        if not changes or ("name" in changes and not changes["name"].strip()):
            raise errors.BadRequest("Name is required for update")
        _check_playlist(changes.get("name", ""), changes.get("description", ""))
        return self

    def changes(self) -> dict[str, str]:
        return self.model_dump(exclude_unset=True, exclude_none=True)
