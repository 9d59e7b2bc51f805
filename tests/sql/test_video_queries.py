"""The feed and its search stay index-backed at 100k videos: EXPLAIN shows no sequential scan on videos."""

import json

import pytest

from shared import db
from shared.sql import videos as videos_sql

pytestmark = pytest.mark.seeded_module
WORDS = ["cat", "dog", "guitar", "lesson", "travel", "cooking", "python", "review", "music", "live"]


@pytest.fixture(scope="module")
def hundred_thousand_videos():
    db.execute("INSERT INTO users (username, email, fullname, password_hash)"
               " SELECT 'seed' || g, 'seed' || g || '@example.com', 'Seed ' || g, 'x' FROM generate_series(1, 200) g")
    db.execute(
        "INSERT INTO videos (user_id, title, description, video_file_url, video_file_public_id, thumbnail_url,"
        " thumbnail_public_id, duration, views, is_published, created_at)"
        " SELECT u.ids[1 + g % 200],"
        "  (CAST(:words AS text[]))[1 + g % 10] || ' ' || (CAST(:words AS text[]))[1 + (g / 10) % 10] || ' #' || g,"
        "  'episode ' || g || ' about ' || (CAST(:words AS text[]))[1 + (g / 100) % 10],"
        "  'u', 'videos/' || g, 't', 'thumbnails/' || g, g % 600, g % 5000, g % 20 <> 0,"
        "  now() - make_interval(secs => g)"
        " FROM generate_series(1, 100000) g, (SELECT array_agg(id) AS ids FROM users) u",
        words=WORDS)
    db.execute("ANALYZE videos")
    db.execute("ANALYZE users")
    yield
    db.execute("TRUNCATE users, videos CASCADE")


def _plan(*, sort_by: str = "createdAt", ascending: bool = False, user_id=None, query: str | None = None) -> str:
    """The JSON plan of the feed's statement (its page and its total), run as the API runs it."""
    tsquery = videos_sql.search_query(query) if query else None
    sql = videos_sql.list_sql(sort_by=sort_by, ascending=ascending, filtered=bool(user_id or tsquery))
    with db.transaction(settings=("enable_seqscan = off",) if tsquery else ()) as tx:
        plan = tx.fetch_value("EXPLAIN (FORMAT JSON) " + sql, uid=user_id, q=tsquery, tag=None, limit=10, offset=0)
    return plan if isinstance(plan, str) else json.dumps(plan)


def _scans_on_videos(plan: str) -> set[str]:
    found = set()

    def walk(node):
        if node.get("Relation Name") == "videos":
            found.add(node["Node Type"])
        for child in node.get("Plans", []):
            walk(child)

    walk(json.loads(plan)[0]["Plan"])
    return found


@pytest.mark.parametrize("sort_by", list(videos_sql.SORTS))
@pytest.mark.parametrize("ascending", [False, True])
def test_every_feed_sort_reads_an_index(hundred_thousand_videos, sort_by, ascending):
    plan = _plan(sort_by=sort_by, ascending=ascending)

    assert "Seq Scan" not in _scans_on_videos(plan), plan


@pytest.mark.parametrize("query", ["guitar less", "4242", "zebra", "cat dog music"])
def test_search_over_title_and_description_never_scans_the_table(hundred_thousand_videos, query):
    plan = _plan(query=query)

    assert "Seq Scan" not in _scans_on_videos(plan), plan
    assert "videos_search_idx" in plan


def test_a_channel_filter_reads_the_owner_index(hundred_thousand_videos):
    user_id = db.fetch_value("SELECT id FROM users ORDER BY username LIMIT 1")

    plan = _plan(user_id=user_id)

    assert "Seq Scan" not in _scans_on_videos(plan), plan


def test_search_finds_what_it_should_at_scale(hundred_thousand_videos):
    rows, total = videos_sql.list_published(limit=5, offset=0, sort_by="views", ascending=False, user_id=None,
                                            query="guitar lesson")

    assert total > 0 and len(rows) == 5
    assert all("guitar" in r["title"] and "lesson" in (r["title"] + r["description"]) for r in rows)
    assert [r["views"] for r in rows] == sorted((r["views"] for r in rows), reverse=True)


def test_the_published_counter_follows_every_write():
    from tests.conftest import PROJECT_DIR  # noqa: F401 - conftest already set the database up

    def counter():
        return db.fetch_value("SELECT value FROM counters WHERE name = 'published_videos'")

    db.execute("TRUNCATE users, videos CASCADE")
    assert counter() == 0
    db.execute("INSERT INTO users (username, email, fullname, password_hash) VALUES ('c', 'c@x.io', 'C', 'x')")
    uid = db.fetch_value("SELECT id FROM users")
    for published in (True, True, False):
        videos_sql.insert(user_id=uid, title="t", description="", video_file_url="u", video_file_public_id="p",
                          thumbnail_url="t", thumbnail_public_id="tp", duration=1, is_published=published)
    assert counter() == 2
    db.execute("UPDATE videos SET is_published = NOT is_published")
    assert counter() == 1
    db.execute("DELETE FROM videos WHERE is_published")
    assert counter() == 0 == db.fetch_value("SELECT count(*) FROM videos WHERE is_published")
    db.execute("TRUNCATE users, videos CASCADE")
