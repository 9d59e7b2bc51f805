"""Video shapes: the original's VideoRecord (all 16 columns, in order) plus additive facts, and owner briefs."""

from __future__ import annotations

import uuid

from pydantic import Field

from shared.schemas import In, Out, Timestamp


class OwnerBrief(Out):
    fullname: str
    username: str
    avatar: str


class OwnerWithSubscribers(OwnerBrief):
    subscribers_count: int


class VideoRecord(Out):
    id: uuid.UUID
    video_file_url: str
    video_file_public_id: str
    thumbnail_url: str
    thumbnail_public_id: str
    title: str
    description: str
    views: int
    duration: float
    is_published: bool
    user_id: uuid.UUID
    created_at: Timestamp
    updated_at: Timestamp
    processing_status: str
    has_transcript: bool
    allow_public_qna: bool = Field(serialization_alias="allowPublicQnA")


class VideoOut(VideoRecord):
    """VideoRecord plus what this backend adds (clients ignore unknown fields)."""

    processing_error: str | None = None
    width: int | None = None
    height: int | None = None
    hls_url: str | None = None
    poster_url: str | None = None


class VideoWithOwner(VideoOut):
    user: OwnerBrief


class VideoDetail(VideoOut):
    user: OwnerWithSubscribers


class VideoUpdateIn(In):
    title: str | None = None
    description: str | None = None


class VideoRegisterIn(In):
    title: str | None = None
    description: str | None = None
    videoUploadId: str | None = None  # noqa: N815 - wire names
    thumbnailUploadId: str | None = None  # noqa: N815


class UploadSignIn(In):
    kind: str | None = None
    contentType: str | None = None  # noqa: N815
    size: int | None = None
