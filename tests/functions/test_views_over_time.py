"""Views over time (issue #17, point 5): GET /dashboard/views → {points: [{t, views}], total}, per UTC day or hour, for
the caller's channel or one of their videos, read from buckets the view count fills in its own statement. Days and
hours are UTC whatever the database session's time zone; points are zero-filled up to now; totals agree with the
videos' view counts (old views are backfilled at the video's creation); another's video is a 404; bad ranges a 400."""

import datetime as dt
from collections import Counter

import pytest

from shared import db
from shared.sql import videos as videos_sql

UTC = dt.UTC


def _today():
    return dt.datetime.now(UTC).date()


def _watch(client, auth, make_user, video_id, times):
    for _ in range(times):
        response = client.get(f"/api/v2/videos/{video_id}", headers=auth(make_user()))
        assert response.status_code == 200, response.body


def _series(client, headers, query=""):
    response = client.get(f"/api/v2/dashboard/views?{query}", headers=headers)
    assert response.status_code == 200, response.body
    return response.json_body["data"]


def _bucket(video, when, views):
    """Views counted at `when` (a UTC datetime), written as the view count writes them (per video and channel)."""
    hour, day = when.replace(minute=0, second=0, microsecond=0), when.date()
    db.execute("INSERT INTO video_views_hourly (video_id, hour, user_id, views) VALUES (:v, :h, :u, :n)",
               v=video["id"], h=hour, u=video["user_id"], n=views)
    db.execute("INSERT INTO video_views_daily AS b (video_id, day, user_id, views) VALUES (:v, :d, :u, :n)"
               " ON CONFLICT (video_id, day) DO UPDATE SET views = b.views + :n",
               v=video["id"], d=day, u=video["user_id"], n=views)
    db.execute("INSERT INTO channel_views_hourly AS b (user_id, hour, views) VALUES (:u, :h, :n)"
               " ON CONFLICT (user_id, hour) DO UPDATE SET views = b.views + :n", u=video["user_id"], h=hour, n=views)
    db.execute("INSERT INTO channel_views_daily AS b (user_id, day, views) VALUES (:u, :d, :n)"
               " ON CONFLICT (user_id, day) DO UPDATE SET views = b.views + :n", u=video["user_id"], d=day, n=views)


def test_a_videos_daily_series_counts_todays_views_and_zero_fills_the_other_days(client, make_user, make_video, auth):
    owner = make_user()
    video = make_video(owner)
    _watch(client, auth, make_user, video["id"], 3)
    start = _today() - dt.timedelta(days=6)

    data = _series(client, auth(owner), f"from={start}&to={_today()}&videoId={video['id']}")

    assert [p["t"] for p in data["points"]] == [str(start + dt.timedelta(days=n)) for n in range(7)]
    assert [p["views"] for p in data["points"]] == [0] * 6 + [3]
    assert data["total"] == 3 == client.get(f"/api/v2/videos/{video['id']}", headers=auth(owner)).json_body[
        "data"]["views"] - 1  # (that read was the owner's own view: one more)


def test_the_default_range_is_the_last_30_days(client, make_user, auth):
    data = _series(client, auth(make_user()))

    assert len(data["points"]) == 30 and data["points"][-1]["t"] == str(_today()) and data["total"] == 0


def test_days_are_utc_days_across_midnight(client, make_user, make_video, auth):
    owner = make_user()
    video = make_video(owner)
    midnight = dt.datetime.combine(_today() - dt.timedelta(days=3), dt.time(), UTC)
    _bucket(video, midnight - dt.timedelta(minutes=1), 4)  # 23:59 UTC, the day before
    _bucket(video, midnight, 7)  # 00:00 UTC

    data = _series(client, auth(owner), f"from={midnight.date() - dt.timedelta(days=1)}&to={midnight.date()}")

    assert data["points"] == [{"t": str(midnight.date() - dt.timedelta(days=1)), "views": 4},
                              {"t": str(midnight.date()), "views": 7}]
    assert data["total"] == 11


def test_a_view_lands_in_its_utc_hour_and_day_whatever_the_sessions_time_zone(make_user, make_video):
    """Asia/Kolkata is +05:30 (its hours start at :30 UTC); Kiritimati +14 and GMT+12 (-12) put the local date a day
    away from the UTC one for most of the day."""
    owner = make_user()
    days: Counter = Counter()
    hours: Counter = Counter()
    for zone in ("Asia/Kolkata", "Pacific/Kiritimati", "Etc/GMT+12"):
        video, viewer = make_video(owner), make_user()

        with db.transaction(settings=(f"TimeZone = '{zone}'",)):
            videos_sql.record_view(video_id=video["id"], viewer_id=viewer["id"], window_seconds=3600)
            counted_at = db.fetch_value("SELECT counted_at FROM watch_history WHERE video_id = :v", v=video["id"])

        utc = counted_at.astimezone(UTC)
        days[utc.date()] += 1
        hours[utc.replace(minute=0, second=0, microsecond=0)] += 1
        hour = db.fetch_value("SELECT hour FROM video_views_hourly WHERE video_id = :v", v=video["id"])
        assert hour.astimezone(UTC) == utc.replace(minute=0, second=0, microsecond=0), zone
        assert db.fetch_value("SELECT day FROM video_views_daily WHERE video_id = :v", v=video["id"]) == utc.date()
    channel_days = db.fetch_all("SELECT day, views FROM channel_views_daily WHERE user_id = :u", u=owner["id"])
    channel_hours = db.fetch_all("SELECT hour, views FROM channel_views_hourly WHERE user_id = :u", u=owner["id"])
    assert {r["day"]: r["views"] for r in channel_days} == days
    assert {r["hour"].astimezone(UTC): r["views"] for r in channel_hours} == hours


def test_an_hourly_series_runs_from_midnight_utc_to_the_current_hour_with_iso_utc_times(client, make_user, make_video,
                                                                                        auth):
    owner = make_user()
    video = make_video(owner)
    _watch(client, auth, make_user, video["id"], 2)
    now = dt.datetime.now(UTC)
    _bucket(video, now.replace(minute=30) - dt.timedelta(hours=25), 5)

    data = _series(client, auth(owner), f"granularity=hour&from={_today() - dt.timedelta(days=1)}&to={_today()}")

    points = data["points"]
    first = dt.datetime.combine(_today() - dt.timedelta(days=1), dt.time(), UTC)
    assert len(points) == 24 + now.hour + 1  # yesterday's 24 hours, today's so far: no points in the future
    assert points[0]["t"] == first.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert all(p["t"].endswith(":00:00.000Z") for p in points)
    by_t = {p["t"]: p["views"] for p in points}
    assert by_t[now.strftime("%Y-%m-%dT%H:00:00.000Z")] == 2
    assert by_t[(now - dt.timedelta(hours=25)).strftime("%Y-%m-%dT%H:00:00.000Z")] == 5
    assert data["total"] == 7 == sum(by_t.values())


def test_the_channel_series_adds_up_the_callers_videos_and_agrees_with_the_dashboard_totals(client, make_user,
                                                                                            make_video, auth):
    owner, rival = make_user(), make_user()
    first, second, theirs = make_video(owner), make_video(owner), make_video(rival)
    _watch(client, auth, make_user, first["id"], 2)
    _watch(client, auth, make_user, second["id"], 3)
    _watch(client, auth, make_user, theirs["id"], 4)
    headers = auth(owner)

    days = _series(client, headers, "from=" + str(_today() - dt.timedelta(days=365)))
    hours = _series(client, headers, "granularity=hour")

    assert len(days["points"]) == 366 and days["total"] == 5 and hours["total"] == 5
    stats = client.get("/api/v2/dashboard/stats", headers=headers).json_body["data"]
    assert stats["totalViews"] == days["total"]


def test_a_deleted_video_leaves_the_channels_series_with_its_views(client, make_user, make_video, auth):
    owner = make_user()
    kept, doomed = make_video(owner), make_video(owner)
    _watch(client, auth, make_user, kept["id"], 1)
    _watch(client, auth, make_user, doomed["id"], 2)
    headers = auth(owner)
    assert _series(client, headers)["total"] == 3

    assert client.delete(f"/api/v2/videos/{doomed['id']}", headers=headers).status_code == 200

    assert _series(client, headers)["total"] == 1 == _series(client, headers, "granularity=hour")["total"]
    assert client.get("/api/v2/dashboard/stats", headers=headers).json_body["data"]["totalViews"] == 1


def test_views_counted_before_the_buckets_are_backfilled_at_the_videos_creation(client, make_user, make_video, auth):
    """What the migration does to the views of existing videos (make_video sets `views` without buckets, as the
    videos of a database from before it have them); a second run adds nothing twice."""
    owner = make_user()
    video = make_video(owner, views=40)
    created = db.fetch_value("SELECT created_at FROM videos WHERE id = :v", v=video["id"]).astimezone(UTC)

    assert db.fetch_value("SELECT view_stats_backfill()") == 1
    assert db.fetch_value("SELECT view_stats_backfill()") == 0

    data = _series(client, auth(owner), f"videoId={video['id']}")
    assert data["total"] == 40 and {"t": str(created.date()), "views": 40} in data["points"]
    assert _series(client, auth(owner), "granularity=hour")["total"] == 40
    assert db.fetch_value("SELECT trending_views FROM videos WHERE id = :v", v=video["id"]) == 40  # a new video


@pytest.mark.parametrize("status", ["public", "private"])
def test_another_users_video_is_a_404_as_is_one_that_does_not_exist(client, make_user, make_video, auth, status):
    owner, snoop = make_user(), make_user()
    video = make_video(owner, published=status == "public")
    assert client.get(f"/api/v2/videos/{video['id']}", headers=auth(owner)).status_code == 200  # a view counted

    for video_id in (video["id"], "0196a5a0-3c1e-7d2a-9f4b-2b8e1c3d4e5f"):
        response = client.get(f"/api/v2/dashboard/views?videoId={video_id}", headers=auth(snoop))
        assert response.status_code == 404 and response.json_body["message"] == "Video not found", response.body


def test_the_route_needs_a_signed_in_caller(client):
    assert client.get("/api/v2/dashboard/views").status_code == 401


BAD_RANGES = [
    ("from=2026-13-01", "'from' must be a date"),
    ("to=2026-2-1", "'to' must be a date"),
    ("from=yesterday", "'from' must be a date"),
    ("from=2026-12-01T00:00:00Z", "'from' must be a date"),
    ("from=2026-12-01%2B02:00", "'from' must be a date"),
    ("from=20261201", "'from' must be a date"),
    ("from=2026-12-05&to=2026-12-01", "on or before"),
    ("from=2024-01-01&to=2025-12-31", "at most 366 days"),
    ("granularity=week", "granularity must be day or hour"),
    ("granularity=hour&from=2026-01-01&to=2026-01-20", "at most 14 days"),
    ("granularity=hour&from=2020-01-01&to=2020-01-02", "kept for the last 14 days"),
    ("from=2999-01-01&to=2999-01-02", "in the future"),
    ("videoId=42", "Invalid video ID"),
    ("from=%00", "NUL"),
    ("granularity=day&granularity=hour", "must be given once"),
]


def test_bad_ranges_are_a_400_naming_the_problem(client, make_user, auth):
    headers = auth(make_user())
    for query, named in BAD_RANGES:  # one test, not one each: every test's clean-up costs more than these requests
        response = client.get(f"/api/v2/dashboard/views?{query}", headers=headers)

        assert response.status_code == 400, (query, response.body)
        assert named in response.json_body["message"], (query, response.body)
