"""A video's privacy level and scheduled publishing as POST /videos and PATCH /videos/{videoId} take them (issue #15,
point 1): the two fields, their rules and messages, mixed into the video inputs (shared.schemas.videos)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Self

from pydantic import model_validator

from shared import errors
from shared.schemas import In, field

PRIVACY_LEVELS = ("public", "unlisted", "private")
MAX_AHEAD = timedelta(days=10 * 365)  # far enough for any plan, near enough for every date type on the way
_PRIVACY_DOC = ("public (default: listed everywhere), unlisted (opened by its id or link by anyone signed in, listed "
                "nowhere) or private (yours only)")
_PUBLISH_AT_DOC = ("Publish later: an ISO-8601 time with its offset; the video stays private until then and turns "
                   "public by itself within a minute of it. null cancels a schedule")


def parse_publish_at(value: str) -> datetime:
    """An ISO-8601 time with its offset (`Z` or `+02:00`), in the future (at most MAX_AHEAD), in UTC; 422
    otherwise."""
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise errors.ValidationFailed("publishAt must be an ISO-8601 time, such as 2030-01-31T18:00:00Z") from None
    if when.tzinfo is None:
        raise errors.ValidationFailed("publishAt needs its time zone offset, such as 2030-01-31T18:00:00Z")
    now = datetime.now(UTC)
    if when <= now:
        raise errors.ValidationFailed("publishAt must be in the future (leave it out to publish now)")
    if when > now + MAX_AHEAD:
        raise errors.ValidationFailed(f"publishAt may be at most {MAX_AHEAD.days // 365} years ahead")
    return when.astimezone(UTC)


class PrivacyIn(In):
    """`privacy` and `publishAt`. A schedule makes the video private until its time: with one, privacy may only be
    private or left out."""

    privacy: str | None = field("private", default=None, choices=PRIVACY_LEVELS, description=_PRIVACY_DOC)
    publishAt: str | None = field("2030-01-31T18:00:00Z", default=None, description=_PUBLISH_AT_DOC)

    @model_validator(mode="after")
    def _privacy_rules(self) -> Self:
        if self.privacy and self.privacy not in PRIVACY_LEVELS:
            raise errors.ValidationFailed(f"privacy must be one of {', '.join(PRIVACY_LEVELS)}")
        if self.publishAt:
            parse_publish_at(self.publishAt)
            if self.privacy and self.privacy != "private":
                raise errors.ValidationFailed("A video with publishAt is private until then: leave privacy out or "
                                              "send private")
        return self

    def privacy_on_create(self) -> tuple[str, datetime | None]:
        """(privacy, publish_at) of a new video: public unless told otherwise; private while scheduled."""
        if self.publishAt:
            return "private", parse_publish_at(self.publishAt)
        return self.privacy or "public", None

    def privacy_changes(self) -> dict[str, Any]:
        """The columns a PATCH changes: a schedule (private until then), a schedule cancelled (publishAt null or
        empty), or a privacy set (which cancels any schedule); nothing when neither field was sent."""
        changes: dict[str, Any] = {}
        if self.privacy:
            changes = {"privacy": self.privacy, "publish_at": None}
        if "publishAt" in self.model_fields_set:
            changes["publish_at"] = parse_publish_at(self.publishAt) if self.publishAt else None
            if self.publishAt:
                changes["privacy"] = "private"
        return changes
