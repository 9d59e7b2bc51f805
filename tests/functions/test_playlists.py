"""Playlists (contract §10; design: PATCH semantics, 409 duplicates, ordered entries, hidden drafts)."""

import json
import time

from shared import db

JSON = {"Content-Type": "application/json"}


def _create(client, headers, name="Faves", description=None):
    body = {"name": name} if description is None else {"name": name, "description": description}
    return client.post("/api/v2/playlist", headers={**headers, **JSON}, body=json.dumps(body))


def test_create_playlist(client, make_user, auth):
    response = _create(client, auth(make_user()))

    assert response.status_code == 201
    assert response.json_body["message"] == "Playlist created successfully"
    data = response.json_body["data"]
    assert list(data) == ["id", "name", "description", "userId", "createdAt", "updatedAt"]
    assert data["description"] == ""


def test_a_playlist_needs_a_name(client, make_user, auth):
    response = _create(client, auth(make_user()), name="  ")

    assert (response.status_code, response.json_body["message"]) == (400, "Playlist name is required")


def test_playlist_detail_orders_videos_by_when_they_were_added_and_hides_others_drafts(
        client, make_user, make_video, auth):
    owner, maker = make_user(username="curator"), make_user()
    headers = auth(owner)
    playlist = _create(client, headers).json_body["data"]
    older, newer = make_video(maker, "older", views=5), make_video(maker, "newer", views=7)
    draft = make_video(maker, "draft", views=100)
    for video in (newer, draft, older):
        assert client.post(f"/api/v2/playlist/{playlist['id']}/{video['id']}", headers=headers).status_code == 200
        time.sleep(0.002)
    db.execute("UPDATE videos SET is_published = false WHERE id = :id", id=draft["id"])

    data = client.get(f"/api/v2/playlist/{playlist['id']}", headers=headers).json_body["data"]

    assert [v["title"] for v in data["videos"]] == ["newer", "older"]
    assert (data["totalVideos"], data["totalViews"]) == (2, 12)
    assert data["user"] == {"username": "curator", "fullname": "Test User", "avatar": "http://testserver/a.png"}
    assert data["videos"][0]["user"]["fullname"] == "Test User"


def test_user_playlists_with_counts_and_first_added_thumbnail(client, make_user, make_video, auth):
    owner = make_user()
    headers = auth(owner)
    empty = _create(client, headers, "empty").json_body["data"]
    full = _create(client, headers, "full").json_body["data"]
    first, second = make_video(owner, "first"), make_video(owner, "second")
    for video in (first, second):
        client.post(f"/api/v2/playlist/{full['id']}/{video['id']}", headers=headers)
        time.sleep(0.002)

    data = client.get(f"/api/v2/playlist/user/{owner['id']}", headers=auth(make_user())).json_body

    assert data["message"] == "User playlists fetched successfully"
    by_name = {p["name"]: p for p in data["data"]}
    assert [p["name"] for p in data["data"]] == ["full", "empty"]
    assert (by_name["full"]["totalVideos"], by_name["full"]["thumbnail"]) == (2, "http://testserver/thumb-first.jpg")
    assert (by_name["empty"]["totalVideos"], by_name["empty"]["thumbnail"]) == (0, None)
    assert empty["id"] == by_name["empty"]["id"]


def test_update_keeps_an_omitted_description(client, make_user, auth):
    headers = auth(make_user())
    playlist = _create(client, headers, "Old", "keep me").json_body["data"]
    path = f"/api/v2/playlist/{playlist['id']}"

    renamed = client.patch(path, headers={**headers, **JSON}, body=json.dumps({"name": "New"})).json_body["data"]
    cleared = client.patch(path, headers={**headers, **JSON}, body=json.dumps({"description": ""})).json_body["data"]
    nothing = client.patch(path, headers={**headers, **JSON}, body="{}")

    assert (renamed["name"], renamed["description"]) == ("New", "keep me")
    assert (cleared["name"], cleared["description"]) == ("New", "")
    assert (nothing.status_code, nothing.json_body["message"]) == (400, "Name is required for update")


def test_only_the_owner_changes_a_playlist(client, make_user, make_video, auth):
    owner, stranger = make_user(), make_user()
    playlist = _create(client, auth(owner)).json_body["data"]
    video = make_video(owner)
    path = f"/api/v2/playlist/{playlist['id']}"

    update = client.patch(path, headers={**auth(stranger), **JSON}, body=json.dumps({"name": "x"}))
    delete = client.delete(path, headers=auth(stranger))
    add = client.post(f"{path}/{video['id']}", headers=auth(stranger))
    remove = client.delete(f"{path}/{video['id']}", headers=auth(stranger))

    assert (update.status_code, update.json_body["message"]) == (403, "You are not authorized to update this playlist")
    assert (delete.status_code, delete.json_body["message"]) == (403, "You are not authorized to delete this playlist")
    assert (add.status_code, add.json_body["message"]) == (403, "You are not authorized to edit this playlist")
    assert remove.status_code == 403


def test_adding_videos_duplicates_unknown_and_hidden(client, make_user, make_video, auth):
    owner = make_user()
    headers = auth(owner)
    playlist = _create(client, headers).json_body["data"]
    video, others_draft = make_video(owner), make_video(make_user(), published=False)
    path = f"/api/v2/playlist/{playlist['id']}"

    added = client.post(f"{path}/{video['id']}", headers=headers)
    duplicate = client.post(f"{path}/{video['id']}", headers=headers)
    unknown = client.post(f"{path}/0190a000-0000-7000-8000-000000000000", headers=headers)
    hidden = client.post(f"{path}/{others_draft['id']}", headers=headers)
    no_playlist = client.post(f"/api/v2/playlist/0190a000-0000-7000-8000-000000000000/{video['id']}", headers=headers)

    assert (added.status_code, added.json_body["message"]) == (200, "Video added to playlist")
    assert added.json_body["data"]["updatedAt"] >= playlist["updatedAt"]
    assert (duplicate.status_code, duplicate.json_body["message"]) == (409, "Video already in playlist")
    assert (unknown.status_code, unknown.json_body["message"]) == (404, "Video not found")
    assert hidden.status_code == 404
    assert (no_playlist.status_code, no_playlist.json_body["message"]) == (404, "Playlist not found")


def test_removing_a_video_is_idempotent_and_deleting_cascades(client, make_user, make_video, auth):
    owner = make_user()
    headers = auth(owner)
    playlist = _create(client, headers).json_body["data"]
    video = make_video(owner)
    path = f"/api/v2/playlist/{playlist['id']}"
    client.post(f"{path}/{video['id']}", headers=headers)

    removed = client.delete(f"{path}/{video['id']}", headers=headers)
    again = client.delete(f"{path}/{video['id']}", headers=headers)
    client.post(f"{path}/{video['id']}", headers=headers)
    deleted = client.delete(path, headers=headers)

    assert (removed.status_code, removed.json_body["message"]) == (200, "Video removed from playlist")
    assert again.status_code == 200
    assert (removed.json_body["data"], again.json_body["data"]) == ({"removed": True}, {"removed": False})
    assert (deleted.status_code, deleted.json_body["message"]) == (200, "Playlist deleted successfully")
    assert db.fetch_value("SELECT count(*) FROM playlist_videos") == 0
    assert client.get(path, headers=headers).status_code == 404
