"""Moderation shapes (issue #15, points 6 and 8): an abuse report, a moderator's decision, the queue, the log, and a
user's blocks, with their rules and messages."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, Self

from pydantic import model_validator

from shared import errors
from shared.schemas import In, Out, Text, Timestamp, field
from shared.web.request import parse_uuid

TARGET_TYPES = ("video", "comment", "tweet", "user")
REASONS = ("spam", "harassment", "hate", "violence", "sexual", "misinformation", "copyright", "self_harm", "other")
REPORT_STATES = ("open", "dismissed", "actioned")
ACTIONS = ("dismiss", "takedown", "ban")
ROLES = ("admin", "moderator", "user")
MAX_REPORT_TEXT = 2_000
MAX_NOTE = 2_000
_EXAMPLE_ID = "0196a5a0-3c1e-7d2a-9f4b-2b8e1c3d4e5f"
_ACTION_DOC = ("dismiss (nothing wrong); takedown (a video is hidden from everyone but its owner and the moderators; a "
               "comment or post is removed; a user is banned); ban (the target's author, or the user reported, is "
               "banned: signed out everywhere at once, refused at sign-in, every video of theirs taken down; the "
               "reported content is taken down too)")


def _one_of(value: str, name: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise errors.ValidationFailed(f"{name} must be one of {', '.join(choices)}",
                                      errors=[f"{name}: must be one of {', '.join(choices)}"])


def _within(value: str, name: str, limit: int) -> None:
    if len(value) > limit:
        raise errors.ValidationFailed(f"{name} is limited to {limit:,} characters",
                                      errors=[f"{name}: at most {limit:,} characters"])


class ReportIn(In):
    """An abuse report of a video, a comment, a post (tweet) or a user."""

    invalid_message: ClassVar[str] = "Report validation failed"
    targetType: Text = field("video", required=True, choices=TARGET_TYPES, description="What is reported")
    targetId: Text = field(_EXAMPLE_ID, required=True, description="The id of the video, comment, post or user")
    reason: Text = field("spam", required=True, choices=REASONS, description="Why, from a fixed list")
    text: Text = field("Links to a scam site in every comment", max_length=MAX_REPORT_TEXT,
                       description="What the moderators should know (optional)")

    @model_validator(mode="after")
    def _rules(self) -> Self:
        for name in ("targetType", "targetId", "reason"):
            if not getattr(self, name).strip():
                raise errors.BadRequest(f"{name} is required")
        _one_of(self.targetType, "targetType", TARGET_TYPES)
        _one_of(self.reason, "reason", REASONS)
        _within(self.text, "text", MAX_REPORT_TEXT)
        self.target_id  # noqa: B018 (a malformed id is a 400 before anything else runs)
        return self

    @property
    def target_id(self) -> uuid.UUID:
        return parse_uuid(self.targetId, "Invalid targetId")


class DecisionIn(In):
    """A moderator's decision on an open report."""

    invalid_message: ClassVar[str] = "Decision validation failed"
    action: Text = field("takedown", required=True, choices=ACTIONS, description=_ACTION_DOC)
    note: Text = field("Spam links, third report this week", max_length=MAX_NOTE,
                       description="Why (kept in the moderation log; optional)")

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if not self.action.strip():
            raise errors.BadRequest("action is required")
        _one_of(self.action, "action", ACTIONS)
        _within(self.note, "note", MAX_NOTE)
        return self


class BlockIn(In):
    invalid_message: ClassVar[str] = "Block validation failed"
    userId: Text = field(_EXAMPLE_ID, required=True, description="The user to block")

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if not self.userId.strip():
            raise errors.BadRequest("userId is required")
        self.user_id  # noqa: B018
        return self

    @property
    def user_id(self) -> uuid.UUID:
        return parse_uuid(self.userId, "Invalid userId")


class ReportOut(Out):
    """A report as its reporter sees it."""

    id: uuid.UUID
    target_type: str
    target_id: uuid.UUID
    reason: str
    text: str
    state: str
    created_at: Timestamp


class DecidedReport(ReportOut):
    """A report as the moderators see it: who filed it, who posted the target, who decided it (null while open),
    how and why."""

    reporter_id: uuid.UUID
    target_owner_id: uuid.UUID | None
    decided_at: Timestamp | None
    decided_by: uuid.UUID | None
    action: str | None
    note: str | None


class QueuedReport(DecidedReport):
    """A report of the queue: also its reporter's name, and what the target says now (a video's title, a comment's or
    post's text, a user's name; null once it is gone)."""

    reporter_username: str
    target_summary: str | None


class LogEntry(Out):
    """One moderation action: who (null: the command line), what, on what, when, why."""

    id: uuid.UUID
    actor_id: uuid.UUID | None
    actor_username: str | None
    action: str
    target_type: str
    target_id: uuid.UUID
    report_id: uuid.UUID | None
    note: str
    details: dict[str, Any]
    created_at: Timestamp


class BlockedUser(Out):
    id: uuid.UUID
    username: str
    fullname: str
    avatar: str
    blocked_at: Timestamp
