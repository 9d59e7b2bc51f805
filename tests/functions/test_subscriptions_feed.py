"""The subscriptions feed (issue #15, point 3): GET /feed/subscriptions → {docs, nextCursor}, the newest public videos
of the channels the caller follows, paged by an opaque cursor."""

import pytest

from shared import db
from shared.sql import subscriptions as subscriptions_sql


def _feed(client, headers, query=""):
    response = client.get(f"/api/v2/feed/subscriptions{query}", headers=headers)
    assert response.status_code == 200, response.body
    return response.json_body["data"]


@pytest.fixture
def world(make_user, make_video, auth):
    """A viewer following two channels, a channel they do not follow, and videos of each at known times."""
    viewer, followed_a, followed_b, stranger = make_user(), make_user(), make_user(), make_user()
    for channel in (followed_a, followed_b):
        subscriptions_sql.subscribe(subscriber_id=viewer["id"], channel_id=channel["id"])
    expected = []
    for minute in range(7):  # alternate channels, each video a minute older than the one before
        owner = followed_a if minute % 2 else followed_b
        video = make_video(owner, title=f"v{minute}")
        db.execute("UPDATE videos SET created_at = now() - make_interval(mins => :m) WHERE id = :id", m=minute,
                   id=video["id"])
        expected.append(str(video["id"]))
    hidden = make_video(followed_a, title="draft", published=False)
    other = make_video(stranger, title="not followed")
    return {"viewer": auth(viewer), "expected": expected, "hidden": str(hidden["id"]), "other": str(other["id"]),
            "followed_a": followed_a}


def test_the_feed_lists_followed_channels_public_videos_newest_first(client, world):
    page = _feed(client, world["viewer"])

    assert [v["id"] for v in page["docs"]] == world["expected"]
    assert page["nextCursor"] is None
    first = page["docs"][0]
    assert first["user"]["username"] and first["isPublished"] is True and first["title"] == "v0"


def test_the_cursor_walks_the_whole_feed_without_repeats(client, world):
    seen, cursor, pages = [], None, 0
    while True:
        page = _feed(client, world["viewer"], f"?limit=3{'&cursor=' + cursor if cursor else ''}")
        seen += [v["id"] for v in page["docs"]]
        pages += 1
        cursor = page["nextCursor"]
        if cursor is None:
            break

    assert seen == world["expected"]
    assert pages == 3


def test_a_video_published_after_the_first_page_does_not_shift_the_next(client, world, make_video):
    first = _feed(client, world["viewer"], "?limit=3")
    make_video(world["followed_a"], title="brand new")

    second = _feed(client, world["viewer"], f"?limit=3&cursor={first['nextCursor']}")

    assert [v["id"] for v in second["docs"]] == world["expected"][3:6]


def test_a_caller_following_nobody_gets_an_empty_feed(client, make_user, auth):
    assert _feed(client, auth(make_user())) == {"docs": [], "nextCursor": None}


@pytest.mark.parametrize("query", ["?cursor=bm9wZQ", "?cursor=%%%", "?limit=0", "?limit=101", "?limit=x"])
def test_a_bad_cursor_or_limit_is_a_400(client, make_user, auth, query):
    response = client.get(f"/api/v2/feed/subscriptions{query}", headers=auth(make_user()))

    assert response.status_code == 400


def test_the_feed_needs_a_caller(client):
    assert client.get("/api/v2/feed/subscriptions").status_code == 401
