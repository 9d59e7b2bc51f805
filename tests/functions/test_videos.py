"""Videos (contract §5, design deviations 2, 3, 9–12): publish, list, detail, update, delete, toggle, privacy."""

import json
import threading
from urllib.parse import urlparse

import pytest

from shared import db, jobs
from shared.settings import reset_settings
from tests.conftest import jpeg_bytes, media_files, multipart, png_bytes, video_bytes

JSON = {"Content-Type": "application/json"}
ACCEPT = {"Accept": "*/*"}
VIDEO_KEYS = ["id", "videoFileUrl", "videoFilePublicId", "thumbnailUrl", "thumbnailPublicId", "title", "description",
              "views", "duration", "isPublished", "userId", "createdAt", "updatedAt", "processingStatus",
              "hasTranscript", "allowPublicQnA"]


@pytest.fixture
def publish(client):
    def do(headers, *, title="My clip", description="About cats", video=None, thumbnail=None, fmt="mp4"):
        files = {"videoFile": video or (f"clip.{fmt}", video_bytes(fmt), "video/mp4"),
                 "thumbnail": thumbnail or ("t.jpg", jpeg_bytes(), "image/jpeg")}
        fields = {k: v for k, v in {"title": title, "description": description}.items() if v is not None}
        body, form_headers = multipart(fields, {k: v for k, v in files.items() if v != "omit"})
        return client.post("/api/v2/videos", body=body, headers={**headers, **form_headers})

    return do


@pytest.fixture
def video_of(publish):
    def do(headers, **kwargs):
        response = publish(headers, **kwargs)
        assert response.status_code == 200, response.body
        return response.json_body["data"]["video"]

    return do


def _rows():
    return db.fetch_value("SELECT count(*) FROM videos")


# ------------------------------------------------------------------------------------ publish


def test_publish_stores_both_files_and_answers_the_contract_shape(client, make_user, auth, publish):
    user = make_user()

    response = publish(auth(user))

    assert response.status_code == 200
    assert response.json_body["message"].startswith("Video published successfully")
    video = response.json_body["data"]["video"]
    assert list(video)[:16] == VIDEO_KEYS
    assert video["processingStatus"] == "PROCESSING"
    assert video["duration"] == pytest.approx(2.0, abs=0.1)
    assert (video["views"], video["isPublished"], video["userId"]) == (0, True, str(user["id"]))
    assert (video["width"], video["height"]) == (160, 120)
    assert video["videoFileUrl"].startswith("http://testserver/api/v2/media/videos/")
    assert len(media_files()) == 2


@pytest.mark.parametrize("fmt", ["webm", "mkv", "mov"])
def test_publish_accepts_every_supported_container(make_user, auth, publish, fmt):
    response = publish(auth(make_user()), fmt=fmt)

    assert response.status_code == 200, response.body


def test_processing_goes_from_processing_to_completed(client, make_user, auth, video_of):
    headers = auth(make_user())
    video = video_of(headers)

    jobs.run_pending()

    detail = client.get(f"/api/v2/videos/{video['id']}", headers=headers).json_body["data"]
    assert detail["processingStatus"] == "COMPLETED"
    assert detail["processingError"] is None


def test_a_stored_file_that_cannot_be_read_marks_the_video_failed_with_a_reason(client, make_user, auth, video_of):
    headers = auth(make_user())
    video = video_of(headers)
    stored = next(p for p in media_files() if p.parent.name == "videos")
    stored.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 100)

    jobs.run_pending()

    detail = client.get(f"/api/v2/videos/{video['id']}", headers=headers).json_body["data"]
    assert detail["processingStatus"] == "FAILED"
    assert "not a readable video" in detail["processingError"]


def test_a_png_declared_as_mp4_is_refused_and_nothing_is_stored(make_user, auth, publish):
    response = publish(auth(make_user()), video=("evil.mp4", png_bytes(), "video/mp4"))

    assert response.status_code == 415
    assert response.json_body["message"] == "Invalid video format. Must be MP4, WEBM, MKV, or MOV."
    assert _rows() == 0 and media_files() == []


def test_a_truncated_video_is_422_and_nothing_is_stored(make_user, auth, publish):
    whole = video_bytes("mp4")

    response = publish(auth(make_user()), video=("cut.mp4", whole[: len(whole) // 3], "video/mp4"))

    assert response.status_code == 422
    assert response.json_body["message"].startswith("Video file could not be read")
    assert _rows() == 0 and media_files() == []


@pytest.mark.parametrize("missing,message", [("title", "Title is required"), ("videoFile", "Video file is required"),
                                             ("thumbnail", "Thumbnail is required")])
def test_publish_requires_title_video_and_thumbnail(make_user, auth, publish, missing, message):
    kwargs = {"title": None} if missing == "title" else {"video": "omit"} if missing == "videoFile" else {
        "thumbnail": "omit"}

    response = publish(auth(make_user()), **kwargs)

    assert (response.status_code, response.json_body["message"]) == (400, message)
    assert _rows() == 0 and media_files() == []


def test_a_thumbnail_that_is_not_an_image_is_400_and_nothing_is_stored(make_user, auth, publish):
    response = publish(auth(make_user()), thumbnail=("t.jpg", b"plain text" * 20, "image/jpeg"))

    assert (response.status_code, response.json_body["message"]) == (400, "Thumbnail must be a JPG, PNG, or WEBP")
    assert _rows() == 0 and media_files() == []


def test_a_video_over_the_limit_is_413(make_user, auth, publish, monkeypatch):
    monkeypatch.setenv("MAX_VIDEO_BYTES", "10000")
    reset_settings()

    response = publish(auth(make_user()))

    assert (response.status_code, response.json_body["message"]) == (413, "Video file must be smaller than 0MB")
    assert _rows() == 0 and media_files() == []


def test_a_storage_failure_midway_removes_what_was_stored(make_user, auth, publish, storage_fails_for):
    storage_fails_for("thumbnail")

    response = publish(auth(make_user()))

    assert response.status_code == 502
    assert _rows() == 0 and media_files() == []


def test_a_database_failure_after_storing_removes_the_files(make_user, auth, publish, monkeypatch):
    from shared import errors
    from shared.sql import videos as videos_sql

    def down(**_kwargs):
        raise errors.ServiceUnavailable("Database unavailable")

    monkeypatch.setattr(videos_sql, "insert", down)

    response = publish(auth(make_user()))

    assert response.status_code == 503
    assert media_files() == []


def test_over_the_deployments_body_cap_the_answer_names_direct_upload(make_user, auth, publish, monkeypatch):
    monkeypatch.setenv("MAX_REQUEST_BYTES", "20000")
    reset_settings()

    response = publish(auth(make_user()))

    assert response.status_code == 413
    assert "POST /api/v2/uploads" in response.json_body["message"]


def test_publish_needs_a_token(client):
    assert client.post("/api/v2/videos", body=b"{}", headers=JSON).status_code == 401


# ------------------------------------------------------------------------------------ list


def test_list_shows_published_videos_with_the_paginated_shape(client, make_user, auth, video_of):
    owner = make_user(username="owner")
    headers = auth(owner)
    for i in range(3):
        video_of(headers, title=f"clip {i}")
    hidden = video_of(headers, title="draft")
    client.patch(f"/api/v2/videos/toggle/publish/{hidden['id']}", headers=headers)

    response = client.get("/api/v2/videos?page=1&limit=2", headers=auth(make_user()))

    assert response.status_code == 200
    assert response.json_body["message"] == "Videos fetched successfully"
    data = response.json_body["data"]
    assert {k: data[k] for k in ("totalDocs", "limit", "page", "totalPages", "hasNextPage", "hasPrevPage")} == {
        "totalDocs": 3, "limit": 2, "page": 1, "totalPages": 2, "hasNextPage": True, "hasPrevPage": False}
    assert [d["title"] for d in data["docs"]] == ["clip 2", "clip 1"]
    assert data["docs"][0]["user"] == {"fullname": "Test User", "username": "owner", "avatar": "http://testserver/a.png"}


def test_list_sorts_filters_and_searches(client, make_user, auth, video_of):
    alice, bob = make_user(), make_user()
    video_of(auth(alice), title="Zebra crossing", description="stripes")
    video_of(auth(alice), title="apple pie", description="Baking with cats")
    video_of(auth(bob), title="Mango", description="fruit")
    headers = auth(alice)

    def titles(query):
        return [d["title"] for d in client.get(f"/api/v2/videos?{query}", headers=headers).json_body["data"]["docs"]]

    assert titles("sortBy=title&sortType=asc") == ["Mango", "Zebra crossing", "apple pie"]
    assert titles(f"userId={bob['id']}") == ["Mango"]
    assert titles("query=CAT") == ["apple pie"]
    assert titles("query=zeb%20cross") == ["Zebra crossing"]
    assert titles("query=nothing-like-this") == []
    assert titles("query=%25%25") == []


@pytest.mark.parametrize("query", ["sortBy=videoFilePublicId", "sortType=up", "page=0", "limit=500", "page=x",
                                   "userId=not-a-uuid", "sortBy=views&sortBy=title"])
def test_list_rejects_bad_parameters_with_400(client, make_user, auth, query):
    response = client.get(f"/api/v2/videos?{query}", headers=auth(make_user()))

    assert response.status_code == 400


# ------------------------------------------------------------------------------------ detail and views


def test_detail_counts_a_view_once_per_viewer_per_window_and_records_history(client, make_user, auth, video_of):
    owner, viewer, other = make_user(), make_user(), make_user()
    from shared.sql import subscriptions as subscriptions_sql

    subscriptions_sql.subscribe(subscriber_id=viewer["id"], channel_id=owner["id"])
    video = video_of(auth(owner))

    first = client.get(f"/api/v2/videos/{video['id']}", headers=auth(viewer)).json_body["data"]
    again = client.get(f"/api/v2/videos/{video['id']}", headers=auth(viewer)).json_body["data"]
    by_other = client.get(f"/api/v2/videos/{video['id']}", headers=auth(other)).json_body["data"]

    assert (first["views"], again["views"], by_other["views"]) == (1, 1, 2)
    assert first["user"]["subscribersCount"] == 1
    assert set(first["user"]) == {"fullname", "username", "avatar", "subscribersCount"}
    history = client.get("/api/v2/user/watch-history", headers=auth(viewer)).json_body["data"]
    assert [h["id"] for h in history] == [video["id"]]


def test_a_view_counts_again_after_the_window(client, make_user, auth, video_of):
    owner, viewer = make_user(), make_user()
    video = video_of(auth(owner))
    client.get(f"/api/v2/videos/{video['id']}", headers=auth(viewer))
    db.execute("UPDATE watch_history SET counted_at = counted_at - interval '2 hours'")

    views = client.get(f"/api/v2/videos/{video['id']}", headers=auth(viewer)).json_body["data"]["views"]

    assert views == 2


def test_concurrent_views_by_one_viewer_count_once(make_user, auth, video_of):
    from shared.sql import videos as videos_sql

    owner, viewer = make_user(), make_user()
    video = video_of(auth(owner))
    barrier = threading.Barrier(8)

    def view():
        barrier.wait()
        videos_sql.record_view(video_id=video["id"], viewer_id=viewer["id"], window_seconds=3600)

    threads = [threading.Thread(target=view) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert db.fetch_value("SELECT views FROM videos") == 1


def test_unknown_and_malformed_ids(client, make_user, auth):
    headers = auth(make_user())

    unknown = client.get("/api/v2/videos/0190a000-0000-7000-8000-000000000000", headers=headers)
    malformed = client.get("/api/v2/videos/not-an-id", headers=headers)

    assert (unknown.status_code, unknown.json_body["message"]) == (404, "Video not found")
    assert (malformed.status_code, malformed.json_body["message"]) == (400, "Invalid video ID")


def test_an_unpublished_video_is_the_owners_alone(client, make_user, auth, video_of):
    owner, other = make_user(), make_user()
    video = video_of(auth(owner))
    client.patch(f"/api/v2/videos/toggle/publish/{video['id']}", headers=auth(owner))
    path = f"/api/v2/videos/{video['id']}"

    assert client.get(path, headers=auth(other)).status_code == 404
    assert client.patch(path, headers={**auth(other), **JSON}, body='{"title": "x"}').status_code == 404
    assert client.delete(path, headers=auth(other)).status_code == 404
    assert client.patch(f"/api/v2/videos/toggle/publish/{video['id']}", headers=auth(other)).status_code == 404
    mine = client.get(path, headers=auth(owner))
    assert mine.status_code == 200
    assert "signature=" in mine.json_body["data"]["videoFileUrl"]


# ------------------------------------------------------------------------------------ media privacy


def test_unpublished_media_only_through_a_valid_signed_url(client, make_user, auth, video_of):
    owner = make_user()
    video = video_of(auth(owner))
    public = urlparse(video["videoFileUrl"]).path
    assert client.get(public, headers=ACCEPT).status_code == 200
    client.patch(f"/api/v2/videos/toggle/publish/{video['id']}", headers=auth(owner))
    signed = client.get(f"/api/v2/videos/{video['id']}", headers=auth(owner)).json_body["data"]["videoFileUrl"]
    signed_path = signed.split("testserver", 1)[1]
    query = dict(p.split("=") for p in signed_path.split("?", 1)[1].split("&"))

    assert client.get(public, headers=ACCEPT).status_code == 404
    assert client.get(signed_path, headers={**ACCEPT, "Range": "bytes=0-99"}).status_code == 206
    tampered = signed_path.replace(query["signature"], "0" * 64)
    expired = signed_path.replace(query["expires"], "1000")
    assert client.get(tampered, headers=ACCEPT).status_code == 404
    assert client.get(expired, headers=ACCEPT).status_code == 404
    thumb = urlparse(video["thumbnailUrl"]).path
    assert client.get(thumb, headers=ACCEPT).status_code == 404


# ------------------------------------------------------------------------------------ update


def test_update_is_partial_and_an_empty_description_clears_it(client, make_user, auth, video_of):
    headers = {**auth(make_user()), **JSON}
    video = video_of(headers)
    path = f"/api/v2/videos/{video['id']}"

    renamed = client.patch(path, headers=headers, body=json.dumps({"title": "Renamed"})).json_body["data"]
    cleared = client.patch(path, headers=headers, body=json.dumps({"description": ""})).json_body["data"]

    assert (renamed["title"], renamed["description"]) == ("Renamed", "About cats")
    assert (cleared["title"], cleared["description"]) == ("Renamed", "")


def test_update_replaces_the_thumbnail_and_removes_the_old_file(client, make_user, auth, video_of):
    headers = auth(make_user())
    video = video_of(headers)
    old_name = video["thumbnailUrl"].rsplit("/", 1)[1]
    body, form_headers = multipart({"title": "With new thumb"}, {"thumbnail": ("n.png", png_bytes(), "image/png")})

    response = client.patch(f"/api/v2/videos/{video['id']}", body=body, headers={**headers, **form_headers})

    assert response.status_code == 200
    assert response.json_body["message"] == "Video updated successfully"
    data = response.json_body["data"]
    assert data["title"] == "With new thumb" and data["thumbnailUrl"].endswith(".png")
    names = [p.name for p in media_files()]
    assert old_name not in names and data["thumbnailUrl"].rsplit("/", 1)[1] in names


def test_only_the_owner_may_update(client, make_user, auth, video_of):
    video = video_of(auth(make_user()))

    response = client.patch(f"/api/v2/videos/{video['id']}", headers={**auth(make_user()), **JSON},
                            body=json.dumps({"title": "mine now"}))

    assert (response.status_code, response.json_body["message"]) == (403, "You are not authorized to update this video")


def test_update_rejects_a_blank_title_and_bad_types(client, make_user, auth, video_of):
    headers = {**auth(make_user()), **JSON}
    video = video_of(headers)

    blank = client.patch(f"/api/v2/videos/{video['id']}", headers=headers, body=json.dumps({"title": "  "}))
    typed = client.patch(f"/api/v2/videos/{video['id']}", headers=headers, body=json.dumps({"title": 5}))

    assert blank.status_code == 400
    assert typed.status_code == 422


# ------------------------------------------------------------------------------------ delete and toggle


def test_delete_cascades_rows_and_removes_media(client, make_user, auth, video_of):
    owner, viewer = make_user(), make_user()
    video = video_of(auth(owner))
    client.get(f"/api/v2/videos/{video['id']}", headers=auth(viewer))
    db.execute("INSERT INTO comments (content, user_id, video_id) VALUES ('hi', :u, :v)", u=viewer["id"], v=video["id"])
    db.execute("INSERT INTO likes (user_id, video_id) VALUES (:u, :v)", u=viewer["id"], v=video["id"])
    playlist = client.post("/api/v2/playlist", headers={**auth(viewer), **JSON},
                           body=json.dumps({"name": "keep"})).json_body["data"]
    client.post(f"/api/v2/playlist/{playlist['id']}/{video['id']}", headers=auth(viewer))

    response = client.delete(f"/api/v2/videos/{video['id']}", headers=auth(owner))

    assert response.status_code == 200
    assert response.json_body == {"statusCode": 200, "data": {}, "message": "Video deleted successfully",
                                  "success": True}
    for table in ("videos", "comments", "likes", "watch_history", "playlist_videos"):
        assert db.fetch_value(f"SELECT count(*) FROM {table}") == 0
    assert media_files() == []


def test_a_storage_failure_on_delete_is_recorded_and_retried(client, make_user, auth, video_of, monkeypatch):
    from shared import errors
    from shared.storage.local import LocalStorage

    headers = auth(make_user())
    video = video_of(headers)
    jobs.run_pending()
    real_delete = LocalStorage.delete

    def unavailable(self, public_id, *, resource_type):
        raise errors.StorageFailed("storage down")

    monkeypatch.setattr(LocalStorage, "delete", unavailable)
    assert client.delete(f"/api/v2/videos/{video['id']}", headers=headers).status_code == 200
    pending = db.fetch_all("SELECT status, last_error, payload FROM jobs WHERE kind = 'delete_media'")
    assert sorted(p["payload"]["resource_type"] for p in pending) == ["hls", "image", "video"]
    assert [p["status"] for p in pending] == ["pending"] * 3
    assert all("storage down" in p["last_error"] for p in pending)
    assert len(media_files()) > 2  # the upload, the thumbnail and the HLS output are all still there

    monkeypatch.setattr(LocalStorage, "delete", real_delete)
    db.execute("UPDATE jobs SET run_after = now()")
    jobs.run_pending()

    assert media_files() == []
    assert db.fetch_value("SELECT count(*) FROM jobs WHERE kind = 'delete_media' AND status = 'done'") == 3


def test_only_the_owner_may_delete(client, make_user, auth, video_of):
    video = video_of(auth(make_user()))

    response = client.delete(f"/api/v2/videos/{video['id']}", headers=auth(make_user()))

    assert (response.status_code, response.json_body["message"]) == (403, "You are not authorized to delete this video")


def test_toggle_publish_flips_and_only_for_the_owner(client, make_user, auth, video_of):
    owner = make_user()
    video = video_of(auth(owner))
    path = f"/api/v2/videos/toggle/publish/{video['id']}"

    off = client.patch(path, headers=auth(owner))
    on = client.patch(path, headers=auth(owner))
    stranger = client.patch(path, headers=auth(make_user()))

    assert off.json_body["message"] == "Video publish status toggled"
    assert (off.json_body["data"]["isPublished"], on.json_body["data"]["isPublished"]) == (False, True)
    assert (stranger.status_code, stranger.json_body["message"]) == (403, "Unauthorized")


def test_concurrent_toggles_never_lose_an_update(make_user, auth, video_of):
    from shared.auth import CurrentUser
    from shared.services import videos as videos_service

    owner = make_user()
    video = video_of(auth(owner))
    current = CurrentUser(id=owner["id"], session_id=owner["id"], profile={})
    barrier = threading.Barrier(10)

    def toggle():
        barrier.wait()
        videos_service.toggle_publish(current, video["id"])

    threads = [threading.Thread(target=toggle) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert db.fetch_value("SELECT is_published FROM videos") is True  # ten flips from true


def test_a_full_processing_queue_refuses_new_videos_before_storing_anything(make_user, auth, publish, monkeypatch):
    monkeypatch.setenv("MAX_PROCESSING_QUEUE", "2")
    reset_settings()
    headers = auth(make_user())
    assert publish(headers).status_code == 200
    assert publish(headers).status_code == 200
    stored = len(media_files())

    refused = publish(headers)

    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "60"
    assert len(media_files()) == stored and _rows() == 2
    jobs.run_pending()
    assert publish(headers).status_code == 200  # the queue drained
