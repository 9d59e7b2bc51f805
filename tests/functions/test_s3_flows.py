"""STORAGE=s3 through the API (issue #13, point 1): publish, direct upload, privacy, HLS playback and delete, with the
bucket on moto's server and every byte fetched back over HTTP."""

import json
import uuid
from urllib.parse import urlparse

import pytest
import requests

from shared import cached, db, jobs, node
from shared.media.hls import transcode
from shared.media.probe import probe_video
from shared.settings import get_settings
from shared.sql import videos as videos_sql
from shared.storage import get_storage
from tests.conftest import jpeg_bytes, multipart, png_bytes, register_form, video_bytes

JSON = {"Content-Type": "application/json"}
ACCEPT = {"Accept": "*/*"}


@pytest.fixture
def bucket(s3_bucket):
    # HLS off: these flows need no ladder (the tests of the worker below make one).
    s3_bucket.use(HLS="off")
    return s3_bucket


@pytest.fixture
def published(client, make_user, auth, bucket):
    """A video published by multipart form and processed: (owner headers, the video as its owner sees it)."""
    headers = auth(make_user())
    body, form_headers = multipart({"title": "on s3", "description": "d"}, {
        "videoFile": ("v.mp4", video_bytes("mp4"), "video/mp4"), "thumbnail": ("t.jpg", jpeg_bytes(), "image/jpeg")})
    response = client.post("/api/v2/videos", body=body, headers={**headers, **form_headers})
    assert response.status_code == 200, response.body
    jobs.run_pending()
    return headers, client.get(f"/api/v2/videos/{response.json_body['data']['video']['id']}",
                               headers=headers).json_body["data"]


def _bucket_url(bucket, key: str) -> str:
    return f"http://viztube-media.localhost:{urlparse(bucket.endpoint).port}/{key}"


def test_a_video_lives_in_the_bucket_goes_private_and_leaves_nothing_there_when_deleted(client, make_user, auth,
                                                                                       bucket, published):
    headers, video = published
    assert video["processingStatus"] == "COMPLETED" and video["duration"] == pytest.approx(2.0, abs=0.1)
    assert bucket.keys() == sorted([video["videoFilePublicId"], video["thumbnailPublicId"]])
    assert video["videoFileUrl"] == _bucket_url(bucket, video["videoFilePublicId"])
    assert requests.get(video["videoFileUrl"], timeout=10).content == video_bytes("mp4")

    toggled = client.patch(f"/api/v2/videos/toggle/publish/{video['id']}", headers=headers)
    private = client.get(f"/api/v2/videos/{video['id']}", headers=headers).json_body["data"]

    assert toggled.json_body["data"]["isPublished"] is False
    for field, data in (("videoFileUrl", video_bytes("mp4")), ("thumbnailUrl", jpeg_bytes())):
        assert "X-Amz-Signature=" in private[field] and private[field] != video[field]
        fetched = requests.get(private[field], timeout=10)
        assert fetched.status_code == 200 and fetched.content == data
    assert client.get(f"/api/v2/videos/{video['id']}", headers=auth(make_user())).status_code == 404

    deleted = client.delete(f"/api/v2/videos/{video['id']}", headers=headers)

    assert deleted.status_code == 200
    assert db.fetch_value("SELECT count(*) FROM jobs WHERE kind = 'delete_media' AND status = 'done'") == 2
    assert bucket.keys() == []


def test_an_unpublished_videos_stream_plays_through_signed_playlists_and_goes_with_the_video(client, bucket,
                                                                                            published, tmp_path):
    headers, video = published
    # The ladder made and published as transcode_hls does, from a local copy of the clip (the job itself, reading
    # its source from the bucket, is tested below).
    source = tmp_path / "source.mp4"
    source.write_bytes(video_bytes("mp4"))
    store = get_storage()
    work = store.hls_workdir(uuid.UUID(video["id"]))
    transcode(source, work, probe_video(source))
    stream = store.publish_hls(uuid.UUID(video["id"]), work, private=False)
    videos_sql.set_stream(video_id=uuid.UUID(video["id"]), hls_master_public_id=stream.master_public_id,
                          poster_public_id=stream.poster_public_id)
    cached.forget_video(uuid.UUID(video["id"]))
    public = client.get(f"/api/v2/videos/{video['id']}", headers=headers).json_body["data"]
    assert public["hlsUrl"] == _bucket_url(bucket, stream.master_public_id)
    assert requests.get(public["hlsUrl"], timeout=10).text.startswith("#EXTM3U")

    client.patch(f"/api/v2/videos/toggle/publish/{video['id']}", headers=headers)
    private = client.get(f"/api/v2/videos/{video['id']}", headers=headers).json_body["data"]

    hls = urlparse(private["hlsUrl"])
    assert (hls.netloc, hls.path) == ("testserver", f"/api/v2/media/{stream.master_public_id}")
    assert client.get(hls.path, headers=ACCEPT).status_code == 404  # not without the signature
    master = client.get(f"{hls.path}?{hls.query}", headers=ACCEPT)
    assert master.status_code == 200 and master.headers["Content-Type"] == "application/vnd.apple.mpegurl"
    assert master.headers["Cache-Control"] == "private, no-store"
    variant = next(line for line in master.body.decode().splitlines() if line.endswith(hls.query))
    playlist = client.get(f"{hls.path.rsplit('/', 1)[0]}/{variant}", headers=ACCEPT)
    assert playlist.status_code == 200
    segments = [line for line in playlist.body.decode().splitlines() if line and not line.startswith("#")]
    assert segments and all(line.startswith(_bucket_url(bucket, "hls/")) and "X-Amz-Signature=" in line
                            for line in segments)
    for segment in segments:
        assert requests.get(segment, timeout=10).content[:1] == b"\x47"  # MPEG-TS sync byte
    assert "X-Amz-Signature=" in private["posterUrl"]
    assert requests.get(private["posterUrl"], timeout=10).content[:3] == b"\xff\xd8\xff"

    assert client.delete(f"/api/v2/videos/{video['id']}", headers=headers).status_code == 200
    assert bucket.keys() == []


def test_a_direct_upload_goes_straight_to_the_bucket_and_registers_with_facts_read_there(client, make_user, auth,
                                                                                        bucket):
    headers = {**auth(make_user()), **JSON}
    uploads = {}
    for kind, content_type, data in (("video", "video/mp4", video_bytes("mp4")), ("thumbnail", "image/jpeg",
                                                                                 jpeg_bytes())):
        signed = client.post("/api/v2/uploads", headers=headers, body=json.dumps(
            {"kind": kind, "contentType": content_type, "size": len(data)})).json_body["data"]
        assert signed["method"] == "PUT" and "X-Amz-Signature=" in signed["url"]
        assert signed["headers"] == {"Content-Type": content_type}
        assert requests.put(signed["url"], data=data, headers=signed["headers"], timeout=10).status_code == 200
        uploads[kind] = signed["uploadId"]

    response = client.post("/api/v2/videos", headers=headers, body=json.dumps(
        {"title": "Direct", "description": "", "videoUploadId": uploads["video"],
         "thumbnailUploadId": uploads["thumbnail"]}))

    assert response.status_code == 200, response.body
    video = response.json_body["data"]["video"]
    assert video["duration"] == pytest.approx(2.0, abs=0.1) and (video["width"], video["height"]) == (160, 120)
    assert bucket.keys() == sorted([video["videoFilePublicId"], video["thumbnailPublicId"]])
    assert requests.get(video["videoFileUrl"], timeout=10).content == video_bytes("mp4")


def test_a_registered_avatar_and_a_replaced_thumbnail_live_and_die_in_the_bucket(client, bucket, published):
    form, form_headers = register_form()
    registered = client.post("/api/v2/user/register", body=form, headers=form_headers)
    assert registered.status_code == 201
    avatar = registered.json_body["data"]["avatar"]
    assert avatar.startswith(_bucket_url(bucket, "avatars/")) and requests.get(avatar, timeout=10).content == \
        png_bytes()
    headers, video = published
    body, form_headers = multipart({}, {"thumbnail": ("n.png", png_bytes(4, 4), "image/png")})

    response = client.patch(f"/api/v2/videos/{video['id']}", body=body, headers={**headers, **form_headers})

    assert response.status_code == 200
    new_thumb = response.json_body["data"]["thumbnailPublicId"]
    assert video["thumbnailPublicId"] not in bucket.keys() and new_thumb in bucket.keys()
    assert requests.get(response.json_body["data"]["thumbnailUrl"], timeout=10).content == png_bytes(4, 4)


def test_a_delete_while_the_bucket_is_unreachable_is_recorded_and_done_later(client, bucket, published):
    headers, video = published
    bucket.use(S3_ENDPOINT_URL="http://localhost:9")  # nothing listens there

    assert client.delete(f"/api/v2/videos/{video['id']}", headers=headers).status_code == 200

    pending = db.fetch_all("SELECT status, payload FROM jobs WHERE kind = 'delete_media'")
    assert [p["status"] for p in pending] == ["pending", "pending"]
    assert {p["payload"]["storage"] for p in pending} == {"s3"}
    assert len(bucket.keys()) == 2
    bucket.use(S3_ENDPOINT_URL=bucket.endpoint)
    db.execute("UPDATE jobs SET run_after = now()")
    jobs.run_pending()
    assert bucket.keys() == []


# ------------------------------------------------------------------------------ workers need no shared disk


def _scratch_left(home) -> list:
    """What is left in a home's scratch: anything but the (empty) folder each process keeps there for its work."""
    base = home / "scratch"
    return [entry for folder in base.iterdir() for entry in folder.iterdir()] if base.exists() else []


def test_with_hls_on_a_worker_that_never_saw_the_upload_makes_the_ladder_from_the_bucket(client, make_user, auth,
                                                                                        s3_bucket, tmp_path,
                                                                                        monkeypatch):
    api_home = get_settings().home
    api_node = node.node_id()
    headers = auth(make_user())
    body, form_headers = multipart({"title": "ladder", "description": "d"}, {
        "videoFile": ("v.mp4", video_bytes("mp4"), "video/mp4"), "thumbnail": ("t.jpg", jpeg_bytes(), "image/jpeg")})
    video_id = client.post("/api/v2/videos", body=body,
                           headers={**headers, **form_headers}).json_body["data"]["video"]["id"]
    assert db.fetch_all("SELECT kind, node FROM jobs") == [{"kind": "process_video", "node": None}]  # any node
    # Another machine: a home of its own, so another node id and nothing of the API's disk.
    store = s3_bucket.use(VIZTUBE_HOME=str(tmp_path / "worker-home"))
    worker_node = node.node_id()
    downloads = []
    real_copy = store.working_copy
    monkeypatch.setattr(store, "working_copy", lambda *a, **k: downloads.append(a) or real_copy(*a, **k))

    assert jobs.run_pending() == 2

    assert worker_node != api_node
    ran = db.fetch_all("SELECT kind, status, node, worker_node FROM jobs ORDER BY created_at")
    assert [(j["kind"], j["status"], j["node"]) for j in ran] == [("process_video", "done", None),
                                                                  ("transcode_hls", "done", None)]
    assert {j["worker_node"] for j in ran} == {worker_node}
    assert len(downloads) == 1  # probed and transcoded from one download
    s3_bucket.use(VIZTUBE_HOME=str(api_home))  # back to the API node (its secrets sign the owner's token)
    video = client.get(f"/api/v2/videos/{video_id}", headers=headers).json_body["data"]
    assert video["processingStatus"] == "COMPLETED" and video["processingError"] is None
    assert video["duration"] == pytest.approx(2.0, abs=0.1) and (video["width"], video["height"]) == (160, 120)
    stream = [k for k in s3_bucket.keys() if k.startswith(f"hls/{video_id}/")]
    master = next(k for k in stream if k.endswith("/master.m3u8"))
    assert any(k.endswith(".ts") for k in stream) and any(k.endswith("/poster.jpg") for k in stream)
    assert video["hlsUrl"] == _bucket_url(s3_bucket, master)
    playlist = requests.get(video["hlsUrl"], timeout=10)
    assert playlist.status_code == 200 and "#EXT-X-STREAM-INF" in playlist.text
    assert requests.get(video["posterUrl"], timeout=10).content[:3] == b"\xff\xd8\xff"
    assert _scratch_left(tmp_path / "worker-home") == [] and _scratch_left(api_home) == []

    assert client.delete(f"/api/v2/videos/{video_id}", headers=headers).status_code == 200

    assert s3_bucket.keys() == []
    assert db.fetch_value("SELECT count(*) FROM jobs WHERE node IS NOT NULL") == 0  # no job was ever pinned


def test_a_video_gone_from_the_bucket_fails_at_once_instead_of_waiting_for_a_node(client, make_user, auth,
                                                                                 s3_bucket):
    headers = auth(make_user())
    body, form_headers = multipart({"title": "gone", "description": "d"}, {
        "videoFile": ("v.mp4", video_bytes("mp4"), "video/mp4"), "thumbnail": ("t.jpg", jpeg_bytes(), "image/jpeg")})
    video = client.post("/api/v2/videos", body=body, headers={**headers, **form_headers}).json_body["data"]["video"]
    s3_bucket.client.delete_object(Bucket=s3_bucket.name, Key=video["videoFilePublicId"])

    jobs.run_pending()

    failed = client.get(f"/api/v2/videos/{video['id']}", headers=headers).json_body["data"]
    assert failed["processingStatus"] == "FAILED" and "missing" in failed["processingError"]
    assert db.fetch_value("SELECT attempts FROM jobs WHERE kind = 'transcode_hls'") == 1  # no retries
