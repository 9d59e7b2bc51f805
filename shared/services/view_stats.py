"""Views over time for a creator (issue #17, point 5): their channel's, or one of their videos', day by day or hour by
hour, read from the buckets the view count keeps (shared/sql/view_stats.py): one row per point at most, never the
views themselves. Points with no views are zero-filled here; `total` is the points' sum, and the daily buckets add up
to the videos' view totals (views from before the buckets are in one bucket at each video's creation,
infra/migrations/0018_discovery_and_view_stats.sql)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from shared import errors
from shared.auth import CurrentUser
from shared.schemas.view_stats import ViewSeriesQuery
from shared.sql import videos as videos_sql
from shared.sql import view_stats as view_stats_sql
from shared.wire import iso_timestamp

HOUR = dt.timedelta(hours=1)


def series(user: CurrentUser, query: ViewSeriesQuery) -> dict[str, Any]:
    """schemas.view_stats.ViewSeries for the caller's channel, or for `query.video_id`: 404 unless it is the
    caller's own video (another's, whatever its privacy, is not theirs to chart)."""
    if query.video_id is not None:
        row = videos_sql.get(video_id=query.video_id)
        if row is None or row["user_id"] != user.id:
            raise errors.NotFound("Video not found")
    scope: dict[str, Any] = {"video_id": query.video_id} if query.video_id else {"user_id": user.id}
    now = dt.datetime.now(dt.UTC)
    points: list[dict[str, Any]] = []
    if query.granularity == "day":
        end = min(query.end, now.date())
        by_day = view_stats_sql.daily(start=query.start, end=end, **scope)
        day = query.start
        while day <= end:
            points.append({"t": day.isoformat(), "views": by_day.get(day, 0)})
            day += dt.timedelta(days=1)
    else:
        start = dt.datetime.combine(query.start, dt.time(), dt.UTC)
        end_hour = min(dt.datetime.combine(query.end + dt.timedelta(days=1), dt.time(), dt.UTC),
                       now.replace(minute=0, second=0, microsecond=0) + HOUR)
        by_hour = view_stats_sql.hourly(start=start, end=end_hour, **scope)
        hour = start
        while hour < end_hour:
            points.append({"t": iso_timestamp(hour), "views": by_hour.get(hour, 0)})
            hour += HOUR
    return {"points": points, "total": sum(p["views"] for p in points)}
