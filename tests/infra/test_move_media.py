"""Moving an existing install (issue #13, point 4): `python -m infra.manage move-media --to s3` copies every stored
object of a local install into the bucket (moto's server), checks each copy, rewrites the rows, survives being cut
short, and does nothing the second time."""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest
import requests

from infra import manage
from shared import db, errors, jobs
from shared.storage.s3 import S3Storage
from tests.conftest import jpeg_bytes, media_files, multipart, png_bytes, register_form, video_bytes

ACCEPT = {"Accept": "*/*"}
CLIP = {"seconds": 2, "size": "320x240"}  # one rung (240p): quick to transcode


def _publish(client, headers, title: str, clip: bytes) -> str:
    body, form = multipart({"title": title, "description": "d"}, {
        "videoFile": ("v.mp4", clip, "video/mp4"), "thumbnail": ("t.jpg", jpeg_bytes(), "image/jpeg")})
    response = client.post("/api/v2/videos", body=body, headers={**headers, **form})
    assert response.status_code == 200, response.body
    return response.json_body["data"]["video"]["id"]


@pytest.fixture
def local_install(client, s3_bucket, auth) -> dict[str, Any]:
    """An install on local storage: a user with an avatar and a cover, two published videos and an unpublished one
    with their HLS output, and a fourth still PROCESSING (its jobs not run yet). The bucket is empty."""
    s3_bucket.use(STORAGE="local")
    body, headers = register_form(coverImage=("c.png", png_bytes(4, 4), "image/png"))
    registered = client.post("/api/v2/user/register", body=body, headers=headers)
    assert registered.status_code == 201, registered.body
    user = {**registered.json_body["data"], "password": "Passw0rdX"}
    owner = auth(user)
    clip = video_bytes("mp4", **CLIP)
    videos = [_publish(client, owner, f"v{i}", clip) for i in range(3)]
    assert client.patch(f"/api/v2/videos/toggle/publish/{videos[2]}", headers=owner).status_code == 200
    jobs.run_pending()
    processing = _publish(client, owner, "still processing", clip)
    rows = db.fetch_all("SELECT id, processing_status::text AS status, hls_master_public_id FROM videos ORDER BY title")
    assert [(r["status"], bool(r["hls_master_public_id"])) for r in rows] == [
        ("PROCESSING", False), ("COMPLETED", True), ("COMPLETED", True), ("COMPLETED", True)]
    assert s3_bucket.keys() == []
    return {"owner": owner, "user": user, "videos": videos, "processing": processing, "clip": clip,
            "local_files": media_files()}


def _move(capsys, *flags: str) -> tuple[int, str]:
    code = manage.main(["move-media", "--to", "s3", *flags])
    return code, capsys.readouterr().out


def _referenced_keys() -> set[str]:
    """Every bucket key a row refers to (a stream: its master playlist's generation folder, as a prefix)."""
    keys: set[str] = set()
    for row in db.fetch_all("SELECT video_file_public_id, thumbnail_public_id, hls_master_public_id,"
                            " poster_public_id FROM videos"):
        keys |= {row["video_file_public_id"], row["thumbnail_public_id"]}
        if row["hls_master_public_id"]:
            keys.add(row["hls_master_public_id"].rsplit("/", 1)[0] + "/")
    for row in db.fetch_all("SELECT avatar_public_id, cover_image_public_id FROM users"):
        keys |= {row["avatar_public_id"], row["cover_image_public_id"]}
    return keys


def _no_duplicates(bucket) -> None:
    """The bucket holds what the rows refer to and nothing else: one copy of each file, one generation per stream."""
    referenced = _referenced_keys()
    prefixes = {k for k in referenced if k.endswith("/")}
    for key in bucket.keys():
        assert key in referenced or any(key.startswith(p) for p in prefixes), f"unreferenced object {key}"
    assert {k for k in referenced if not k.endswith("/")} <= set(bucket.keys())


def _visibility(bucket, key: str) -> str:
    tags = bucket.client.get_object_tagging(Bucket=bucket.name, Key=key)["TagSet"]
    return {tag["Key"]: tag["Value"] for tag in tags}.get("visibility", "")


def _told_who_may_read(bucket) -> None:
    """Every copy is tagged as its video is (the bucket policy lets anyone read visibility=public only)."""
    for row in db.fetch_all("SELECT id, is_published, video_file_public_id, thumbnail_public_id,"
                            " hls_master_public_id FROM videos"):
        expected = "public" if row["is_published"] else "private"
        keys = [row["video_file_public_id"], row["thumbnail_public_id"]]
        if row["hls_master_public_id"]:
            keys += bucket.keys(row["hls_master_public_id"].rsplit("/", 1)[0] + "/")
        assert {key: _visibility(bucket, key) for key in keys} == dict.fromkeys(keys, expected), row["id"]
    for row in db.fetch_all("SELECT avatar_public_id, cover_image_public_id FROM users"):
        assert _visibility(bucket, row["avatar_public_id"]) != "private"
        assert _visibility(bucket, row["cover_image_public_id"]) != "private"


def _fetch(url: str, client) -> bytes:
    """A media URL as a client fetches it: the bucket's (or a presigned) URL over HTTP, our media route in-process."""
    if url.startswith("http://testserver/"):
        response = client.get(url.removeprefix("http://testserver"), headers=ACCEPT)
        assert response.status_code == 200, url
        return response.body
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, (url, response.text[:200])
    return response.content


def test_a_local_install_moves_to_the_bucket_and_is_served_from_it(client, s3_bucket, local_install, capsys):
    install = local_install
    dry_code, dry_out = _move(capsys, "--dry-run")
    assert dry_code == 0, dry_out
    assert "to copy: 13 objects" in dry_out and "rows to rewrite: 4 videos, 1 users" in dry_out, dry_out
    assert s3_bucket.keys() == [] and db.fetch_value("SELECT count(*) FROM media_moves") == 0
    assert db.fetch_value("SELECT count(*) FROM videos WHERE storage = 'local'") == 4

    code, out = _move(capsys)

    assert code == 0, out
    assert "copied and verified: 13 objects" in out and "rows rewritten: 4 videos, 1 users" in out, out
    assert "failed: 0" in out and "local files kept" in out
    rows = db.fetch_all("SELECT id, storage, media_node, video_file_url, thumbnail_url FROM videos")
    assert {(r["storage"], r["media_node"]) for r in rows} == {("s3", None)}
    bucket_url = f"http://viztube-media.localhost:{s3_bucket.endpoint.rsplit(':', 1)[1]}/"
    assert all(r["video_file_url"].startswith(bucket_url) and r["thumbnail_url"].startswith(bucket_url) for r in rows)
    _no_duplicates(s3_bucket)
    _told_who_may_read(s3_bucket)
    assert media_files() == install["local_files"]  # the local files are left as they were
    # The fourth video's processing job, pinned to this node while its file was here, may now run anywhere.
    assert db.fetch_value("SELECT count(*) FROM jobs WHERE status = 'pending' AND node IS NOT NULL") == 0

    # Every URL the API hands out is served from the bucket, with the very bytes that were uploaded.
    for video_id in install["videos"]:
        video = client.get(f"/api/v2/videos/{video_id}", headers=install["owner"]).json_body["data"]
        assert _fetch(video["videoFileUrl"], client) == install["clip"]
        assert _fetch(video["thumbnailUrl"], client) == jpeg_bytes()
        assert _fetch(video["posterUrl"], client)[:3] == b"\xff\xd8\xff"
        master = _fetch(video["hlsUrl"], client).decode()
        assert "#EXT-X-STREAM-INF" in master
    published = client.get(f"/api/v2/videos/{install['videos'][0]}", headers=install["owner"]).json_body["data"]
    assert published["hlsUrl"].startswith(bucket_url) and published["videoFileUrl"].startswith(bucket_url)
    rendition = published["hlsUrl"].rsplit("/", 1)[0] + "/" + next(
        line for line in _fetch(published["hlsUrl"], client).decode().splitlines() if line.endswith(".m3u8"))
    segment = next(line for line in _fetch(rendition, client).decode().splitlines() if line.endswith(".ts"))
    assert len(_fetch(rendition.rsplit("/", 1)[0] + "/" + segment, client)) > 1000
    private = client.get(f"/api/v2/videos/{install['videos'][2]}", headers=install["owner"]).json_body["data"]
    assert "X-Amz-Signature=" in private["videoFileUrl"] and "signature=" in private["hlsUrl"]
    me = client.get("/api/v2/user/current-user-details", headers=install["owner"]).json_body["data"]
    assert me["avatar"].startswith(bucket_url) and me["coverImage"].startswith(bucket_url)
    assert _fetch(me["avatar"], client) == png_bytes() and _fetch(me["coverImage"], client) == png_bytes(4, 4)

    again, out = _move(capsys)  # a second run: nothing left to do

    assert again == 0, out
    assert "copied and verified: 0 objects" in out and "rows rewritten: 0 videos, 0 users" in out, out
    _no_duplicates(s3_bucket)


def test_a_move_cut_short_twice_completes_on_the_next_run_without_duplicates(client, s3_bucket, local_install,
                                                                            capsys, monkeypatch):
    real_save, saves = S3Storage.save, []

    def save_failing_on_the_third(self, path, **how):
        saves.append(how["kind"])
        if len(saves) == 3:
            raise errors.StorageFailed(f"Error uploading {how['kind']}")  # the bucket refused this one
        return real_save(self, path, **how)

    monkeypatch.setattr(S3Storage, "save", save_failing_on_the_third)
    code, out = _move(capsys)

    assert code == 1 and "failed: 1" in out and "could not store" in out, out
    assert db.fetch_value("SELECT count(*) FROM videos WHERE storage = 'local'") == 1
    monkeypatch.setattr(S3Storage, "save", real_save)

    # Killed while checking a copy it had stored and recorded (KeyboardInterrupt: Ctrl-C, or any abrupt end).
    real_open, reads = urllib.request.urlopen, []

    def killed_on_the_second_read_back(url, *args, **kwargs):
        reads.append(url)
        if len(reads) == 2:
            raise KeyboardInterrupt
        return real_open(url, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", killed_on_the_second_read_back)
    with pytest.raises(KeyboardInterrupt):
        _move(capsys)
    capsys.readouterr()
    assert db.fetch_value("SELECT count(*) FROM media_moves WHERE status = 'copied'") == 1
    monkeypatch.setattr(urllib.request, "urlopen", real_open)
    # Meanwhile its owner unpublishes the video whose file was copied (and made readable by anyone) by the run before.
    assert db.execute("UPDATE videos SET is_published = false WHERE storage = 'local'") == 1

    code, out = _move(capsys)

    assert code == 0, out
    assert "rows rewritten: 1 videos, 0 users" in out and "failed: 0" in out, out
    assert db.fetch_value("SELECT count(*) FROM videos WHERE storage = 'local'") == 0
    assert db.fetch_value("SELECT count(*) FROM media_moves WHERE status <> 'verified'") == 0
    assert db.fetch_value("SELECT count(*) FROM media_moves") == 13
    _no_duplicates(s3_bucket)
    _told_who_may_read(s3_bucket)
    for video_id in local_install["videos"]:
        video = client.get(f"/api/v2/videos/{video_id}", headers=local_install["owner"]).json_body["data"]
        assert _fetch(video["videoFileUrl"], client) == local_install["clip"]

    code, out = _move(capsys)
    assert code == 0 and "copied and verified: 0 objects" in out and "rows rewritten: 0 videos, 0 users" in out


def test_delete_local_removes_each_file_once_its_rows_point_at_the_copy(client, s3_bucket, local_install, capsys):
    code, out = _move(capsys, "--delete-local")

    assert code == 0, out
    assert "local files removed: 13" in out, out
    assert media_files() == []
    _no_duplicates(s3_bucket)
    video = client.get(f"/api/v2/videos/{local_install['videos'][1]}", headers=local_install["owner"]).json_body["data"]
    assert _fetch(video["videoFileUrl"], client) == local_install["clip"]


def test_a_copy_that_does_not_read_back_identical_is_removed_and_the_row_left_local(client, s3_bucket, local_install,
                                                                                    capsys, monkeypatch):
    real_save = S3Storage.save

    def corrupting_save(self, path, **how):
        stored = real_save(self, path, **how)
        if how["kind"] == "avatar":  # the bucket "keeps" other bytes than were sent
            self._s3.put_object(Bucket=self.bucket, Key=stored.public_id, Body=b"not the avatar")
        return stored

    monkeypatch.setattr(S3Storage, "save", corrupting_save)
    code, out = _move(capsys)

    assert code == 1 and "failed its check" in out, out
    avatar = db.fetch_value("SELECT avatar_public_id FROM users")
    assert avatar.startswith("avatars/") and not any(k.startswith("avatars/") for k in s3_bucket.keys())
    assert db.fetch_value("SELECT avatar FROM users").startswith("http://testserver/api/v2/media/")
    assert db.fetch_value("SELECT count(*) FROM media_moves WHERE kind = 'avatar'") == 0


def test_the_move_refuses_a_target_that_is_this_nodes_disk(capsys, monkeypatch):
    from shared.services.media_move import MoveRefused, move_media

    monkeypatch.setenv("STORAGE", "local")  # restored after the test: the command sets STORAGE for its target
    with pytest.raises(MoveRefused):
        move_media()  # STORAGE=local: nothing to move to
    monkeypatch.delenv("S3_BUCKET", raising=False)
    code, out = _move(capsys)
    assert code == 2 and "S3_BUCKET" in out

