"""Channel profile, update-account, avatar / cover replacement and watch history (contract §4.6–4.11)."""

import json
import time

from shared import db
from shared.sql import subscriptions as subscriptions_sql
from shared.sql import videos as videos_sql
from tests.conftest import jpeg_bytes, media_files, multipart, png_bytes, register_form

JSON = {"Content-Type": "application/json"}


def _video(owner, title="clip", published=True):
    return videos_sql.insert(user_id=owner["id"], title=title, description="d", video_file_url="http://v/1.mp4",
                             video_file_public_id="videos/1", thumbnail_url="http://t/1.jpg",
                             thumbnail_public_id="thumbnails/1", duration=12.5, is_published=published)


# ------------------------------------------------------------------------------------ channel profile


def test_channel_profile_counts_and_subscription_state(client, make_user, auth):
    channel, viewer, other = make_user(username="chan"), make_user(), make_user()
    subscriptions_sql.subscribe(subscriber_id=viewer["id"], channel_id=channel["id"])
    subscriptions_sql.subscribe(subscriber_id=other["id"], channel_id=channel["id"])
    subscriptions_sql.subscribe(subscriber_id=channel["id"], channel_id=other["id"])

    response = client.get("/api/v2/user/c/chan", headers=auth(viewer))

    assert response.status_code == 200
    assert response.json_body["message"] == "Channel profile fetched"
    data = response.json_body["data"]
    assert (data["subscriberCount"], data["channelsSubscribedToCount"], data["isSubscribed"]) == (2, 1, True)
    assert data["username"] == "chan"


def test_channel_email_is_shown_only_to_its_owner(client, make_user, auth):
    channel, viewer = make_user(username="chan"), make_user()

    seen_by_other = client.get("/api/v2/user/c/chan", headers=auth(viewer)).json_body["data"]
    seen_by_owner = client.get("/api/v2/user/c/chan", headers=auth(channel)).json_body["data"]

    assert "email" not in seen_by_other
    assert seen_by_owner["email"] == channel["email"]
    assert seen_by_owner["isSubscribed"] is False


def test_channel_lookup_is_decoded_trimmed_and_case_insensitive(client, make_user, auth):
    make_user(username="chan")

    assert client.get("/api/v2/user/c/%20CHAN%20", headers=auth(make_user())).status_code == 200


def test_unknown_channel_is_404(client, make_user, auth):
    response = client.get("/api/v2/user/c/ghost", headers=auth(make_user()))

    assert (response.status_code, response.json_body["message"]) == (404, "Channel not found")


# ------------------------------------------------------------------------------------ update-account


def test_update_account_is_partial(client, make_user, auth):
    user = make_user(username="before", fullname="Old Name")

    response = client.patch("/api/v2/user/update-account", headers={**auth(user), **JSON},
                            body=json.dumps({"fullname": "  New Name "}))

    assert response.status_code == 200
    assert response.json_body["message"] == "Account updated successfully"
    data = response.json_body["data"]
    assert (data["fullname"], data["username"], data["email"]) == ("New Name", "before", user["email"])
    assert data["updatedAt"] > data["createdAt"]


def test_update_account_normalises_username_and_email(client, make_user, auth):
    user = make_user()

    data = client.patch("/api/v2/user/update-account", headers={**auth(user), **JSON},
                        body=json.dumps({"username": " NewName ", "email": "NEW@Example.com"})).json_body["data"]

    assert (data["username"], data["email"]) == ("newname", "new@example.com")


def test_update_account_applies_the_registration_rules(client, make_user, auth):
    response = client.patch("/api/v2/user/update-account", headers={**auth(make_user()), **JSON},
                            body=json.dumps({"username": "ab", "email": "bad", "fullname": " "}))

    assert response.status_code == 422
    assert response.json_body["message"] == "Update validation failed"
    assert response.json_body["errors"] == ["Full name is required", "Invalid email address",
                                            "Username must be at least 3 characters"]


def test_update_account_with_nothing_to_change_is_422(client, make_user, auth):
    response = client.patch("/api/v2/user/update-account", headers={**auth(make_user()), **JSON}, body="{}")

    assert response.status_code == 422


def test_update_account_to_a_taken_username_is_409_naming_it(client, make_user, auth):
    make_user(username="taken")

    response = client.patch("/api/v2/user/update-account", headers={**auth(make_user()), **JSON},
                            body=json.dumps({"username": "TAKEN"}))

    assert (response.status_code, response.json_body["message"]) == (409, "username already exists")


def test_update_account_rejects_non_string_fields(client, make_user, auth):
    response = client.patch("/api/v2/user/update-account", headers={**auth(make_user()), **JSON},
                            body=json.dumps({"fullname": ["x"]}))

    assert response.status_code == 422


# ------------------------------------------------------------------------------------ avatar and cover


def _registered(client):
    body, headers = register_form()
    client.post("/api/v2/user/register", body=body, headers=headers)
    login = client.post("/api/v2/user/login", headers=JSON,
                        body=json.dumps({"username": "ada", "password": "Passw0rdX"})).json_body["data"]
    return {"Authorization": f"Bearer {login['accessToken']}"}, login["user"]


def test_update_avatar_replaces_the_file_and_removes_the_old_one(client):
    headers, user = _registered(client)
    old_name = user["avatar"].rsplit("/", 1)[1]
    body, form_headers = multipart({}, {"avatar": ("new.jpg", jpeg_bytes(), "image/jpeg")})

    response = client.patch("/api/v2/user/update-avatar", body=body, headers={**headers, **form_headers})

    assert response.status_code == 200
    assert response.json_body["message"] == "Avatar updated"
    new_url = response.json_body["data"]["avatar"]
    assert new_url.endswith(".jpg") and new_url != user["avatar"]
    names = [p.name for p in media_files()]
    assert old_name not in names and new_url.rsplit("/", 1)[1] in names


def test_update_cover_image(client):
    headers, _ = _registered(client)
    body, form_headers = multipart({}, {"coverImage": ("c.png", png_bytes(), "image/png")})

    response = client.patch("/api/v2/user/update-cover-image", body=body, headers={**headers, **form_headers})

    assert response.status_code == 200
    assert response.json_body["message"] == "Cover updated"
    assert response.json_body["data"]["coverImage"].endswith(".png")


def test_update_avatar_errors_leave_the_old_avatar(client):
    headers, user = _registered(client)
    missing_body, missing_headers = multipart({"note": "x"}, {})
    bad_body, bad_headers = multipart({}, {"avatar": ("x.png", b"not an image at all", "image/png")})

    missing = client.patch("/api/v2/user/update-avatar", body=missing_body, headers={**headers, **missing_headers})
    bad = client.patch("/api/v2/user/update-avatar", body=bad_body, headers={**headers, **bad_headers})
    as_json = client.patch("/api/v2/user/update-avatar", body="{}", headers={**headers, **JSON})

    assert (missing.status_code, missing.json_body["message"]) == (400, "Avatar file is required for update")
    assert (bad.status_code, bad.json_body["message"]) == (400, "Avatar must be a JPG, PNG, or WEBP")
    assert as_json.status_code == 415
    assert [p.name for p in media_files()] == [user["avatar"].rsplit("/", 1)[1]]


def test_update_cover_without_a_file_is_400(client):
    headers, _ = _registered(client)
    body, form_headers = multipart({"x": "y"}, {})

    response = client.patch("/api/v2/user/update-cover-image", body=body, headers={**headers, **form_headers})

    assert (response.status_code, response.json_body["message"]) == (400, "Cover Image file is required for update")


def test_a_failed_database_write_removes_the_new_avatar(client, monkeypatch):
    from shared import errors
    from shared.sql import users as users_sql

    headers, user = _registered(client)

    def broken(**_kwargs):
        raise errors.ServiceUnavailable("Database unavailable")

    monkeypatch.setattr(users_sql, "replace_image", broken)
    body, form_headers = multipart({}, {"avatar": ("n.png", png_bytes(), "image/png")})

    response = client.patch("/api/v2/user/update-avatar", body=body, headers={**headers, **form_headers})

    assert response.status_code == 503
    assert [p.name for p in media_files()] == [user["avatar"].rsplit("/", 1)[1]]


# ------------------------------------------------------------------------------------ watch history


def test_empty_watch_history_is_200_with_an_empty_list(client, make_user, auth):
    response = client.get("/api/v2/user/watch-history", headers=auth(make_user()))

    assert response.status_code == 200
    assert response.json_body["data"] == []
    assert response.json_body["message"] == "Watch history fetched"


def test_watch_history_is_newest_first_paginated_and_hides_others_unpublished(client, make_user, auth):
    viewer, owner = make_user(), make_user(username="owner")
    first, second, hidden = _video(owner, "first"), _video(owner, "second"), _video(owner, "hidden", published=False)
    own_draft = _video(viewer, "my draft", published=False)
    for video in (first, hidden, own_draft, second):
        videos_sql.record_view(window_seconds=3600, viewer_id=viewer["id"], video_id=video["id"])
        time.sleep(0.002)
    headers = auth(viewer)

    page1 = client.get("/api/v2/user/watch-history?limit=2", headers=headers).json_body["data"]
    page2 = client.get("/api/v2/user/watch-history?limit=2&page=2", headers=headers).json_body["data"]

    assert [v["title"] for v in page1 + page2] == ["second", "my draft", "first"]
    item = page1[0]
    assert item["user"] == {"fullname": "Test User", "username": "owner", "avatar": "http://testserver/a.png"}
    assert {"videoFileUrl", "thumbnailPublicId", "isPublished", "processingStatus", "allowPublicQnA"} <= set(item)


def test_rewatching_moves_a_video_to_the_top(client, make_user, auth):
    viewer, owner = make_user(), make_user()
    a, b = _video(owner, "a"), _video(owner, "b")
    videos_sql.record_view(window_seconds=3600, viewer_id=viewer["id"], video_id=a["id"])
    videos_sql.record_view(window_seconds=3600, viewer_id=viewer["id"], video_id=b["id"])
    time.sleep(0.002)
    videos_sql.record_view(window_seconds=3600, viewer_id=viewer["id"], video_id=a["id"])

    titles = [v["title"] for v in client.get("/api/v2/user/watch-history", headers=auth(viewer)).json_body["data"]]

    assert titles == ["a", "b"]
    assert db.fetch_value("SELECT count(*) FROM watch_history") == 2


def test_watch_history_paging_is_validated(client, make_user, auth):
    headers = auth(make_user())

    for query in ("page=0", "page=-1", "page=1.5", "limit=0", "limit=101", "limit=x", "page=1&page=2"):
        response = client.get(f"/api/v2/user/watch-history?{query}", headers=headers)
        assert response.status_code == 400, query
