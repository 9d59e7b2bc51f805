"""Resumable uploads over tus 1.0 (issue #13, point 2), through the Chalice test client: creation checked before
any byte, chunks at the recorded offset, checksums, termination, expiry, and registration of a finished upload
exactly like a direct upload's."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from shared import db
from shared.services.job_handlers import sweep_expired_uploads
from shared.settings import get_settings
from tests.conftest import jpeg_bytes, video_bytes

TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = {**TUS, "Content-Type": "application/offset+octet-stream"}


@pytest.fixture(params=["local", "s3"], autouse=True)
def bucket(request):
    """Every test with the local store (chunks in a file on this node's disk) and with S3 (chunks as the bucket's own
    multipart upload, on moto's server)."""
    return request.getfixturevalue("s3_bucket") if request.param == "s3" else None


def _stored(bucket, public_id: str) -> bytes:
    if bucket is None:
        return (get_settings().media_dir / public_id).read_bytes()
    return bucket.client.get_object(Bucket=bucket.name, Key=public_id)["Body"].read()


def _assembly_left(bucket) -> list:
    """What is left of unfinished uploads: chunk files on this node's disk, and the bucket's tail objects and
    multipart uploads."""
    resumable = get_settings().resumable_dir
    left = list(resumable.iterdir()) if resumable.exists() else []
    if bucket is not None:
        left += bucket.keys("tus/") + bucket.client.list_multipart_uploads(Bucket=bucket.name).get("Uploads", [])
    return left


def _meta(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def _create(client, headers, size, kind="video", filetype="video/mp4", filename="clip.mp4"):
    return client.post("/api/v2/uploads/tus", headers={**headers, **TUS, "Upload-Length": str(size),
                                                       "Upload-Metadata": _meta(kind=kind, filetype=filetype,
                                                                                filename=filename)})


def _path(response) -> str:
    return response.headers["Location"].split("testserver", 1)[1]


def _patch(client, headers, path, offset, data, **extra):
    return client.patch(path, body=data, headers={**headers, **CHUNK, "Upload-Offset": str(offset), **extra})


def _upload(client, headers, data, *, kind="video", filetype="video/mp4", chunk=1000):
    created = _create(client, headers, len(data), kind, filetype)
    assert created.status_code == 201, created.body
    path = _path(created)
    for offset in range(0, len(data), chunk):
        answer = _patch(client, headers, path, offset, data[offset:offset + chunk])
        assert answer.status_code == 204, answer.body
        assert answer.headers["Upload-Offset"] == str(min(offset + chunk, len(data)))
    return path.rsplit("/", 1)[1]


def test_a_video_sent_in_chunks_is_registered_like_a_direct_upload(client, make_user, auth, bucket):
    headers = auth(make_user())
    video, thumb = video_bytes("mp4"), jpeg_bytes()

    video_id = _upload(client, headers, video, chunk=max(1, len(video) // 7))
    thumb_id = _upload(client, headers, thumb, kind="thumbnail", filetype="image/jpeg", chunk=len(thumb))
    published = client.post("/api/v2/videos", headers={**headers, "Content-Type": "application/json"},
                            body=json.dumps({"title": "Resumed", "description": "in chunks",
                                             "videoUploadId": video_id, "thumbnailUploadId": thumb_id}))

    assert published.status_code == 200, published.body
    stored = published.json_body["data"]["video"]
    assert stored["duration"] > 0
    assert hashlib.sha256(_stored(bucket, stored["videoFilePublicId"])).digest() == hashlib.sha256(video).digest()
    assert _assembly_left(bucket) == []  # nothing of the assembly is left


def test_head_says_the_offset_length_and_metadata(client, make_user, auth):
    headers = auth(make_user())
    video = video_bytes("mp4")
    path = _path(_create(client, headers, len(video)))
    _patch(client, headers, path, 0, video[:500])

    head = client.head(path, headers={**headers, **TUS})

    assert head.status_code == 200
    assert (head.headers["Upload-Offset"], head.headers["Upload-Length"]) == ("500", str(len(video)))
    assert head.headers["Tus-Resumable"] == "1.0.0" and head.headers["Cache-Control"] == "no-store"
    assert "filename " + base64.b64encode(b"clip.mp4").decode() in head.headers["Upload-Metadata"]
    assert head.headers["Upload-Expires"].endswith("GMT")


def test_creation_is_refused_before_any_byte(client, make_user, auth):
    headers = auth(make_user())
    limit = get_settings().max_video_bytes

    too_big = _create(client, headers, limit + 1)
    wrong_type = _create(client, headers, 1000, filetype="application/pdf")
    wrong_kind = _create(client, headers, 1000, kind="avatar")
    no_length = client.post("/api/v2/uploads/tus", headers={**headers, **TUS})
    old_client = client.post("/api/v2/uploads/tus", headers={**headers, "Tus-Resumable": "0.2.2",
                                                             "Upload-Length": "10"})
    anonymous = client.post("/api/v2/uploads/tus", headers={**TUS, "Upload-Length": "10"})

    assert too_big.status_code == 413 and "100MB" in too_big.json_body["message"]
    assert wrong_type.status_code == 415
    assert wrong_kind.status_code == 400 and "kind" in wrong_kind.json_body["message"]
    assert no_length.status_code == 400 and "Upload-Length" in no_length.json_body["message"]
    assert old_client.status_code == 412 and old_client.headers["Tus-Version"] == "1.0.0"
    assert anonymous.status_code == 401 and anonymous.headers["Tus-Resumable"] == "1.0.0"
    assert db.fetch_value("SELECT count(*) FROM uploads") == 0


def test_a_chunk_at_the_wrong_offset_is_409_and_changes_nothing(client, make_user, auth):
    headers = auth(make_user())
    video = video_bytes("mp4")
    path = _path(_create(client, headers, len(video)))
    _patch(client, headers, path, 0, video[:100])

    ahead = _patch(client, headers, path, 200, video[200:300])
    behind = _patch(client, headers, path, 0, video[:100])

    assert (ahead.status_code, behind.status_code) == (409, 409)
    assert ahead.headers["Upload-Offset"] == "100"
    assert client.head(path, headers={**headers, **TUS}).headers["Upload-Offset"] == "100"


def test_a_chunk_whose_checksum_does_not_match_is_460_and_dropped(client, make_user, auth):
    headers = auth(make_user())
    video = video_bytes("mp4")
    path = _path(_create(client, headers, len(video)))
    right = base64.b64encode(hashlib.sha1(video[:400]).digest()).decode()
    wrong = base64.b64encode(hashlib.sha1(b"something else").digest()).decode()

    refused = _patch(client, headers, path, 0, video[:400], **{"Upload-Checksum": f"sha1 {wrong}"})
    unknown = _patch(client, headers, path, 0, video[:400], **{"Upload-Checksum": f"crc99 {right}"})
    taken = _patch(client, headers, path, 0, video[:400], **{"Upload-Checksum": f"sha1 {right}"})

    assert refused.status_code == 460 and refused.headers["Tus-Resumable"] == "1.0.0"
    assert unknown.status_code == 400
    assert taken.status_code == 204 and taken.headers["Upload-Offset"] == "400"


def test_bytes_that_are_not_what_was_declared_are_415_at_the_first_chunk(client, make_user, auth):
    headers = auth(make_user())
    path = _path(_create(client, headers, 5000))

    answer = _patch(client, headers, path, 0, b"%PDF-1.7 " + b"x" * 100)

    assert answer.status_code == 415
    assert client.head(path, headers={**headers, **TUS}).headers["Upload-Offset"] == "0"


def test_a_chunk_past_the_declared_length_is_413(client, make_user, auth):
    headers = auth(make_user())
    video = video_bytes("mp4")
    path = _path(_create(client, headers, 100))

    assert _patch(client, headers, path, 0, video[:101]).status_code == 413


def test_terminated_and_foreign_uploads_are_404(client, make_user, auth, bucket):
    owner, other = auth(make_user()), auth(make_user())
    video = video_bytes("mp4")
    path = _path(_create(client, owner, len(video)))
    _patch(client, owner, path, 0, video[:300])

    foreign = client.delete(path, headers={**other, **TUS})
    terminated = client.delete(path, headers={**owner, **TUS})

    assert (foreign.status_code, terminated.status_code) == (404, 204)
    assert client.head(path, headers={**owner, **TUS}).status_code == 404
    assert _patch(client, owner, path, 300, video[300:400]).status_code == 404
    assert _assembly_left(bucket) == []


def test_an_expired_upload_is_410_then_swept_with_its_chunks(client, make_user, auth, bucket):
    headers = auth(make_user())
    video = video_bytes("mp4")
    path = _path(_create(client, headers, len(video)))
    _patch(client, headers, path, 0, video[:300])
    db.execute("UPDATE uploads SET expires_at = now() - interval '1 second'")

    assert client.head(path, headers={**headers, **TUS}).status_code == 410
    assert _patch(client, headers, path, 300, video[300:400]).status_code == 410
    assert sweep_expired_uploads() == 1
    assert client.head(path, headers={**headers, **TUS}).status_code == 404
    assert _assembly_left(bucket) == []


def test_a_chunk_while_another_is_being_appended_is_423(client, make_user, auth):
    headers = auth(make_user())
    video = video_bytes("mp4")
    path = _path(_create(client, headers, len(video)))
    db.execute("UPDATE uploads SET patching_until = now() + interval '1 minute'")

    assert _patch(client, headers, path, 0, video[:100]).status_code == 423
    assert client.delete(path, headers={**headers, **TUS}).status_code == 423
    db.execute("UPDATE uploads SET patching_until = now() - interval '1 second'")  # its holder died
    assert _patch(client, headers, path, 0, video[:100]).status_code == 204
