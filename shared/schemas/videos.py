"""Video shapes: the original's VideoRecord (all 16 columns) and the owner brief that travels with it."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import Field

from shared.schemas import Out, Timestamp


class OwnerBrief(Out):
    fullname: str
    username: str
    avatar: str


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


class VideoWithOwner(VideoRecord):
    user: OwnerBrief


def with_owner(row: dict[str, Any]) -> dict[str, Any]:
    """A joined row (video columns + owner_fullname/owner_username/owner_avatar) as VideoRecord + user."""
    owner = {"fullname": row["owner_fullname"], "username": row["owner_username"], "avatar": row["owner_avatar"]}
    return VideoWithOwner.model_validate({**row, "user": owner}).dump()
