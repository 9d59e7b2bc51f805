"""How many statements the hot reads send to PostgreSQL with the cache off (issue #12): each one is a round trip
and, on a small box, most of a request's CPU. A new statement on these paths has to be a choice, not an accident."""

from __future__ import annotations

import pytest

from shared import cache, db
from shared.settings import reset_settings


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch, sent_statements: list[str]) -> list[str]:
    """The statements sent while the test runs, with the cache off (every read goes to PostgreSQL)."""
    monkeypatch.setenv("CACHE", "off")
    reset_settings()
    cache.reset()
    return sent_statements


def test_the_feed_is_one_statement_after_the_session_check(client, make_user, make_video, auth, statements):
    owner = make_user()
    for n in range(12):
        make_video(owner, title=f"clip {n}")
    headers = auth(owner)
    statements.clear()

    page = client.get("/api/v2/videos?page=2&limit=5", headers=headers).json_body["data"]

    assert (page["totalDocs"], len(page["docs"]), page["totalPages"], page["hasNextPage"]) == (12, 5, 3, True)
    assert [d["title"] for d in page["docs"]] == [f"clip {n}" for n in range(6, 1, -1)]
    feed_statements = [s for s in statements if "FROM videos v JOIN users u" in s]
    assert len(statements) == 2 and len(feed_statements) == 1, statements  # the session, then page + total


def test_a_page_past_the_end_still_says_the_total(client, make_user, make_video, auth, statements):
    owner = make_user()
    for n in range(3):
        make_video(owner, title=f"clip {n}")

    page = client.get("/api/v2/videos?page=4&limit=5", headers=auth(owner)).json_body["data"]

    assert (page["docs"], page["totalDocs"], page["totalPages"], page["hasPrevPage"]) == ([], 3, 1, True)


def test_a_search_and_a_channel_filter_count_only_their_own_videos(client, make_user, make_video, auth, statements):
    owner, other = make_user(), make_user()
    make_video(owner, title="guitar lesson one")
    make_video(owner, title="piano lesson")
    make_video(other, title="guitar lesson two")
    headers = auth(owner)

    found = client.get("/api/v2/videos?query=guitar&limit=1", headers=headers).json_body["data"]
    mine = client.get(f"/api/v2/videos?userId={owner['id']}&limit=1", headers=headers).json_body["data"]
    nothing = client.get("/api/v2/videos?query=zebra", headers=headers).json_body["data"]

    assert (found["totalDocs"], len(found["docs"])) == (2, 1)
    assert (mine["totalDocs"], len(mine["docs"])) == (2, 1)
    assert (nothing["totalDocs"], nothing["docs"]) == (0, [])


def test_a_watch_page_is_four_statements_and_its_view_does_not_wait_for_the_disk(client, make_user, make_video, auth,
                                                                                  statements):
    owner, viewer = make_user(), make_user()
    video = make_video(owner)
    headers = auth(viewer)
    statements.clear()

    first = client.get(f"/api/v2/videos/{video['id']}", headers=headers).json_body["data"]
    again = client.get(f"/api/v2/videos/{video['id']}", headers=headers).json_body["data"]

    assert (first["views"], again["views"]) == (1, 1)  # one viewer, one view per window
    assert len(statements) == 8, statements  # session, video, channel, view: no BEGIN / COMMIT around the view
    view = next(s for s in statements if "INSERT INTO watch_history" in s)
    assert "set_config('synchronous_commit', 'off', true)" in view
    # transaction-local: the pooled connection's own setting is untouched after the statement
    assert db.fetch_value("SELECT current_setting('synchronous_commit')") == "on"


def test_a_comments_page_is_three_statements_and_checks_the_video_with_a_narrow_one(client, make_user, make_video,
                                                                                    auth, statements):
    """The session, may the reader open this video, the page with its total. The middle one reads the three columns
    that decide it, not the watch page's whole row (whose jsonb columns cost more to decode than the page itself)."""
    owner, reader = make_user(), make_user()
    video = make_video(owner)
    client.post(f"/api/v2/comments/{video['id']}", headers={**auth(owner), "Content-Type": "application/json"},
                body='{"content": "hello"}')
    headers = auth(reader)
    statements.clear()

    page = client.get(f"/api/v2/comments/{video['id']}", headers=headers).json_body["data"]

    assert [c["content"] for c in page] == ["hello"]  # v2: the page is the list, its totals in the headers
    assert len(statements) == 3, statements
    check = next(s for s in statements if "taken_down_at IS NOT NULL AS taken_down" in s and "FROM videos" in s)
    assert "caption_tracks" not in check and "hls_renditions" not in check
