"""Views over time (issue #17, point 5): what GET /dashboard/views takes (a UTC date range, a granularity, optionally
one of the caller's videos) with its rules and caps, and the series it answers."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass

from chalice.app import Request
from pydantic import Field

from shared import errors
from shared.schemas import Out
from shared.web.request import parse_uuid, query_param

GRANULARITIES = ("day", "hour")
MAX_DAYS = 366  # a day series: a year (a leap year's) at most
MAX_HOUR_DAYS = 14  # an hour series: at most 14 days (336 points), within the hourly buckets kept (15 days)
DEFAULT_DAYS = 30  # `from` left out: the last 30 days, or the last 48 hours (2 days) hour by hour
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class ViewPoint(Out):
    t: str = Field(description="The UTC day (YYYY-MM-DD), or the start of the UTC hour (ISO-8601, ending in Z)",
                   examples=["2026-12-03", "2026-12-03T14:00:00.000Z"])
    views: int = Field(description="Views counted in that day or hour (0 when none)", examples=[42])


class ViewSeries(Out):
    """One point per UTC day (or hour) of the range, oldest first, zero-filled, up to now; `total` is their sum."""

    points: list[ViewPoint]
    total: int = Field(description="The sum of the points' views", examples=[1234])


def _date(request: Request, name: str) -> dt.date | None:
    raw = query_param(request, name)
    if raw is None or raw == "":
        return None
    try:
        if not _DATE.fullmatch(raw):
            raise ValueError
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise errors.BadRequest(f"'{name}' must be a date as YYYY-MM-DD (a UTC day), such as 2026-12-03") from None


@dataclass(frozen=True)
class ViewSeriesQuery:
    """`from` and `to` are UTC days, both included; hour by hour, their hours from 00:00Z of `from` to 23:00Z of
    `to`. A series stops at the current day or hour (the future has no points)."""

    start: dt.date
    end: dt.date
    granularity: str
    video_id: uuid.UUID | None

    @classmethod
    def from_request(cls, request: Request, today: dt.date | None = None) -> ViewSeriesQuery:
        today = today or dt.datetime.now(dt.UTC).date()
        granularity = query_param(request, "granularity") or "day"
        if granularity not in GRANULARITIES:
            raise errors.BadRequest("granularity must be day or hour")
        video = query_param(request, "videoId")
        video_id = parse_uuid(video, "Invalid video ID") if video else None
        end = _date(request, "to") or today
        start = _date(request, "from") or end - dt.timedelta(days=(DEFAULT_DAYS if granularity == "day" else 2) - 1)
        if start > end:
            raise errors.BadRequest("'from' must be on or before 'to'")
        if start > today:
            raise errors.BadRequest(f"'from' is in the future (today is {today.isoformat()}, UTC)")
        days = (end - start).days + 1
        if granularity == "day" and days > MAX_DAYS:
            raise errors.BadRequest(f"A daily series covers at most {MAX_DAYS} days ({days} asked)")
        if granularity == "hour":
            if days > MAX_HOUR_DAYS:
                raise errors.BadRequest(f"An hourly series covers at most {MAX_HOUR_DAYS} days ({days} asked)")
            oldest = today - dt.timedelta(days=MAX_HOUR_DAYS - 1)
            if start < oldest:
                raise errors.BadRequest(f"Hourly views are kept for the last {MAX_HOUR_DAYS} days: 'from' must be "
                                        f"{oldest.isoformat()} or later (ask for granularity=day before that)")
        return cls(start=start, end=end, granularity=granularity, video_id=video_id)
