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
