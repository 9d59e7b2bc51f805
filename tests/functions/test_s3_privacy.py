"""Privacy of unpublished media on S3 (issue #13): the bucket lets anyone read only objects tagged visibility=public
(the policy of the README, in the s3_bucket fixture, evaluated by moto as S3 does), and a video's objects are tagged
by its state: at upload, on publish and unpublish, when a replaced thumbnail or a new stream is stored. An anonymous
GET of an unpublished video's objects is refused, works again once it is published, and the owner's presigned URLs
work throughout."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

import pytest
import requests

from shared import db, jobs
from shared.storage import get_storage
from tests.conftest import jpeg_bytes, multipart, png_bytes, video_bytes

JSON = {"Content-Type": "application/json"}


def _public_url(bucket, key: str) -> str:
    """The object's plain (unsigned) URL, as a CDN or a visitor would fetch it."""
    return f"http://viztube-media.localhost:{urlparse(bucket.endpoint).port}/{key}"


def _tag(bucket, key: str) -> str | None:
    tags = bucket.client.get_object_tagging(Bucket=bucket.name, Key=key)["TagSet"]
    return {t["Key"]: t["Value"] for t in tags}.get("visibility")


def _anonymous(bucket, keys) -> set[int]:
    return {requests.get(_public_url(bucket, key), timeout=10).status_code for key in keys}


def _publish(client, headers):
    body, form_headers = multipart({"title": "private?", "description": "d"}, {
        "videoFile": ("v.mp4", video_bytes("mp4"), "video/mp4"), "thumbnail": ("t.jpg", jpeg_bytes(), "image/jpeg")})
    response = client.post("/api/v2/videos", body=body, headers={**headers, **form_headers})
    assert response.status_code == 200, response.body
    jobs.run_pending()  # probing and the HLS ladder, made from the bucket
    return response.json_body["data"]["video"]["id"]


def _toggle(client, headers, video_id):
    response = client.patch(f"/api/v2/videos/toggle/publish/{video_id}", headers=headers)
    assert response.status_code == 200, response.body
    return response.json_body["data"]["isPublished"]


def test_an_unpublished_videos_objects_are_refused_to_anyone_and_readable_again_once_published(
        client, make_user, auth, s3_bucket):
    headers = auth(make_user())
    video_id = _publish(client, headers)
    keys = s3_bucket.keys()
    assert any(k.startswith(f"hls/{video_id}/") and k.endswith(".ts") for k in keys) and len(keys) > 5
    assert _anonymous(s3_bucket, keys) == {200} and {_tag(s3_bucket, k) for k in keys} == {"public"}

    assert _toggle(client, headers, video_id) is False

    assert _anonymous(s3_bucket, keys) == {403}  # the file, thumbnail, every playlist, segment and the poster
    assert {_tag(s3_bucket, k) for k in keys} == {"private"}
    owner_view = client.get(f"/api/v2/videos/{video_id}", headers=headers).json_body["data"]
    for field in ("videoFileUrl", "thumbnailUrl", "posterUrl"):  # the owner's presigned URLs keep working
        assert "X-Amz-Signature=" in owner_view[field]
        assert requests.get(owner_view[field], timeout=10).status_code == 200
    hls = urlparse(owner_view["hlsUrl"])
    master = client.get(f"{hls.path}?{hls.query}", headers={"Accept": "*/*"})
    variant = next(line for line in master.body.decode().splitlines() if line.endswith(hls.query))
    rendition = client.get(f"{hls.path.rsplit('/', 1)[0]}/{variant}", headers={"Accept": "*/*"}).body.decode()
    segments = [line for line in rendition.splitlines() if line and not line.startswith("#")]
    assert segments and all(requests.get(s, timeout=10).status_code == 200 for s in segments)

    assert _toggle(client, headers, video_id) is True

    assert _anonymous(s3_bucket, keys) == {200} and {_tag(s3_bucket, k) for k in keys} == {"public"}


def test_a_thumbnail_replaced_while_unpublished_stays_private(client, make_user, auth, s3_bucket):
    headers = auth(make_user())
    video_id = _publish(client, headers)
    _toggle(client, headers, video_id)
    body, form_headers = multipart({}, {"thumbnail": ("n.png", png_bytes(4, 4), "image/png")})

    updated = client.patch(f"/api/v2/videos/{video_id}", body=body, headers={**headers, **form_headers})

    new_thumb = updated.json_body["data"]["thumbnailPublicId"]
    assert _tag(s3_bucket, new_thumb) == "private" and _anonymous(s3_bucket, [new_thumb]) == {403}
    _toggle(client, headers, video_id)
    assert _anonymous(s3_bucket, [new_thumb]) == {200}


def _direct_uploads(client, headers) -> tuple[dict[str, str], list[str]]:
    """A video and a thumbnail sent straight to the bucket by presigned PUT: their upload ids and their keys."""
    uploads, keys = {}, []
    for kind, content_type, data in (("video", "video/mp4", video_bytes("mp4")), ("thumbnail", "image/jpeg",
                                                                                 jpeg_bytes())):
        signed = client.post("/api/v2/uploads", headers=headers, body=json.dumps(
            {"kind": kind, "contentType": content_type, "size": len(data)})).json_body["data"]
        assert requests.put(signed["url"], data=data, headers=signed["headers"], timeout=10).status_code == 200
        uploads[kind] = signed["uploadId"]
        keys.append(urlparse(signed["url"]).path.split("/", 1)[1])
    return uploads, keys


def test_directly_uploaded_bytes_are_nobodys_until_they_become_a_published_video(client, make_user, auth,
                                                                                s3_bucket):
    headers = {**auth(make_user()), **JSON}
    uploads, keys = _direct_uploads(client, headers)
    assert _anonymous(s3_bucket, keys) == {403}  # stored, but not a published video's yet

    response = client.post("/api/v2/videos", headers=headers, body=json.dumps(
        {"title": "Direct", "description": "", "videoUploadId": uploads["video"],
         "thumbnailUploadId": uploads["thumbnail"]}))

    assert response.status_code == 200, response.body
    assert _anonymous(s3_bucket, keys) == {200}


def test_a_resumable_upload_is_private_until_registered(client, make_user, auth, s3_bucket):
    import base64

    headers = auth(make_user())
    ids = {}
    for kind, filetype, data in (("video", "video/mp4", video_bytes("mp4")), ("thumbnail", "image/jpeg",
                                                                             jpeg_bytes())):
        meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in
                        {"kind": kind, "filetype": filetype}.items())
        created = client.post("/api/v2/uploads/tus", headers={**headers, "Tus-Resumable": "1.0.0",
                                                              "Upload-Length": str(len(data)), "Upload-Metadata": meta})
        path = created.headers["Location"].split("testserver", 1)[1]
        client.patch(path, body=data, headers={**headers, "Tus-Resumable": "1.0.0", "Upload-Offset": "0",
                                               "Content-Type": "application/offset+octet-stream"})
        ids[kind] = path.rsplit("/", 1)[1]
    keys = s3_bucket.keys()
    assert len(keys) == 2 and _anonymous(s3_bucket, keys) == {403}

    response = client.post("/api/v2/videos", headers={**headers, **JSON}, body=json.dumps(
        {"title": "tus", "description": "", "videoUploadId": ids["video"], "thumbnailUploadId": ids["thumbnail"]}))

    assert response.status_code == 200, response.body
    assert _anonymous(s3_bucket, keys) == {200}


def test_an_unpublish_while_the_bucket_is_down_is_recorded_and_done_when_it_answers(client, make_user, auth,
                                                                                   s3_bucket):
    headers = auth(make_user())
    video_id = _publish(client, headers)
    keys = s3_bucket.keys()
    s3_bucket.use(S3_ENDPOINT_URL="http://localhost:9")  # nothing listens there

    assert _toggle(client, headers, video_id) is False  # the owner's change is made all the same

    assert db.fetch_value("SELECT status FROM jobs WHERE kind = 'sync_media_visibility'") == "pending"
    # Down for longer than the job's tries: it fails, and another is queued for later instead of giving up.
    db.execute("UPDATE jobs SET run_after = now(), attempts = max_attempts - 1")
    jobs.run_pending()
    syncs = db.fetch_all("SELECT status, run_after > now() + interval '50 minutes' AS later FROM jobs"
                         " WHERE kind = 'sync_media_visibility' ORDER BY created_at")
    assert syncs == [{"status": "failed", "later": False}, {"status": "pending", "later": True}]
    s3_bucket.use(S3_ENDPOINT_URL=s3_bucket.endpoint)
    db.execute("UPDATE jobs SET run_after = now()")
    jobs.run_pending()
    assert _anonymous(s3_bucket, keys) == {403}


def test_the_last_word_is_the_videos_state_whatever_order_changes_land_in(client, make_user, auth, s3_bucket,
                                                                         monkeypatch):
    headers = auth(make_user())
    video_id = _publish(client, headers)
    keys = s3_bucket.keys()
    store = get_storage()
    real = store.set_visibility
    told = []

    def toggled_meanwhile(media, *, private):
        real(media, private=private)
        if not told:  # the owner publishes again while the store is being told it is unpublished
            db.execute("UPDATE videos SET is_published = NOT is_published WHERE id = :id", id=uuid.UUID(video_id))
        told.append(private)

    monkeypatch.setattr(store, "set_visibility", toggled_meanwhile)

    _toggle(client, headers, video_id)

    assert told == [True, False]  # told again, by the same job, once it saw the state had changed
    assert db.fetch_value("SELECT is_published FROM videos") is True
    assert _anonymous(s3_bucket, keys) == {200} and {_tag(s3_bucket, k) for k in keys} == {"public"}


@pytest.mark.parametrize("published_at_start", [True, False])
def test_a_stream_made_while_the_video_was_toggled_follows_its_state(client, make_user, auth, s3_bucket,
                                                                    monkeypatch, published_at_start):
    headers = auth(make_user())
    body, form_headers = multipart({"title": "t", "description": "d"}, {
        "videoFile": ("v.mp4", video_bytes("mp4"), "video/mp4"), "thumbnail": ("t.jpg", jpeg_bytes(), "image/jpeg")})
    video_id = client.post("/api/v2/videos", body=body,
                           headers={**headers, **form_headers}).json_body["data"]["video"]["id"]
    if not published_at_start:
        _toggle(client, headers, video_id)
    store = get_storage()
    real = store.publish_stream_files  # the progressive transcode publishes file by file (issue #17)
    toggled = []

    def toggled_while_transcoding(*args, **kwargs):
        if not toggled:  # once, as the first files go up
            toggled.append(True)
            db.execute("UPDATE videos SET is_published = NOT is_published WHERE id = :id", id=uuid.UUID(video_id))
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "publish_stream_files", toggled_while_transcoding)

    jobs.run_pending()

    stream = [k for k in s3_bucket.keys() if k.startswith(f"hls/{video_id}/")]
    assert stream and {_tag(s3_bucket, k) for k in stream} == {"private" if published_at_start else "public"}
    assert _anonymous(s3_bucket, stream) == {403 if published_at_start else 200}


# ------------------------------------------------------------------------------------ privacy levels (issue #15)


def test_an_unlisted_video_registered_from_direct_uploads_stays_private_in_the_bucket(client, make_user, auth,
                                                                                       s3_bucket):
    headers = {**auth(make_user()), **JSON}
    uploads, keys = _direct_uploads(client, headers)

    response = client.post("/api/v2/videos", headers=headers, body=json.dumps(
        {"title": "Direct", "videoUploadId": uploads["video"], "thumbnailUploadId": uploads["thumbnail"],
         "privacy": "unlisted"}))

    assert response.status_code == 200, response.body
    video = response.json_body["data"]["video"]
    assert (video["privacy"], video["isPublished"]) == ("unlisted", False)
    assert _anonymous(s3_bucket, keys) == {403} and {_tag(s3_bucket, k) for k in keys} == {"private"}
    assert requests.get(video["videoFileUrl"], timeout=10).status_code == 200  # presigned, for whoever opens it
    patched = client.patch(f"/api/v2/videos/{video['id']}", headers=headers, body='{"privacy": "public"}')
    assert patched.status_code == 200
    assert _anonymous(s3_bucket, keys) == {200} and {_tag(s3_bucket, k) for k in keys} == {"public"}


def test_a_scheduled_videos_objects_turn_public_when_the_sweep_publishes_it(client, make_user, auth, s3_bucket):
    from shared.services import scheduling

    headers = auth(make_user())
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    body, form_headers = multipart({"title": "later", "publishAt": later}, {
        "videoFile": ("v.mp4", video_bytes("mp4"), "video/mp4"), "thumbnail": ("t.jpg", jpeg_bytes(), "image/jpeg")})
    response = client.post("/api/v2/videos", body=body, headers={**headers, **form_headers})
    assert response.status_code == 200, response.body
    video_id = response.json_body["data"]["video"]["id"]
    jobs.run_pending()
    keys = s3_bucket.keys()
    assert len(keys) > 5 and _anonymous(s3_bucket, keys) == {403} and {_tag(s3_bucket, k) for k in keys} == {"private"}

    db.execute("UPDATE videos SET publish_at = now() - interval '1 second' WHERE id = :id", id=uuid.UUID(video_id))
    assert scheduling.publish_due() == [uuid.UUID(video_id)]

    assert _anonymous(s3_bucket, keys) == {200} and {_tag(s3_bucket, k) for k in keys} == {"public"}
