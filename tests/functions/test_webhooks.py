"""Cloudinary's eager HLS: requested at upload, confirmed by a webhook whose signature and age are checked."""

import hashlib
import json
import time

import pytest

from shared import db, jobs
from tests.conftest import jpeg_bytes, multipart, video_bytes

SECRET = "s3cr3t"  # the fake Cloudinary's api_secret


def _signed(body: str, timestamp: int, secret: str = SECRET) -> dict[str, str]:
    signature = hashlib.sha1(f"{body}{timestamp}{secret}".encode()).hexdigest()
    return {"Content-Type": "application/json", "X-Cld-Timestamp": str(timestamp), "X-Cld-Signature": signature}


@pytest.fixture
def cloud_video(client, make_user, auth, fake_cloudinary):
    headers = auth(make_user())
    body, form_headers = multipart({"title": "cloud"}, {"videoFile": ("v.mp4", video_bytes("mp4"), "video/mp4"),
                                                        "thumbnail": ("t.jpg", jpeg_bytes(), "image/jpeg")})
    video = client.post("/api/v2/videos", body=body, headers={**headers, **form_headers}).json_body["data"]["video"]
    jobs.run_pending()
    return headers, video


def _eager_notice(public_id: str, **entry) -> str:
    result = {"transformation": "sp_auto/m3u8", "secure_url": f"https://res.cloudinary.com/demo/{public_id}.m3u8",
              **entry}
    return json.dumps({"notification_type": "eager", "public_id": public_id, "eager": [result], "batch_id": "b1"})


def test_uploads_ask_cloudinary_for_eager_hls_with_our_webhook(cloud_video, fake_cloudinary):
    upload = next(r for r in fake_cloudinary.requests if r["action"] == "upload" and r["resource_type"] == "video")

    assert upload["fields"]["eager"] == "sp_auto/m3u8"
    assert upload["fields"]["eager_async"] in ("1", "true")  # the SDK sends 1
    assert upload["fields"]["notification_url"].endswith("/api/v2/webhooks/cloudinary")
    assert upload["signature_ok"]


def test_a_good_notification_completes_the_video_with_its_stream(client, cloud_video):
    headers, video = cloud_video
    assert client.get(f"/api/v2/videos/{video['id']}", headers=headers).json_body["data"]["processingStatus"] == \
        "PROCESSING"
    body = _eager_notice(video["videoFilePublicId"])

    response = client.post("/api/v2/webhooks/cloudinary", body=body, headers=_signed(body, int(time.time())))

    assert response.status_code == 200 and response.json_body["data"] == {"handled": True}
    data = client.get(f"/api/v2/videos/{video['id']}", headers=headers).json_body["data"]
    assert data["processingStatus"] == "COMPLETED"
    assert data["hlsUrl"].startswith("https://res.cloudinary.com/demo/video/authenticated/s--")
    assert "sp_auto" in data["hlsUrl"] and data["hlsUrl"].endswith(".m3u8")


def test_a_tampered_notification_is_refused(client, cloud_video):
    _, video = cloud_video
    body = _eager_notice(video["videoFilePublicId"])
    headers = _signed(body, int(time.time()))

    tampered = client.post("/api/v2/webhooks/cloudinary", body=body.replace("b1", "b2"), headers=headers)
    wrong_secret = client.post("/api/v2/webhooks/cloudinary", body=body,
                               headers=_signed(body, int(time.time()), "not-the-secret"))

    assert tampered.status_code == wrong_secret.status_code == 401
    assert db.fetch_value("SELECT processing_status::text FROM videos") == "PROCESSING"


def test_a_stale_notification_is_refused(client, cloud_video):
    _, video = cloud_video
    body = _eager_notice(video["videoFilePublicId"])

    response = client.post("/api/v2/webhooks/cloudinary", body=body, headers=_signed(body, int(time.time()) - 3 * 3600))

    assert response.status_code == 401
    assert db.fetch_value("SELECT processing_status::text FROM videos") == "PROCESSING"


def test_a_failed_eager_transformation_marks_the_video_failed(client, cloud_video):
    headers, video = cloud_video
    body = _eager_notice(video["videoFilePublicId"], status="failed", reason="Video is too long")

    client.post("/api/v2/webhooks/cloudinary", body=body, headers=_signed(body, int(time.time())))

    data = client.get(f"/api/v2/videos/{video['id']}", headers=headers).json_body["data"]
    assert (data["processingStatus"], data["processingError"]) == ("FAILED", "Video is too long")


def test_without_cloudinary_the_webhook_does_not_exist(client):
    body = "{}"

    response = client.post("/api/v2/webhooks/cloudinary", body=body, headers=_signed(body, int(time.time())))

    assert response.status_code == 404
