"""Shapes of the notification routes (issue #15, points 4 and 8): an inbox page and its docs, what marking read
answers, and the per-type settings as they are read and changed (`{type: boolean}`, every type on by default)."""

from __future__ import annotations

import uuid
from typing import Self

from pydantic import ConfigDict, Field, model_validator

from shared import errors
from shared.schemas import In, Out, Timestamp

# The types, as shared.services.notifications.TYPES lists them (the service imports nothing from here, and this
# module nothing from the service: tests/functions/test_notifications.py checks the two lists are the same).
TYPES = ("video.published", "comment.reply", "comment.created", "video.processed", "video.failed", "report.decided",
         "export.ready")
_TYPE_DOC = ", ".join(TYPES)


class NotificationActor(Out):
    """Who did it."""

    id: uuid.UUID = Field(alias="_id")
    username: str
    full_name: str
    avatar: str


class NotificationVideo(Out):
    """The video it is about; null once the recipient may no longer open it (deleted, made private)."""

    id: uuid.UUID = Field(alias="_id")
    title: str
    thumbnail: str | None


class NotificationComment(Out):
    """The comment it is about; null once deleted, or when its video is one the recipient may no longer open."""

    id: uuid.UUID = Field(alias="_id")
    content: str


class NotificationOut(Out):
    id: uuid.UUID
    type: str = Field(description=_TYPE_DOC, examples=["comment.reply"], json_schema_extra={"enum": list(TYPES)})
    read: bool
    created_at: Timestamp
    actor: NotificationActor | None = Field(None, description="Who did it (null for the system's own news)")
    video: NotificationVideo | None = None
    comment: NotificationComment | None = None
    report_id: uuid.UUID | None = Field(None, description="report.decided: the report you filed")
    export_id: uuid.UUID | None = Field(None, description="export.ready: your data export")


class NotificationPage(Out):
    """A page of the inbox, newest first. `nextCursor` asks for the next page (null at the end); `unreadCount` counts
    every unread notification, not only this page's."""

    docs: list[NotificationOut]
    next_cursor: str | None
    unread_count: int


class NotificationsRead(Out):
    """`marked`: how many notifications this call turned from unread to read; `unreadCount`: how many are left."""

    marked: int
    unread_count: int


class NotificationSettings(Out):
    """Whether each type is delivered (`true`, the default) or not."""

    model_config = ConfigDict(populate_by_name=True)

    video_published: bool = Field(alias="video.published")
    comment_reply: bool = Field(alias="comment.reply")
    comment_created: bool = Field(alias="comment.created")
    video_processed: bool = Field(alias="video.processed")
    video_failed: bool = Field(alias="video.failed")
    report_decided: bool = Field(alias="report.decided")
    export_ready: bool = Field(alias="export.ready")


class NotificationSettingsIn(In):
    """The types to turn on (`true`) or off (`false`); the types left out keep their setting. At least one."""

    model_config = ConfigDict(extra="forbid")  # a misspelt type is named in the 422, not silently ignored

    video_published: bool | None = Field(None, alias="video.published", examples=[False])
    comment_reply: bool | None = Field(None, alias="comment.reply", examples=[True])
    comment_created: bool | None = Field(None, alias="comment.created")
    video_processed: bool | None = Field(None, alias="video.processed")
    video_failed: bool | None = Field(None, alias="video.failed")
    report_decided: bool | None = Field(None, alias="report.decided")
    export_ready: bool | None = Field(None, alias="export.ready")

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.changes():
            raise errors.ValidationFailed(f"Name at least one notification type to turn on or off: {_TYPE_DOC}")
        return self

    def changes(self) -> dict[str, bool]:
        """{type: on} for each type the body names."""
        return {info.alias or name: value for name, info in type(self).model_fields.items()
                if (value := getattr(self, name)) is not None}
