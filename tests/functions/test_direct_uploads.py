"""Direct uploads (design Additions; issue #3 item 4): sign, send the bytes to storage, register the video."""

import json
from urllib.parse import urlparse

import pytest
import requests

from shared import db
from tests.conftest import jpeg_bytes, media_files, png_bytes, video_bytes

JSON = {"Content-Type": "application/json"}


def _sign(client, headers, kind, content_type, size):
    return client.post("/api/v2/uploads", headers={**headers, **JSON},
                       body=json.dumps({"kind": kind, "contentType": content_type, "size": size}))


def _put(client, signed, data):
    path = signed["url"].split("testserver", 1)[1]
    return client.put(path, body=data, headers=signed["headers"])


def _register(client, headers, video_upload, thumb_upload, title="Direct"):
    return client.post("/api/v2/videos", headers={**headers, **JSON},
                       body=json.dumps({"title": title, "description": "sent straight to storage",
                                        "videoUploadId": video_upload, "thumbnailUploadId": thumb_upload}))


@pytest.fixture
def uploaded(client):
    """Sign and send a video and a thumbnail to the local store; return both signed answers."""
    def do(headers, video=None, thumb=None):
        video = video or video_bytes("mp4")
        thumb = thumb or jpeg_bytes()
        signed_video = _sign(client, headers, "video", "video/mp4", len(video)).json_body["data"]
        signed_thumb = _sign(client, headers, "thumbnail", "image/jpeg", len(thumb)).json_body["data"]
        assert _put(client, signed_video, video).status_code == 200
        assert _put(client, signed_thumb, thumb).status_code == 200
        return signed_video, signed_thumb

    return do


# ------------------------------------------------------------------------------------ local store


def test_signing_a_local_upload_says_exactly_how_to_send_the_bytes(client, make_user, auth):
    response = _sign(client, auth(make_user()), "video", "video/mp4", 5_000_000)

    assert response.status_code == 201
    data = response.json_body["data"]
    assert set(data) == {"uploadId", "method", "url", "headers", "expiresAt"}
    assert data["method"] == "PUT"
    assert data["headers"] == {"Content-Type": "video/mp4"}
    assert urlparse(data["url"]).path == f"/api/v2/uploads/{data['uploadId']}"
    assert "signature=" in data["url"] and "expires=" in data["url"]
    assert data["expiresAt"].endswith("Z")


def test_a_direct_upload_becomes_a_video_with_facts_read_from_storage(client, make_user, auth, uploaded):
    headers = auth(make_user())
    signed_video, signed_thumb = uploaded(headers)

    response = _register(client, headers, signed_video["uploadId"], signed_thumb["uploadId"])

    assert response.status_code == 200, response.body
    video = response.json_body["data"]["video"]
    assert video["duration"] == pytest.approx(2.0, abs=0.1)
    assert video["processingStatus"] == "PROCESSING"
    assert video["videoFileUrl"].startswith("http://testserver/api/v2/media/videos/")
    assert len(media_files()) == 2


def test_an_upload_id_is_single_use(client, make_user, auth, uploaded):
    headers = auth(make_user())
    signed_video, signed_thumb = uploaded(headers)
    assert _register(client, headers, signed_video["uploadId"], signed_thumb["uploadId"]).status_code == 200

    again = _register(client, headers, signed_video["uploadId"], signed_thumb["uploadId"])

    assert (again.status_code, again.json_body["message"]) == (404, "Upload not found, expired or already used")
    assert db.fetch_value("SELECT count(*) FROM videos") == 1


def test_an_expired_upload_cannot_be_registered(client, make_user, auth, uploaded):
    headers = auth(make_user())
    signed_video, signed_thumb = uploaded(headers)
    db.execute("UPDATE uploads SET expires_at = now() - interval '1 minute'")

    response = _register(client, headers, signed_video["uploadId"], signed_thumb["uploadId"])

    assert response.status_code == 404


def test_someone_elses_upload_cannot_be_registered(client, make_user, auth, uploaded):
    signed_video, signed_thumb = uploaded(auth(make_user()))

    response = _register(client, auth(make_user()), signed_video["uploadId"], signed_thumb["uploadId"])

    assert response.status_code == 404


def test_registering_before_the_bytes_arrived_is_409_and_uses_nothing_up(client, make_user, auth):
    headers = auth(make_user())
    video = _sign(client, headers, "video", "video/mp4", 1000).json_body["data"]
    thumb = _sign(client, headers, "thumbnail", "image/png", 1000).json_body["data"]

    response = _register(client, headers, video["uploadId"], thumb["uploadId"])

    assert response.status_code == 409
    assert db.fetch_value("SELECT count(*) FROM uploads WHERE status = 'consumed'") == 0


def test_sizes_over_the_kinds_limit_are_refused_at_signing(client, make_user, auth):
    headers = auth(make_user())

    video = _sign(client, headers, "video", "video/mp4", 100 * 1024 * 1024 + 1)
    image = _sign(client, headers, "avatar", "image/png", 10 * 1024 * 1024 + 1)

    assert (video.status_code, video.json_body["message"]) == (413, "Video file must be smaller than 100MB")
    assert (image.status_code, image.json_body["message"]) == (413, "Avatar must be smaller than 10MB")


def test_signing_validates_kind_type_and_size(client, make_user, auth):
    headers = auth(make_user())

    bad = client.post("/api/v2/uploads", headers={**headers, **JSON},
                      body=json.dumps({"kind": "music", "size": "big"}))
    wrong_type = _sign(client, headers, "video", "image/png", 100)

    assert bad.status_code == 422
    assert wrong_type.status_code == 415


def test_bytes_that_do_not_match_the_kind_are_refused_and_not_stored(client, make_user, auth):
    headers = auth(make_user())
    signed = _sign(client, headers, "video", "video/mp4", 5000).json_body["data"]

    response = _put(client, signed, png_bytes())

    assert response.status_code == 415
    assert media_files() == []


def test_more_bytes_than_signed_for_are_refused(client, make_user, auth):
    headers = auth(make_user())
    data = video_bytes("mp4")
    signed = _sign(client, headers, "video", "video/mp4", 100).json_body["data"]

    response = _put(client, signed, data)

    assert response.status_code == 413
    assert media_files() == []


def test_a_tampered_or_reused_upload_url_is_refused(client, make_user, auth):
    headers = auth(make_user())
    signed = _sign(client, headers, "thumbnail", "image/png", 5000).json_body["data"]
    tampered = dict(signed, url=signed["url"].replace("signature=", "signature=0"))

    assert _put(client, tampered, png_bytes()).status_code == 404
    assert _put(client, signed, png_bytes()).status_code == 200
    assert _put(client, signed, png_bytes()).status_code == 404  # the URL works once


def test_a_truncated_direct_video_is_refused(client, make_user, auth):
    headers = auth(make_user())
    whole = video_bytes("mp4")
    signed = _sign(client, headers, "video", "video/mp4", len(whole)).json_body["data"]

    response = _put(client, signed, whole[: len(whole) // 2])

    assert response.status_code == 422
    assert media_files() == []


def test_expired_unregistered_uploads_are_swept_with_their_files(client, make_user, auth, uploaded):
    from shared.services.job_handlers import sweep_expired_uploads

    uploaded(auth(make_user()))
    assert len(media_files()) == 2
    db.execute("UPDATE uploads SET expires_at = now() - interval '1 minute'")

    assert sweep_expired_uploads() == 2
    assert media_files() == [] and db.fetch_value("SELECT count(*) FROM uploads") == 0


# ------------------------------------------------------------------------------------ cloudinary


@pytest.fixture
def fake(fake_cloudinary):
    return fake_cloudinary


def _send_to_cloudinary(signed, data, filename):
    return requests.post(signed["url"], data=signed["fields"], files={"file": (filename, data)}, timeout=30)


def test_cloudinary_direct_upload_is_signed_verified_and_registered(client, make_user, auth, fake):
    headers = auth(make_user())
    video, thumb = video_bytes("mp4"), jpeg_bytes()
    signed_video = _sign(client, headers, "video", "video/mp4", len(video)).json_body["data"]
    signed_thumb = _sign(client, headers, "thumbnail", "image/jpeg", len(thumb)).json_body["data"]

    assert signed_video["method"] == "POST"
    assert signed_video["url"] == f"{fake.url}/v1_1/demo/video/upload"
    assert {"api_key", "timestamp", "signature", "public_id", "folder", "type"} <= set(signed_video["fields"])
    assert _send_to_cloudinary(signed_video, video, "v.mp4").status_code == 200
    assert _send_to_cloudinary(signed_thumb, thumb, "t.jpg").status_code == 200
    assert all(r["signature_ok"] for r in fake.requests)

    response = _register(client, headers, signed_video["uploadId"], signed_thumb["uploadId"])

    assert response.status_code == 200, response.body
    video_out = response.json_body["data"]["video"]
    assert video_out["duration"] == 2.0
    assert video_out["videoFileUrl"].startswith("https://res.cloudinary.com/demo/video/authenticated/s--")
    assert [r["action"] for r in fake.requests].count("resource") == 2


def test_a_tampered_cloudinary_signature_is_refused_by_the_fake(client, make_user, auth, fake):
    signed = _sign(client, auth(make_user()), "video", "video/mp4", 1000).json_body["data"]
    forged = dict(signed, fields={**signed["fields"], "public_id": "someone-elses-id"})

    response = _send_to_cloudinary(forged, video_bytes("mp4"), "v.mp4")

    assert response.status_code == 401


def test_registering_a_cloudinary_upload_that_never_arrived_is_409(client, make_user, auth, fake):
    headers = auth(make_user())
    video = _sign(client, headers, "video", "video/mp4", 1000).json_body["data"]
    thumb = _sign(client, headers, "thumbnail", "image/png", 1000).json_body["data"]

    response = _register(client, headers, video["uploadId"], thumb["uploadId"])

    assert response.status_code == 409


def test_a_cloudinary_upload_of_the_wrong_format_is_refused_and_removed(client, make_user, auth, fake):
    headers = auth(make_user())
    signed_video = _sign(client, headers, "video", "video/mp4", 5000).json_body["data"]
    signed_thumb = _sign(client, headers, "thumbnail", "image/png", 5000).json_body["data"]
    _send_to_cloudinary(signed_video, png_bytes(), "v.mp4")
    _send_to_cloudinary(signed_thumb, png_bytes(), "t.png")

    response = _register(client, headers, signed_video["uploadId"], signed_thumb["uploadId"])

    assert response.status_code == 415
    assert ("video", signed_video["fields"]["folder"] + "/" + signed_video["fields"]["public_id"]) not in fake.assets
    assert db.fetch_value("SELECT count(*) FROM videos") == 0


def test_multipart_publish_on_cloudinary_uses_authenticated_assets(client, make_user, auth, fake):
    from tests.conftest import multipart

    body, form_headers = multipart({"title": "Cloud"}, {"videoFile": ("v.mp4", video_bytes("mp4"), "video/mp4"),
                                                        "thumbnail": ("t.jpg", jpeg_bytes(), "image/jpeg")})

    response = client.post("/api/v2/videos", body=body, headers={**auth(make_user()), **form_headers})

    assert response.status_code == 200, response.body
    video = response.json_body["data"]["video"]
    assert video["videoFileUrl"].startswith("https://res.cloudinary.com/demo/video/authenticated/s--")
    assert {a["type"] for a in fake.assets.values()} == {"authenticated"}
