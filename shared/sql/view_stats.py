"""Every SQL statement on the view buckets (issue #17, point 5) and the trending window (issue #15, point 7).

The buckets (infra/migrations/0018_discovery_and_view_stats.sql) are UTC hours and UTC days, per video and per
channel. They are filled by the statement that counts a view (`COUNT_VIEW_CTES`, spliced into
shared/sql/videos.py record_view: one statement, one round trip), read by range on their primary keys (a series
reads one row per point at most, never the views themselves), and trimmed by the housekeeping sweep
(shared/services/trending.py): hourly rows older than HOURLY_KEPT are pruned, and each hour leaving the 7-day
trending window has its buckets taken off videos.trending_views.
"""

from __future__ import annotations

import datetime as dt
import uuid

from shared import db

HOURLY_KEPT = dt.timedelta(days=15)  # the hourly rows kept: a 14-day hourly range, and the 7-day trending window
TRENDING_WINDOW = dt.timedelta(days=7)

# Data-modifying CTEs for the statement that counts a view, after its `bumped` CTE (the videos row it updated, with
# RETURNING user_id): each reads `bumped`, so a view that was not counted (no row) writes no bucket, and the video's
# row is locked before any bucket row (always in this order: no deadlock with another view or with the sweep, which
# locks video rows only). Hours and days are UTC whatever the session's time zone; statement_timestamp() is the
# instant the view was counted at, the same for every bucket.
COUNT_VIEW_CTES = (
    ", bucket_vh AS (INSERT INTO video_views_hourly AS b (video_id, hour, user_id, views)"
    "  SELECT :video, date_trunc('hour', statement_timestamp(), 'UTC'), user_id, 1 FROM bumped"
    "  ON CONFLICT (video_id, hour) DO UPDATE SET views = b.views + 1)"
    ", bucket_vd AS (INSERT INTO video_views_daily AS b (video_id, day, user_id, views)"
    "  SELECT :video, CAST(statement_timestamp() AT TIME ZONE 'UTC' AS date), user_id, 1 FROM bumped"
    "  ON CONFLICT (video_id, day) DO UPDATE SET views = b.views + 1)"
    ", bucket_ch AS (INSERT INTO channel_views_hourly AS b (user_id, hour, views)"
    "  SELECT user_id, date_trunc('hour', statement_timestamp(), 'UTC'), 1 FROM bumped"
    "  ON CONFLICT (user_id, hour) DO UPDATE SET views = b.views + 1)"
    ", bucket_cd AS (INSERT INTO channel_views_daily AS b (user_id, day, views)"
    "  SELECT user_id, CAST(statement_timestamp() AT TIME ZONE 'UTC' AS date), 1 FROM bumped"
    "  ON CONFLICT (user_id, day) DO UPDATE SET views = b.views + 1)"
)


def daily(*, start: dt.date, end: dt.date, video_id: uuid.UUID | None = None,
          user_id: uuid.UUID | None = None) -> dict[dt.date, int]:
    """Views per UTC day in [start, end] of one video, or else of one channel: only the days that had any (a range
    of the table's primary key)."""
    if video_id is not None:
        sql = "SELECT day, views FROM video_views_daily WHERE video_id = :id AND day BETWEEN :start AND :end"
    else:
        sql = "SELECT day, views FROM channel_views_daily WHERE user_id = :id AND day BETWEEN :start AND :end"
    rows = db.fetch_all(sql, id=video_id if video_id is not None else user_id, start=start, end=end)
    return {r["day"]: int(r["views"]) for r in rows if r["views"]}


def hourly(*, start: dt.datetime, end: dt.datetime, video_id: uuid.UUID | None = None,
           user_id: uuid.UUID | None = None) -> dict[dt.datetime, int]:
    """Views per UTC hour in [start, end) of one video, or else of one channel (a range of the primary key)."""
    if video_id is not None:
        sql = "SELECT hour, views FROM video_views_hourly WHERE video_id = :id AND hour >= :start AND hour < :end"
    else:
        sql = "SELECT hour, views FROM channel_views_hourly WHERE user_id = :id AND hour >= :start AND hour < :end"
    rows = db.fetch_all(sql, id=video_id if video_id is not None else user_id, start=start, end=end)
    return {r["hour"].astimezone(dt.UTC): int(r["views"]) for r in rows if r["views"]}


def advance_trending_window(*, max_hours: int = 24) -> int:
    """Move the trending window's lower edge up to the current UTC hour minus 7 days, taking each hour that leaves
    it off videos.trending_views (its buckets, through video_views_hourly_hour_idx); the number of hours moved.

    One transaction: the edge (a row of `counters`, locked first, so concurrent sweeps on other processes or nodes
    run one after the other and never take an hour off twice) moves with the subtraction or not at all. At most
    `max_hours` per call (a box that was down for weeks catches up over a few passes, each one short). The videos
    are updated in id order, so two statements locking many of them never deadlock."""
    with db.transaction() as tx:
        edge = tx.fetch_value("SELECT value FROM counters WHERE name = 'trending_window_start' FOR UPDATE")
        if edge is None:
            return 0
        start = dt.datetime.fromtimestamp(int(edge), dt.UTC)
        now = tx.fetch_value("SELECT now()")
        target = now.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0) - TRENDING_WINDOW
        end = min(target, start + dt.timedelta(hours=max_hours))
        if end <= start:
            return 0
        tx.execute(
            "UPDATE videos v SET trending_views = greatest(v.trending_views - g.views, 0)"
            " FROM (SELECT video_id, sum(views) AS views FROM video_views_hourly"
            "       WHERE hour >= :start AND hour < :end GROUP BY video_id ORDER BY video_id) g"
            " WHERE v.id = g.video_id AND g.views > 0", start=start, end=end)
        tx.execute("UPDATE counters SET value = :edge WHERE name = 'trending_window_start'",
                   edge=int(end.timestamp()))
    return int((end - start) / dt.timedelta(hours=1))


def prune_hourly(*, limit: int = 10_000) -> int:
    """Delete hourly rows older than HOURLY_KEPT (at most `limit` of each table per call, through their hour
    indexes); the number deleted. Channel rows go first: the trigger that takes a deleted video's hours off its
    channel leaves pruned hours alone (the video still exists), so the order only keeps the work small."""
    with db.transaction() as tx:
        # Never an hour still inside the trending window's count (a sweep that was stopped for a week catches up on
        # the window first, from the rows it needs).
        cutoff = tx.fetch_value(
            "SELECT least(date_trunc('hour', now(), 'UTC') - make_interval(days => :days),"
            " (SELECT to_timestamp(value) FROM counters WHERE name = 'trending_window_start'))",
            days=HOURLY_KEPT.days)
        channel = tx.execute(
            "DELETE FROM channel_views_hourly WHERE ctid IN ("
            " SELECT ctid FROM channel_views_hourly WHERE hour < :cutoff LIMIT :limit)", cutoff=cutoff, limit=limit)
        video = tx.execute(
            "DELETE FROM video_views_hourly WHERE ctid IN ("
            " SELECT ctid FROM video_views_hourly WHERE hour < :cutoff LIMIT :limit)", cutoff=cutoff, limit=limit)
    return int(channel or 0) + int(video or 0)
