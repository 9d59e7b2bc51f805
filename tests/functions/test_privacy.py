"""Privacy levels and scheduled publishing (issue #15, point 1): who sees a public, unlisted or private video where
(the visibility matrix), privacy and publishAt on POST /videos and PATCH /videos/{videoId}, the scheduled switch
(time moved in the database, then the sweep run: housekeeping and the serverless schedule), the caches forgetting
every change, and v2 compatibility (isPublished is "public", the toggle flips public and private)."""

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared import db
from shared.services import scheduling
from shared.services.job_handlers import periodic
from tests.conftest import jpeg_bytes, multipart, video_bytes

JSON = {"Content-Type": "application/json"}
FUTURE_AT = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
FUTURE = FUTURE_AT.strftime("%Y-%m-%dT%H:%M:%SZ")
FUTURE_WIRE = FUTURE_AT.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _set_privacy(client, headers, video_id, **body):
    response = client.patch(f"/api/v2/videos/{video_id}", headers={**headers, **JSON}, body=json.dumps(body))
    assert response.status_code == 200, response.body
    return response.json_body["data"]


def _publish(client, headers, **fields):
    body, form_headers = multipart({"title": "clip", "description": "d", **fields}, {
        "videoFile": ("v.mp4", video_bytes("mp4"), "video/mp4"), "thumbnail": ("t.jpg", jpeg_bytes(), "image/jpeg")})
    return client.post("/api/v2/videos", body=body, headers={**headers, **form_headers})


def _ids(docs):
    return {d["id"] for d in docs}


def _status(client, headers, video_id):
    return client.get(f"/api/v2/videos/{video_id}", headers=headers).status_code


@pytest.fixture
def world(client, make_user, make_video, auth):
    """A channel with one video of each privacy level; a follower of it; a stranger."""
    owner, follower, stranger = make_user(), make_user(), make_user()
    videos = {level: make_video(owner, title=f"cats {level}") for level in ("public", "unlisted", "private")}
    for level in ("unlisted", "private"):
        _set_privacy(client, auth(owner), videos[level]["id"], privacy=level)
    client.post(f"/api/v2/subscriptions/c/{owner['id']}", headers=auth(follower))
    ids = {level: str(v["id"]) for level, v in videos.items()}
    return {"owner": owner, "follower": follower, "stranger": stranger, "ids": ids,
            "as": {"owner": auth(owner), "follower": auth(follower), "stranger": auth(stranger)}}


# ------------------------------------------------------------------------------------ the matrix


@pytest.mark.parametrize("who", ["follower", "stranger"])
def test_by_id_an_unlisted_video_opens_for_anyone_signed_in_a_private_one_for_nobody_else(client, world, who):
    headers = world["as"][who]

    assert {level: _status(client, headers, vid) for level, vid in world["ids"].items()} == {
        "public": 200, "unlisted": 200, "private": 404}
    unlisted = client.get(f"/api/v2/videos/{world['ids']['unlisted']}", headers=headers).json_body["data"]
    assert (unlisted["privacy"], unlisted["isPublished"]) == ("unlisted", False)
    assert "signature=" in unlisted["videoFileUrl"] and "signature=" in unlisted["thumbnailUrl"]


def test_the_owner_opens_all_of_their_own(client, world):
    assert {_status(client, world["as"]["owner"], vid) for vid in world["ids"].values()} == {200}


@pytest.mark.parametrize("who", ["owner", "follower", "stranger"])
def test_only_public_videos_are_listed_in_the_feed_search_and_the_channels_list(client, world, who):
    headers = world["as"][who]

    for query in ("", f"?userId={world['owner']['id']}", "?query=cats"):
        page = client.get(f"/api/v2/videos{query}", headers=headers).json_body["data"]
        assert (_ids(page["docs"]), page["totalDocs"]) == ({world["ids"]["public"]}, 1), query


def test_the_subscriptions_feed_lists_only_public_videos(client, world):
    page = client.get("/api/v2/feed/subscriptions", headers=world["as"]["follower"]).json_body["data"]

    assert _ids(page["docs"]) == {world["ids"]["public"]}


def test_comments_and_likes_of_an_unlisted_video_work_a_private_ones_are_404(client, world):
    headers = {**world["as"]["stranger"], **JSON}
    ids = world["ids"]

    for level, expected in (("unlisted", 201), ("private", 404)):
        posted = client.post(f"/api/v2/comments/{ids[level]}", headers=headers, body='{"content": "hi"}')
        assert posted.status_code == expected, level
    comment = client.post(f"/api/v2/comments/{ids['unlisted']}", headers=headers,
                          body='{"content": "again"}').json_body["data"]
    replies = client.get(f"/api/v2/comments/c/{comment['id']}/replies", headers=headers)
    assert replies.status_code == 200
    assert client.post(f"/api/v2/likes/toggle/v/{ids['unlisted']}", headers=headers).status_code == 200
    assert client.post(f"/api/v2/likes/toggle/v/{ids['private']}", headers=headers).status_code == 404


def test_comments_list_of_a_private_video_is_404_and_of_an_unlisted_one_200(client, world):
    headers = world["as"]["stranger"]

    assert client.get(f"/api/v2/comments/{world['ids']['unlisted']}", headers=headers).status_code == 200
    assert client.get(f"/api/v2/comments/{world['ids']['private']}", headers=headers).status_code == 404


def test_an_unlisted_video_stays_in_the_viewers_own_likes_and_history(client, world):
    headers = world["as"]["stranger"]
    unlisted = world["ids"]["unlisted"]
    client.post(f"/api/v2/likes/toggle/v/{unlisted}", headers=headers)
    client.get(f"/api/v2/videos/{unlisted}", headers=headers)

    assert _ids(client.get("/api/v2/likes/videos", headers=headers).json_body["data"]) == {unlisted}
    assert _ids(client.get("/api/v2/user/watch-history", headers=headers).json_body["data"]) == {unlisted}

    _set_privacy(client, world["as"]["owner"], unlisted, privacy="private")  # then private: gone from both
    assert client.get("/api/v2/likes/videos", headers=headers).json_body["data"] == []
    assert client.get("/api/v2/user/watch-history", headers=headers).json_body["data"] == []


def _playlist_with(client, headers, video_ids):
    playlist = client.post("/api/v2/playlist", headers={**headers, **JSON}, body='{"name": "mix"}').json_body["data"]
    for vid in video_ids:
        assert client.post(f"/api/v2/playlist/{playlist['id']}/{vid}", headers=headers).status_code == 200
    return playlist["id"]


def test_an_unlisted_video_is_never_in_another_users_list_nor_in_its_counts(client, world, make_user, auth):
    ids, stranger = world["ids"], world["as"]["stranger"]
    # The stranger keeps the channel's public and unlisted videos in a playlist of their own.
    mine = _playlist_with(client, stranger, [ids["public"], ids["unlisted"]])
    third = auth(make_user())

    own = client.get(f"/api/v2/playlist/{mine}", headers=stranger).json_body["data"]
    others = client.get(f"/api/v2/playlist/{mine}", headers=third).json_body["data"]
    listed = client.get(f"/api/v2/playlist/user/{world['stranger']['id']}", headers=third).json_body["data"]

    assert (_ids(own["videos"]), own["totalVideos"]) == ({ids["public"], ids["unlisted"]}, 2)
    assert (_ids(others["videos"]), others["totalVideos"]) == ({ids["public"]}, 1)
    assert listed[0]["totalVideos"] == 1
    # the video's owner sees their own video in anyone's list
    assert _ids(client.get(f"/api/v2/playlist/{mine}", headers=world["as"]["owner"]).json_body["data"]["videos"]) \
        == {ids["public"], ids["unlisted"]}


def test_a_private_video_cannot_be_put_in_a_playlist_by_someone_else(client, world):
    playlist = _playlist_with(client, world["as"]["stranger"], [])

    answer = client.post(f"/api/v2/playlist/{playlist}/{world['ids']['private']}", headers=world["as"]["stranger"])

    assert answer.status_code == 404


# ------------------------------------------------------------------------------------ the routes' fields


def test_publish_takes_privacy_and_stores_non_public_media_behind_signatures(client, make_user, auth):
    headers = auth(make_user())

    response = _publish(client, headers, privacy="unlisted")

    assert response.status_code == 200, response.body
    video = response.json_body["data"]["video"]
    assert (video["privacy"], video["isPublished"], video["publishAt"]) == ("unlisted", False, None)
    assert "signature=" in video["videoFileUrl"]
    public = _publish(client, headers).json_body["data"]["video"]
    assert (public["privacy"], public["isPublished"]) == ("public", True)
    assert "signature=" not in public["videoFileUrl"]


def test_publish_with_publish_at_is_private_until_then(client, make_user, auth):
    owner = make_user()

    video = _publish(client, auth(owner), publishAt=FUTURE).json_body["data"]["video"]

    assert (video["privacy"], video["isPublished"], video["publishAt"]) == ("private", False, FUTURE_WIRE)
    assert _status(client, auth(make_user()), video["id"]) == 404


@pytest.mark.parametrize(("body", "message"), [
    ({"privacy": "secret"}, "privacy must be one of public, unlisted, private"),
    ({"publishAt": "tomorrow"}, "publishAt must be an ISO-8601 time, such as 2030-01-31T18:00:00Z"),
    ({"publishAt": "9999-12-31T23:59:59-14:00"}, "publishAt may be at most 10 years ahead"),
    ({"publishAt": "2030-01-31T18:00:00"}, "publishAt needs its time zone offset, such as 2030-01-31T18:00:00Z"),
    ({"publishAt": "2001-01-31T18:00:00Z"}, "publishAt must be in the future (leave it out to publish now)"),
    ({"publishAt": FUTURE, "privacy": "unlisted"},
     "A video with publishAt is private until then: leave privacy out or send private"),
    ({"privacy": 3}, None),
])
def test_bad_privacy_or_publish_at_is_422_and_changes_nothing(client, make_user, make_video, auth, body, message):
    owner = make_user()
    video = make_video(owner)

    response = client.patch(f"/api/v2/videos/{video['id']}", headers={**auth(owner), **JSON}, body=json.dumps(body))

    assert response.status_code == 422
    if message:
        assert response.json_body["message"] == message
    assert db.fetch_value("SELECT privacy FROM videos") == "public"


def test_bad_privacy_on_publish_is_422_and_stores_nothing(client, make_user, auth):
    response = _publish(client, auth(make_user()), privacy="hidden")

    assert response.status_code == 422
    assert db.fetch_value("SELECT count(*) FROM videos") == 0


def test_patch_moves_between_levels_and_the_caches_follow(client, world, store_backend):
    ids, stranger = world["ids"], world["as"]["stranger"]
    public = ids["public"]
    assert _status(client, stranger, public) == 200  # cached now, and the feed's first page too
    assert _ids(client.get("/api/v2/videos", headers=stranger).json_body["data"]["docs"]) == {public}

    assert _set_privacy(client, world["as"]["owner"], public, privacy="private")["isPublished"] is False
    assert _status(client, stranger, public) == 404
    assert client.get("/api/v2/videos", headers=stranger).json_body["data"]["docs"] == []

    assert _set_privacy(client, world["as"]["owner"], public, privacy="unlisted")["privacy"] == "unlisted"
    assert _status(client, stranger, public) == 200
    assert client.get("/api/v2/videos", headers=stranger).json_body["data"]["docs"] == []

    assert _set_privacy(client, world["as"]["owner"], public, privacy="public")["isPublished"] is True
    assert _ids(client.get("/api/v2/videos", headers=stranger).json_body["data"]["docs"]) == {public}


def test_only_the_owner_changes_privacy(client, world):
    response = client.patch(f"/api/v2/videos/{world['ids']['public']}", headers={**world["as"]["stranger"], **JSON},
                            body='{"privacy": "private"}')

    assert response.status_code == 403
    assert _status(client, world["as"]["stranger"], world["ids"]["public"]) == 200


# ------------------------------------------------------------------------------------ v2 compatibility


def test_the_toggle_flips_public_and_private_and_makes_anything_else_public(client, world):
    owner = world["as"]["owner"]
    ids = world["ids"]

    def toggle(vid):
        response = client.patch(f"/api/v2/videos/toggle/publish/{vid}", headers=owner)
        assert response.status_code == 200
        data = response.json_body["data"]
        return data["privacy"], data["isPublished"], data["publishAt"]

    assert toggle(ids["public"]) == ("private", False, None)
    assert toggle(ids["public"]) == ("public", True, None)
    assert toggle(ids["unlisted"]) == ("public", True, None)
    scheduled = _set_privacy(client, owner, ids["private"], publishAt=FUTURE)
    assert scheduled["publishAt"] == FUTURE_WIRE
    assert toggle(ids["private"]) == ("public", True, None)  # published now: the schedule is cancelled


def test_a_v2_write_of_is_published_alone_keeps_privacy_in_step(make_user, make_video):
    video = make_video(make_user())
    db.execute("UPDATE videos SET privacy = 'private', publish_at = now() + interval '1 day'")

    db.execute("UPDATE videos SET is_published = true WHERE id = :id", id=video["id"])

    assert db.fetch_one("SELECT privacy, is_published, publish_at FROM videos") == {
        "privacy": "public", "is_published": True, "publish_at": None}
    db.execute("UPDATE videos SET privacy = 'unlisted'")
    assert db.fetch_value("SELECT is_published FROM videos") is False
    assert db.fetch_value("SELECT value FROM counters WHERE name = 'published_videos'") == 0


# ------------------------------------------------------------------------------------ scheduled publishing


def _due_now(video_id):
    db.execute("UPDATE videos SET publish_at = now() - interval '1 second' WHERE id = :id", id=video_id)


def test_a_scheduled_video_turns_public_when_the_housekeeping_sweep_finds_it_due(client, world, monkeypatch,
                                                                               store_backend):
    owner, stranger = world["as"]["owner"], world["as"]["stranger"]
    vid = world["ids"]["private"]
    _set_privacy(client, owner, vid, publishAt=FUTURE)
    assert client.get("/api/v2/videos", headers=stranger).json_body["data"]["totalDocs"] == 1  # feed page cached
    scheduling.PACE.reset()
    periodic()
    assert _status(client, stranger, vid) == 404  # not due yet

    _due_now(vid)
    scheduling.PACE.reset()
    periodic()

    video = client.get(f"/api/v2/videos/{vid}", headers=stranger).json_body["data"]
    assert (video["privacy"], video["isPublished"], video["publishAt"]) == ("public", True, None)
    assert "signature=" not in video["videoFileUrl"]
    page = client.get("/api/v2/videos", headers=stranger).json_body["data"]
    assert vid in _ids(page["docs"]) and page["totalDocs"] == 2
    feed = client.get("/api/v2/feed/subscriptions", headers=world["as"]["follower"]).json_body["data"]
    assert vid in _ids(feed["docs"])


def test_the_serverless_schedule_publishes_due_videos_every_minute(chalice_client, client, world):
    vid = world["ids"]["private"]
    _set_privacy(client, world["as"]["owner"], vid, publishAt=FUTURE)
    _due_now(vid)
    scheduling.PACE.reset()

    chalice_client.lambda_.invoke("sweep_jobs", chalice_client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))

    assert db.fetch_value("SELECT privacy FROM videos WHERE id = CAST(:id AS uuid)", id=vid) == "public"
    from app import app

    schedule = next(e for e in app.event_sources if getattr(e, "name", "") == "sweep_jobs")
    assert schedule.schedule_expression == "rate(1 minute)"


@pytest.mark.parametrize("cancel", [{"publishAt": None}, {"privacy": "unlisted"}, {"privacy": "private"}])
def test_a_cancelled_schedule_is_not_published(client, world, cancel):
    vid = world["ids"]["private"]
    _set_privacy(client, world["as"]["owner"], vid, publishAt=FUTURE)

    after = _set_privacy(client, world["as"]["owner"], vid, **cancel)
    db.execute("UPDATE videos SET publish_at = publish_at - interval '200 years'")  # were it kept, now due
    assert scheduling.publish_due() == []

    assert after["publishAt"] is None and after["privacy"] == cancel.get("privacy", "private")


def test_a_rescheduled_video_keeps_its_new_time(client, world):
    vid = world["ids"]["private"]
    _set_privacy(client, world["as"]["owner"], vid, publishAt=FUTURE)

    later = (FUTURE_AT + timedelta(days=30)).astimezone(timezone(timedelta(hours=2)))

    again = _set_privacy(client, world["as"]["owner"], vid, publishAt=later.isoformat())

    assert again["publishAt"] == (FUTURE_AT + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert scheduling.publish_due() == []


def test_the_sweep_finds_due_videos_through_its_index(make_user, make_video):
    make_video(make_user())

    with db.transaction(settings=("enable_seqscan = off",)) as tx:
        plan = "\n".join(r["QUERY PLAN"] for r in tx.fetch_all(
            "EXPLAIN SELECT id FROM videos WHERE publish_at <= now() ORDER BY publish_at LIMIT 500"))

    assert "videos_publish_at_idx" in plan


def test_a_multipart_patch_takes_privacy_and_an_empty_publish_at_cancels_a_schedule(client, world):
    owner, vid = world["as"]["owner"], world["ids"]["private"]
    _set_privacy(client, owner, vid, publishAt=FUTURE)

    body, form_headers = multipart({"publishAt": ""})
    cancelled = client.patch(f"/api/v2/videos/{vid}", body=body, headers={**owner, **form_headers})
    body, form_headers = multipart({"privacy": "unlisted"})
    unlisted = client.patch(f"/api/v2/videos/{vid}", body=body, headers={**owner, **form_headers})

    assert cancelled.status_code == 200, cancelled.body
    assert (cancelled.json_body["data"]["privacy"], cancelled.json_body["data"]["publishAt"]) == ("private", None)
    assert unlisted.json_body["data"]["privacy"] == "unlisted"
    assert _status(client, world["as"]["stranger"], vid) == 200


# ------------------------------------------------------------------------------------ every list route × every viewer

VIEWERS = ["owner", "follower", "stranger", "moderator"]
LIST_ROUTES = {  # route → how to read its video ids
    "feed": ("/api/v2/videos", lambda data: data["docs"]),
    "search": ("/api/v2/videos?query=cats", lambda data: data["docs"]),
    "channel": ("/api/v2/videos?userId={owner}", lambda data: data["docs"]),
    "tag": ("/api/v2/videos?tag=Cats", lambda data: data["docs"]),
    "trending": ("/api/v2/videos?sortBy=trending", lambda data: data["docs"]),
    "most viewed": ("/api/v2/videos?sortBy=views", lambda data: data["docs"]),
    "subscriptions feed": ("/api/v2/feed/subscriptions", lambda data: data["docs"]),
    "another's playlist": ("/api/v2/playlist/{playlist}", lambda data: data["videos"]),
}


@pytest.fixture
def matrix_world(client, world, make_user, auth):
    """`world` with a moderator who follows the channel too, every video tagged "cats", and a playlist of a third user
    holding all three videos the owner put there (the owner may add their own private and unlisted ones)."""
    from shared.services import moderation

    moderator = make_user()
    moderation.set_role(moderator["username"], "moderator")
    headers = {**world["as"], "moderator": auth(moderator)}
    client.post(f"/api/v2/subscriptions/c/{world['owner']['id']}", headers=headers["moderator"])  # a toggle
    for video_id in world["ids"].values():
        _set_privacy(client, headers["owner"], video_id, tags=["cats"])
    playlist = _playlist_with(client, headers["owner"], list(world["ids"].values()))
    return {**world, "as": headers, "playlist": playlist}


@pytest.mark.parametrize("route", LIST_ROUTES)
@pytest.mark.parametrize("who", VIEWERS)
def test_every_list_route_lists_public_videos_only_for_every_viewer(client, matrix_world, route, who):
    """Unlisted and private videos are listed nowhere for anyone, the owner and the moderators included (the owner
    finds them in their dashboard, a moderator opens them by id); the subscriptions feed is the followers' only."""
    template, docs_of = LIST_ROUTES[route]
    path = template.format(owner=matrix_world["owner"]["id"], playlist=matrix_world["playlist"])

    answer = client.get(path, headers=matrix_world["as"][who])

    assert answer.status_code == 200, answer.body
    expected = set() if route == "subscriptions feed" and who in ("owner", "stranger") \
        else {matrix_world["ids"]["public"]}
    if route == "another's playlist" and who == "owner":  # the owner sees their own videos in anyone's list
        expected = set(matrix_world["ids"].values())
    assert _ids(docs_of(answer.json_body["data"])) == expected


@pytest.mark.parametrize("who", VIEWERS)
def test_by_id_every_viewer_opens_what_the_level_allows(client, matrix_world, who):
    """Public and unlisted open for anyone signed in; private for its owner alone (not for a moderator: a moderator's
    reach is taken-down videos, tests/functions/test_moderation.py)."""
    opened = {level: _status(client, matrix_world["as"][who], vid) for level, vid in matrix_world["ids"].items()}

    assert opened == {"public": 200, "unlisted": 200, "private": 200 if who == "owner" else 404}
