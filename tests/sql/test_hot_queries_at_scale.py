"""Issue #4's scale check, in `make test`: 100k videos, 1M likes, 200k comments, 100k subscriptions; every hot
query's plan reads indexes, never a sequential scan on a big table (the original's dashboard scanned all likes)."""

import pytest

from infra.bench.explain_hot_queries import BIG_TABLES, HOT_QUERIES, hot_queries, plan_of
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
