"""Issue #4's scale check, in `make test`: 100k videos, 1M likes, 200k comments, 100k subscriptions; every hot
query's plan reads indexes, never a sequential scan on a big table (the original's dashboard scanned all likes)."""

import json

import pytest

from infra.bench.explain_hot_queries import BIG_TABLES, HOT_QUERIES, _scans, hot_queries, plan_of
from infra.bench.seed import Scale, seed
from shared import db

pytestmark = pytest.mark.seeded_module
FULL = Scale(users=10_000, videos=100_000, comments=200_000, likes=1_000_000, subscriptions=100_000, tweets=20_000)


@pytest.fixture(scope="module")
def seeded():
    seed(FULL, log=False)
    yield
    db.execute("TRUNCATE users CASCADE")


def test_the_dataset_has_the_issues_size(seeded):
    counts = {t: db.fetch_value(f"SELECT count(*) FROM {t}") for t in ("videos", "likes", "comments", "subscriptions")}

    assert counts["videos"] == 100_000 and counts["comments"] == 200_000
    assert counts["likes"] >= 990_000 and counts["subscriptions"] >= 99_000


def test_every_hot_query_is_checked(seeded):
    assert set(hot_queries()) == set(HOT_QUERIES)


@pytest.mark.parametrize("name", HOT_QUERIES)
def test_no_hot_query_scans_a_big_table(seeded, name):
    scans = plan_of(hot_queries()[name])

    sequential = [(table, node) for table, node, _ in scans if node == "Seq Scan" and table in BIG_TABLES]
    assert scans and not sequential, scans


def test_dashboard_likes_are_counted_through_the_likes_video_index(seeded):
    scans = plan_of(hot_queries()["dashboard stats"])

    assert ("likes", "likes_video_idx") in {(table, index) for table, _, index in scans}, scans


def test_the_watch_pages_live_counts_ride_on_the_views_statement_and_read_indexes(seeded):
    """The video detail's likesCount, isLiked and isSubscribed (issue #14) are subqueries of the statement that counts
    the view: on the most-liked video, the like count is read from likes_video_idx, nothing scans a big table."""
    from shared.sql import videos as videos_sql

    video = db.fetch_value("SELECT video_id FROM likes WHERE video_id IS NOT NULL"
                           " GROUP BY video_id ORDER BY count(*) DESC LIMIT 1")
    viewer = db.fetch_value("SELECT id FROM users ORDER BY id LIMIT 1")

    scans = plan_of(lambda: videos_sql.record_view(video_id=video, viewer_id=viewer, window_seconds=3600))

    sequential = [(table, node) for table, node, _ in scans if node == "Seq Scan" and table in BIG_TABLES]
    assert scans and not sequential, scans
    assert ("likes", "likes_video_idx") in {(table, index) for table, _, index in scans}, scans


@pytest.mark.parametrize("name", ["subscriptions feed", "subscriptions feed (next page)"])
def test_the_subscriptions_feed_reads_each_followed_channels_newest_videos_from_its_index(seeded, name):
    """Issue #15: the feed is a range of videos_published_user_created_idx per followed channel (at most a page of
    entries each, the next page from the cursor's key on), read from the follower's subscriptions index: never a
    scan or a sort of the channels' whole catalogues."""
    scans = plan_of(hot_queries()[name])

    used = {(table, index) for table, _, index in scans}
    assert ("videos", "videos_published_user_created_idx") in used, scans
    assert any(table == "subscriptions" and index for table, index in used), scans
    assert not [s for s in scans if s[0] in BIG_TABLES and s[1] == "Seq Scan"], scans


def test_a_videos_threads_and_a_threads_replies_read_their_own_indexes(seeded):
    """Issue #15: a video's top-level threads (and their total) come from comments_threads_idx, a thread's replies
    from comments_replies_idx."""
    threads = {(t, i) for t, _, i in plan_of(hot_queries()["comments page"])}
    replies = {(t, i) for t, _, i in plan_of(hot_queries()["comment replies"])}

    assert ("comments", "comments_threads_idx") in threads, threads
    assert ("comments", "comments_replies_idx") in replies, replies


@pytest.fixture(scope="module")
def inboxes(seeded):
    """Issue #15: 60k notifications over 100 recipients, a quarter of them (15k) to one heavy user; two in three
    read. Removed with the users (the recipient's foreign key cascades)."""
    for low in (1, 30_001):
        with db.transaction(wait_for_disk=False) as tx:
            tx.execute(
                "INSERT INTO notifications (recipient_id, type, actor_id, video_id, read_at)"
                " SELECT u.ids[1 + CASE WHEN g % 4 = 0 THEN 0 ELSE g % 100 END],"
                "  (ARRAY['video.processed', 'export.ready', 'comment.created'])[1 + g % 3],"
                "  CASE WHEN g % 3 = 2 THEN u.ids[101 + g % 100] END,"
                "  v.ids[1 + g % cardinality(v.ids)], CASE WHEN g % 3 <> 0 THEN now() END"
                " FROM generate_series(CAST(:low AS bigint), :low + 29999) g,"
                " (SELECT array_agg(id ORDER BY id) AS ids FROM (SELECT id FROM users ORDER BY id LIMIT 200) f) u,"
                " (SELECT array_agg(id ORDER BY id) AS ids FROM (SELECT id FROM videos LIMIT 1000) f) v", low=low)
    db.execute("VACUUM (ANALYZE) notifications")  # as autovacuum leaves a table: statistics and visibility map
    return db.fetch_value("SELECT id FROM users ORDER BY id LIMIT 1")


@pytest.mark.parametrize("unread", [False, True])
def test_the_notification_inbox_and_its_unread_count_read_their_indexes(inboxes, unread):
    """Issue #15: an inbox page (and the next, from the cursor's id) is a range of the primary key (recipient_id, id),
    or of notifications_unread_idx for ?unread=true, and the unread count a count over the latter alone, for a
    recipient of 15k notifications among 60k."""
    from shared.sql import notifications as notifications_sql

    first = notifications_sql.page(recipient_id=inboxes, limit=21, after=None, unread=unread)
    assert len(first) == 21
    index = "notifications_unread_idx" if unread else "notifications_pkey"
    for after in (None, first[-1]["id"]):
        scans = plan_of(lambda a=after: notifications_sql.page(recipient_id=inboxes, limit=21, after=a, unread=unread))
        assert ("notifications", "Index Scan", index) in scans, scans
        assert not [s for s in scans if s[1] == "Seq Scan" and s[0] in {*BIG_TABLES, "notifications"}], scans
    counted = plan_of(lambda: notifications_sql.unread_count(recipient_id=inboxes))
    assert {index for _, _, index in counted if index} == {"notifications_unread_idx"}, counted
    assert "Seq Scan" not in {node for _, node, _ in counted}, counted


def test_the_tag_filter_reads_the_tags_index_and_trending_its_own(seeded):
    """Issue #15, point 7: a tag 1 video in 5,000 carries is found through the GIN videos_tags_idx (never by walking
    the feed's order and filtering), and sortBy=trending walks videos_published_trending_idx (a kept column: no
    request sums views)."""
    tagged = {(t, i) for t, _, i in plan_of(hot_queries()["feed by a rare tag"])}
    ranked = {(t, i) for t, _, i in plan_of(hot_queries()["feed sorted by trending"])}

    assert ("videos", "videos_tags_idx") in tagged, tagged
    assert ("videos", "videos_published_trending_idx") in ranked, ranked


@pytest.mark.parametrize(("name", "index"), [
    ("views by day: channel", "channel_views_daily_pkey"), ("views by day: video", "video_views_daily_pkey"),
    ("views by hour: channel", "channel_views_hourly_pkey"), ("views by hour: video", "video_views_hourly_pkey")])
def test_a_view_series_is_one_range_of_its_buckets_key(seeded, name, index):
    """Issue #17, point 5: a year by day or 48 hours by hour reads one key range of one bucket table."""
    scans = plan_of(hot_queries()[name])

    assert {index} == {i for _, _, i in scans if i} and {t for t, _, _ in scans} == {index.removesuffix("_pkey")}, scans


def test_the_trending_sweep_reads_the_hours_leaving_the_window_through_the_hour_index(seeded):
    """What the housekeeping sweep runs once an hour leaves the trending window (shared/sql/view_stats.py): the
    buckets of that hour alone, not the whole table."""
    import datetime as dt

    hour = db.fetch_value("SELECT date_trunc('hour', now(), 'UTC') - interval '1 hour'")
    with db.transaction() as tx:
        raw = tx.fetch_value(
            "EXPLAIN (FORMAT JSON) SELECT video_id, sum(views) AS views FROM video_views_hourly"
            " WHERE hour >= :start AND hour < :end GROUP BY video_id", start=hour, end=hour + dt.timedelta(hours=1))
    scans: list = []
    _scans((raw if isinstance(raw, list) else json.loads(raw))[0]["Plan"], scans)

    assert ("video_views_hourly", "video_views_hourly_hour_idx") in {(t, i) for t, _, i in scans}, scans


@pytest.fixture(scope="module")
def positions(seeded):
    """40k watch positions (issue #17.4): 20 videos for each of 2,000 users, every fifth finished, a second apart."""
    db.execute(
        "WITH us AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM users ORDER BY id LIMIT 2000),"
        " vs AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM videos)"
        " INSERT INTO watch_progress (user_id, video_id, position_seconds, finished, updated_at)"
        " SELECT us.id, vs.id, 5, g % 5 = 0, now() - make_interval(secs => us.n * 20 + g)"
        # an equality on vs.n alone: a hash join (the video count is computed once, not per pair)
        " FROM us CROSS JOIN generate_series(0, 19) g"
        " JOIN vs ON vs.n = (us.n * 20 + g) % (SELECT count(*) FROM videos) + 1"
        " ON CONFLICT DO NOTHING")
    db.execute("ANALYZE watch_progress")


def test_continue_watching_and_the_progress_write_read_their_own_indexes(positions):
    from shared.sql import watch_progress as progress_sql

    viewer, video = db.fetch_one("SELECT user_id, video_id FROM watch_progress LIMIT 1").values()

    listed = plan_of(lambda: progress_sql.continue_watching(viewer_id=viewer, limit=20, offset=0))
    written = plan_of(lambda: progress_sql.record(viewer_id=viewer, video_id=video, position=1.0, interval_seconds=10))

    for scans in (listed, written):
        sequential = [(table, node) for table, node, _ in scans
                      if node == "Seq Scan" and table in BIG_TABLES | {"watch_progress"}]
        assert scans and not sequential, scans
    assert ("watch_progress", "watch_progress_continue_idx") in {(t, i) for t, _, i in listed}, listed
