"""sortBy=trending (issue #15, point 7): the feed ordered by views of the last 7 days, a column the view count adds to
at once and the housekeeping sweep takes each hour off once it leaves the window; so no request sums views or
buckets. Time is moved by ageing the buckets in the database, then running the real sweep."""

import threading

from shared import db
from shared.services import trending
from shared.services.job_handlers import periodic
from shared.sql import view_stats as view_stats_sql


def _watch(client, auth, make_user, video_id, times):
    for _ in range(times):  # each viewer's view counts once per window
        response = client.get(f"/api/v2/videos/{video_id}", headers=auth(make_user()))
        assert response.status_code == 200, response.body


def _trending(client, headers, query=""):
    response = client.get(f"/api/v2/videos?sortBy=trending{query}", headers=headers)
    assert response.status_code == 200, response.body
    return [d["title"] for d in response.json_body["data"]["docs"]]


def _age(video_id, days):
    """As if the video's counted views had happened `days` earlier, with the window's edge from before them."""
    db.execute("UPDATE video_views_hourly SET hour = hour - make_interval(days => :d) WHERE video_id = :v",
               d=days, v=video_id)
    db.execute("UPDATE counters SET value = extract(epoch FROM (SELECT min(hour) FROM video_views_hourly))::bigint"
               " WHERE name = 'trending_window_start'")


def _trending_views(video_id):
    return db.fetch_value("SELECT trending_views FROM videos WHERE id = :v", v=video_id)


def test_trending_ranks_by_views_of_the_last_7_days_not_all_time(client, make_user, make_video, auth):
    owner = make_user()
    make_video(owner, title="classic", views=10_000)  # counted long ago: in its total, not in trending
    rising = make_video(owner, title="rising")
    steady = make_video(owner, title="steady")
    _watch(client, auth, make_user, rising["id"], 3)
    _watch(client, auth, make_user, steady["id"], 1)
    headers = auth(owner)

    assert _trending(client, headers) == ["rising", "steady", "classic"]
    assert _trending(client, headers, "&sortType=asc") == ["classic", "steady", "rising"]
    by_views = client.get("/api/v2/videos?sortBy=views", headers=headers).json_body["data"]["docs"]
    assert [d["title"] for d in by_views] == ["classic", "rising", "steady"]


def test_views_leave_trending_once_their_hour_is_more_than_7_days_old(client, make_user, make_video, auth):
    owner = make_user()
    old_hit, new_hit = make_video(owner, title="old hit"), make_video(owner, title="new hit")
    _watch(client, auth, make_user, old_hit["id"], 3)
    _watch(client, auth, make_user, new_hit["id"], 1)
    _age(old_hit["id"], days=8)
    assert _trending(client, auth(owner)) == ["old hit", "new hit"]  # not swept yet

    moved = trending.advance()

    assert moved >= 24  # a day and more of hours left the window
    assert (_trending_views(old_hit["id"]), _trending_views(new_hit["id"])) == (0, 1)
    assert _trending(client, auth(owner)) == ["new hit", "old hit"]
    assert db.fetch_value("SELECT views FROM videos WHERE id = :v", v=old_hit["id"]) == 3  # the total keeps them
    assert trending.advance() == 0  # the window is where it belongs: nothing is taken off twice


def test_the_housekeeping_pass_moves_the_window(client, make_user, make_video, auth, monkeypatch):
    """What every worker runs (and, on serverless, the one-minute schedule: functions/jobs.py calls periodic)."""
    owner = make_user()
    video = make_video(owner, title="old hit")
    _watch(client, auth, make_user, video["id"], 2)
    _age(video["id"], days=9)
    trending.PACE.reset()

    periodic()

    assert _trending_views(video["id"]) == 0


def test_concurrent_sweeps_take_each_hour_off_once(client, make_user, make_video, auth):
    owner = make_user()
    video = make_video(owner)
    _watch(client, auth, make_user, video["id"], 4)
    _age(video["id"], days=8)
    db.execute("UPDATE videos SET trending_views = trending_views + 10 WHERE id = :v", v=video["id"])  # 10 recent
    barrier = threading.Barrier(4)
    moved: list[int] = []

    def sweep() -> None:
        barrier.wait()
        moved.append(view_stats_sql.advance_trending_window(max_hours=1000))

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(moved)[:-1] == [0, 0, 0] and moved != [0, 0, 0, 0]  # one moved the window, the others found it
    assert _trending_views(video["id"]) == 10  # the 4 old views off once, not four times


def test_old_hourly_buckets_are_pruned_but_the_daily_ones_and_the_channel_days_stay(client, make_user, make_video,
                                                                                     auth):
    owner = make_user()
    video = make_video(owner)
    _watch(client, auth, make_user, video["id"], 2)
    db.execute("UPDATE video_views_hourly SET hour = hour - interval '16 days'")
    db.execute("UPDATE channel_views_hourly SET hour = hour - interval '16 days'")
    db.execute("UPDATE counters SET value = extract(epoch FROM date_trunc('hour', now(), 'UTC') - interval '7 days')"
               " WHERE name = 'trending_window_start'")

    trending.advance()

    assert db.fetch_value("SELECT count(*) FROM video_views_hourly") == 0
    assert db.fetch_value("SELECT count(*) FROM channel_views_hourly") == 0
    assert db.fetch_value("SELECT sum(views) FROM video_views_daily") == 2
    assert db.fetch_value("SELECT sum(views) FROM channel_views_daily") == 2  # pruning is not deleting a video


def test_hours_still_in_the_window_are_never_pruned_before_they_leave_it(client, make_user, make_video, auth):
    """A sweep stopped for over 15 days: the window catches up from the buckets before they are pruned."""
    owner = make_user()
    video = make_video(owner)
    _watch(client, auth, make_user, video["id"], 2)
    _age(video["id"], days=20)  # the edge 20 days back: the hour is still counted

    assert view_stats_sql.prune_hourly() == 0
    assert db.fetch_value("SELECT count(*) FROM video_views_hourly") == 1
    trending.advance()

    assert _trending_views(video["id"]) == 0
    assert db.fetch_value("SELECT count(*) FROM video_views_hourly") == 0  # pruned once out of the window
