"""Read-through caching (issue #5): channel profile, video detail, feed page 1 — in-process and in a real Redis.
Each write path that changes a cached read makes the change visible on the very next read."""

import json

import pytest

from shared import db, jobs
from tests.conftest import jpeg_bytes, multipart, png_bytes

JSON = {"Content-Type": "application/json"}


@pytest.fixture(autouse=True)
def backend(store_backend):
    from shared.settings import get_settings

    assert get_settings().cache_backend == store_backend
    return store_backend


def _profile(client, headers, username):
    return client.get(f"/api/v2/user/c/{username}", headers=headers).json_body["data"]


def _detail(client, headers, video):
    return client.get(f"/api/v2/videos/{video['id']}", headers=headers)


def _feed(client, headers):
    return client.get("/api/v2/videos", headers=headers).json_body["data"]


def test_reads_are_really_served_from_the_cache(client, make_user, make_video, auth):
    owner, viewer = make_user(username="chan"), make_user()
    video = make_video(owner, "cached title")
    headers = auth(viewer)
    _profile(client, headers, "chan"), _detail(client, headers, video), _feed(client, headers)
    # Behind the application's back: a cache that is used keeps answering the old values.
    db.execute("UPDATE users SET fullname = 'Sneaky' WHERE id = :id", id=owner["id"])
    db.execute("UPDATE videos SET title = 'sneaky' WHERE id = :id", id=video["id"])

    assert _profile(client, headers, "chan")["fullname"] == "Test User"
    assert _detail(client, headers, video).json_body["data"]["title"] == "cached title"
    assert _feed(client, headers)["docs"][0]["title"] == "cached title"


def test_update_account_is_visible_at_once_everywhere(client, make_user, make_video, auth):
    owner, viewer = make_user(username="before"), make_user()
    video = make_video(owner)
    headers = auth(viewer)
    _profile(client, headers, "before"), _detail(client, headers, video), _feed(client, headers)

    client.patch("/api/v2/user/update-account", headers={**auth(owner), **JSON},
                 body=json.dumps({"username": "after", "fullname": "New Name"}))

    assert client.get("/api/v2/user/c/before", headers=headers).status_code == 404
    assert _profile(client, headers, "after")["fullname"] == "New Name"
    assert _detail(client, headers, video).json_body["data"]["user"]["username"] == "after"
    assert _feed(client, headers)["docs"][0]["user"]["fullname"] == "New Name"


def test_avatar_and_cover_updates_are_visible_at_once(client, make_user, make_video, auth):
    owner, viewer = make_user(username="chan"), make_user()
    video = make_video(owner)
    headers = auth(viewer)
    _profile(client, headers, "chan"), _detail(client, headers, video)
    avatar_body, avatar_headers = multipart({}, {"avatar": ("a.png", png_bytes(), "image/png")})
    cover_body, cover_headers = multipart({}, {"coverImage": ("c.jpg", jpeg_bytes(), "image/jpeg")})

    new_avatar = client.patch("/api/v2/user/update-avatar", body=avatar_body,
                              headers={**auth(owner), **avatar_headers}).json_body["data"]["avatar"]
    new_cover = client.patch("/api/v2/user/update-cover-image", body=cover_body,
                             headers={**auth(owner), **cover_headers}).json_body["data"]["coverImage"]

    profile = _profile(client, headers, "chan")
    assert (profile["avatar"], profile["coverImage"]) == (new_avatar, new_cover)
    assert _detail(client, headers, video).json_body["data"]["user"]["avatar"] == new_avatar


def test_subscribing_updates_both_profiles_and_the_video_owner_count(client, make_user, make_video, auth):
    channel, fan = make_user(username="chan"), make_user(username="fan")
    video = make_video(channel)
    headers = auth(fan)
    _profile(client, headers, "chan"), _profile(client, headers, "fan"), _detail(client, headers, video)

    client.post(f"/api/v2/subscriptions/c/{channel['id']}", headers=headers)

    chan = _profile(client, headers, "chan")
    assert (chan["subscriberCount"], chan["isSubscribed"]) == (1, True)
    assert _profile(client, headers, "fan")["channelsSubscribedToCount"] == 1
    assert _detail(client, headers, video).json_body["data"]["user"]["subscribersCount"] == 1


def test_video_writes_are_visible_at_once_in_detail_and_feed(client, make_user, make_video, auth):
    owner, viewer = make_user(), make_user()
    video = make_video(owner, "first title")
    headers, owner_headers = auth(viewer), {**auth(owner), **JSON}
    _detail(client, headers, video), _feed(client, headers)

    client.patch(f"/api/v2/videos/{video['id']}", headers=owner_headers, body=json.dumps({"title": "second"}))
    assert _detail(client, headers, video).json_body["data"]["title"] == "second"
    assert _feed(client, headers)["docs"][0]["title"] == "second"

    client.patch(f"/api/v2/videos/toggle/publish/{video['id']}", headers=auth(owner))
    assert _detail(client, headers, video).status_code == 404
    assert _feed(client, headers)["totalDocs"] == 0

    client.patch(f"/api/v2/videos/toggle/publish/{video['id']}", headers=auth(owner))
    assert _detail(client, headers, video).status_code == 200
    client.delete(f"/api/v2/videos/{video['id']}", headers=auth(owner))
    assert _detail(client, headers, video).status_code == 404
    assert _feed(client, headers)["docs"] == []


def test_a_new_video_appears_on_the_cached_front_page(client, make_user, auth):
    from tests.conftest import video_bytes

    owner, viewer = make_user(), make_user()
    headers = auth(viewer)
    assert _feed(client, headers)["totalDocs"] == 0
    body, form_headers = multipart({"title": "fresh"}, {"videoFile": ("v.mp4", video_bytes("mp4"), "video/mp4"),
                                                        "thumbnail": ("t.jpg", jpeg_bytes(), "image/jpeg")})

    client.post("/api/v2/videos", body=body, headers={**auth(owner), **form_headers})

    assert [d["title"] for d in _feed(client, headers)["docs"]] == ["fresh"]


def test_processing_status_changes_are_visible_at_once(client, make_user, auth):
    from tests.conftest import video_bytes

    owner = make_user()
    body, form_headers = multipart({"title": "p"}, {"videoFile": ("v.mp4", video_bytes("mp4"), "video/mp4"),
                                                    "thumbnail": ("t.jpg", jpeg_bytes(), "image/jpeg")})
    video = client.post("/api/v2/videos", body=body,
                        headers={**auth(owner), **form_headers}).json_body["data"]["video"]
    assert _detail(client, auth(owner), video).json_body["data"]["processingStatus"] == "PROCESSING"

    jobs.run_pending()

    assert _detail(client, auth(owner), video).json_body["data"]["processingStatus"] != "PROCESSING"


def test_the_view_count_in_a_cached_detail_is_live(client, make_user, make_video, auth):
    owner = make_user()
    video = make_video(owner)

    counts = [_detail(client, auth(make_user()), video).json_body["data"]["views"] for _ in range(3)]

    assert counts == [1, 2, 3]


def test_a_cache_outage_falls_back_to_the_database(client, make_user, make_video, auth, monkeypatch, backend):
    from shared import cache
    from shared.settings import reset_settings

    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    reset_settings()
    cache.reset()
    owner = make_user(username="chan")

    assert client.get("/api/v2/user/c/chan", headers=auth(make_user())).status_code == 200
    assert client.get(f"/api/v2/videos/{make_video(owner)['id']}", headers=auth(owner)).status_code == 200


# ------------------------------------------------------------------ who is signed in (auth.require_user)


def _me(client, headers):
    return client.get("/api/v2/user/current-user-details", headers=headers)


def _access(headers):
    return {"Authorization": headers["Authorization"]}


def test_sign_ins_are_served_from_the_cache(client, make_user, auth):
    user = make_user()
    headers = auth(user)
    assert _me(client, headers).json_body["data"]["fullname"] == "Test User"
    db.execute("UPDATE users SET fullname = 'Sneaky' WHERE id = :id", id=user["id"])  # behind the app's back

    assert _me(client, headers).json_body["data"]["fullname"] == "Test User"


@pytest.mark.parametrize("revocation", ["logout", "password change", "refresh token reuse"])
def test_a_cached_session_is_refused_at_once_when_revoked(client, make_user, sign_in, revocation):
    user = make_user()
    this, other = sign_in(user), sign_in(user)
    assert _me(client, _access(this)).status_code == _me(client, _access(other)).status_code == 200  # both cached

    if revocation == "logout":
        client.post("/api/v2/user/logout", headers=_access(other))
    elif revocation == "password change":
        client.post("/api/v2/user/change-password", headers={**_access(this), **JSON},
                    body=json.dumps({"oldPassword": user["password"], "newPassword": "BrandNew99"}))
    else:
        for _ in range(2):  # the second use of the same refresh token is a replay: the session is revoked
            client.post("/api/v2/user/refresh-token", headers=JSON,
                        body=json.dumps({"refreshToken": other["X-Refresh-Token"]}))

    refused = _me(client, _access(other))
    assert (refused.status_code, refused.json_body["message"]) == (401, "Invalid Access Token")
    assert _me(client, _access(this)).status_code == 200


def test_the_signed_in_user_sees_their_own_profile_edits_at_once(client, make_user, auth):
    headers = auth(make_user())
    _me(client, headers)

    client.patch("/api/v2/user/update-account", headers={**headers, **JSON}, body=json.dumps({"fullname": "Renamed"}))
    assert _me(client, headers).json_body["data"]["fullname"] == "Renamed"
    body, form = multipart({}, {"avatar": ("a.png", png_bytes(), "image/png")})
    avatar = client.patch("/api/v2/user/update-avatar", body=body, headers={**headers, **form}).json_body["data"]["avatar"]
    assert _me(client, headers).json_body["data"]["avatar"] == avatar


def test_a_load_that_raced_a_revocation_is_never_served(make_user):
    """A request that read the session as live just before a logout committed must not store that answer
    for the next requests, even when it stores it after the logout's invalidation ran."""
    from shared import cache, cached

    user_id = make_user()["id"]
    loads = []

    def slow_load():
        loads.append("live")
        cached.forget_sign_ins(user_id)  # the logout commits (no transaction open: it runs at once)
        return {"session_expires": 4e9}

    def fresh_load():
        loads.append("revoked")
        return None

    assert cache.read_guarded("session:x", f"auth:{user_id}", slow_load, ttl=60) == {"session_expires": 4e9}
    assert cache.read_guarded("session:x", f"auth:{user_id}", fresh_load, ttl=60) is None
    assert loads == ["live", "revoked"]


def test_an_evicted_guard_never_revalidates_an_old_entry(make_user):
    from shared import cache

    guard = f"auth:{make_user()['id']}"
    cache.read_guarded("session:y", guard, lambda: {"n": 1}, ttl=60)
    assert cache.read_guarded("session:y", guard, lambda: {"n": 2}, ttl=60) == {"n": 1}  # a hit

    cache._get().delete(guard)  # the store dropped the guard (memory pressure), not the entry

    assert cache.read_guarded("session:y", guard, lambda: {"n": 3}, ttl=60) == {"n": 3}
