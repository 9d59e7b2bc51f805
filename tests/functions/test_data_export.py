"""Data export (issue #16, point 7): a job zips the user's data and original media into storage, the user gets an
expiring signed link (mail + notification), one export at a time, size-capped, removed after 48 h."""

import datetime as dt
import io
import json
import zipfile
from email import message_from_bytes, policy
from urllib.parse import parse_qs, urlsplit

import pytest

from shared import db, jobs
from shared.services import data_export, job_handlers
from shared.settings import reset_settings
from shared.storage import get_storage
from tests.conftest import TEST_HOME
from tests.functions.test_account_deletion import _comment, _file, _stored, _video_with_media

BASE = "/api/v2/user"
JSON = {"Content-Type": "application/json"}


def _request(client, headers):
    return client.post(f"{BASE}/export", body="{}", headers={**JSON, **headers})


def _status(client, headers, export_id):
    return client.get(f"{BASE}/export/{export_id}", headers=headers)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _download(client, url):
    """Follow the signed link: a redirect to the store's own signed URL, then the zip."""
    redirect = client.get(_path(url))
    assert redirect.status_code == 302, redirect.json_body
    zipped = client.get(_path(redirect.headers["Location"]))
    assert zipped.status_code == 200
    return zipfile.ZipFile(io.BytesIO(zipped.body))


@pytest.fixture
def ada(make_user, make_video):
    ada, bob = make_user(username="ada"), make_user(username="bob")
    avatar = _stored("avatar", "image/png", b"\x89PNG\r\n\x1a\n" + b"a" * 64)
    db.execute("UPDATE users SET avatar_public_id = :pid WHERE id = :id", pid=avatar.public_id, id=ada["id"])
    video = _video_with_media(ada, title="my clip")
    bobs = make_video(bob, title="bob's clip")
    _comment(ada, bobs["id"], "nice one")
    db.execute("INSERT INTO tweets (user_id, content) VALUES (:u, 'first post')", u=ada["id"])
    db.execute("INSERT INTO likes (user_id, video_id) VALUES (:u, :v)", u=ada["id"], v=bobs["id"])
    db.execute("INSERT INTO subscriptions (subscriber_id, channel_id) VALUES (:a, :b)", a=ada["id"], b=bob["id"])
    playlist = db.fetch_value("INSERT INTO playlists (user_id, name) VALUES (:u, 'faves') RETURNING id", u=ada["id"])
    db.execute("INSERT INTO playlist_videos (playlist_id, video_id) VALUES (:p, :v)", p=playlist, v=bobs["id"])
    db.execute("INSERT INTO watch_history (user_id, video_id) VALUES (:u, :v)", u=ada["id"], v=bobs["id"])
    return {**ada, "video": video, "bobs": bobs, "bob": bob, "avatar": avatar}


def _mails_to(address):
    found = []
    for path in sorted((TEST_HOME / "mail").glob("*.eml")):
        mail = message_from_bytes(path.read_bytes(), policy=policy.default)
        if mail["To"] == address:
            found.append(mail)
    return found


def test_the_zip_holds_the_data_and_the_original_media(client, ada, auth):
    headers = auth(ada)

    requested = _request(client, headers)
    export_id = requested.json_body["data"]["exportId"]
    pending = _status(client, headers, export_id).json_body["data"]
    jobs.run_pending()
    ready = _status(client, headers, export_id).json_body["data"]

    assert requested.status_code == 202
    assert pending == {"state": "pending", "url": None, "expiresAt": None}
    assert ready["state"] == "ready"
    expires = dt.datetime.fromisoformat(ready["expiresAt"].replace("Z", "+00:00"))
    assert abs((expires - dt.datetime.now(dt.UTC)) - dt.timedelta(hours=48)) < dt.timedelta(minutes=1)
    archive = _download(client, ready["url"])
    names = set(archive.namelist())
    assert {"profile.json", "videos.json", "comments.json", "posts.json", "playlists.json", "history.json",
            "likes.json", "subscriptions.json", "manifest.json"} <= names
    video_id = str(ada["video"]["id"])
    assert archive.read(f"media/videos/{video_id}.mp4") == _file(ada["video"]["video_file_public_id"]).read_bytes()
    assert archive.read(f"media/thumbnails/{video_id}.png") == _file(
        ada["video"]["thumbnail_public_id"]).read_bytes()
    assert archive.read("media/avatar.png") == _file(ada["avatar"].public_id).read_bytes()
    data = {name: json.loads(archive.read(name)) for name in names if name.endswith(".json")}
    assert data["profile.json"]["username"] == "ada" and data["profile.json"]["email"] == ada["email"]
    assert [v["title"] for v in data["videos.json"]] == ["my clip"]
    assert [c["content"] for c in data["comments.json"]] == ["nice one"]
    assert [p["content"] for p in data["posts.json"]] == ["first post"]
    assert data["playlists.json"][0]["name"] == "faves"
    assert data["playlists.json"][0]["videos"][0]["title"] == "bob's clip"
    assert [h["title"] for h in data["history.json"]] == ["bob's clip"]
    assert data["likes.json"][0]["target"] == "video"
    assert [s["username"] for s in data["subscriptions.json"]] == ["bob"]
    assert data["manifest.json"]["omittedMedia"] == []
    # Announced: a mail with the link, and a notification.
    [mail] = _mails_to(ada["email"])
    assert ready["url"] in mail.get_body(("plain",)).get_content()
    assert db.fetch_value("SELECT count(*) FROM notifications WHERE recipient_id = :u AND type = 'export.ready'"
                          " AND export_id = :e", u=ada["id"], e=export_id) == 1
    assert not list((TEST_HOME / "scratch").glob("export-*"))  # the temporary zip is gone


def test_one_export_at_a_time(client, ada, auth):
    headers = auth(ada)

    first = _request(client, headers).json_body["data"]["exportId"]
    second = _request(client, headers)
    queued = db.fetch_value("SELECT count(*) FROM jobs WHERE kind = 'build_data_export'")
    jobs.run_pending()
    after_ready = _request(client, headers).json_body["data"]["exportId"]

    assert second.status_code == 202 and second.json_body["data"]["exportId"] == first
    assert second.json_body["message"] == "An export is already being prepared"
    assert queued == 1
    assert after_ready != first


def test_another_users_export_is_not_found(client, ada, auth):
    export_id = _request(client, auth(ada)).json_body["data"]["exportId"]

    assert _status(client, auth(ada["bob"]), export_id).status_code == 404
    assert _status(client, auth(ada), "not-an-id").status_code == 400
    assert _status(client, auth(ada), "00000000-0000-7000-8000-000000000000").status_code == 404


def test_a_tampered_or_expired_link_is_refused(client, ada, auth):
    headers = auth(ada)
    export_id = _request(client, headers).json_body["data"]["exportId"]
    jobs.run_pending()
    url = _status(client, headers, export_id).json_body["data"]["url"]
    query = parse_qs(urlsplit(url).query)
    base = urlsplit(url).path
    expires, signature = query["expires"][0], query["signature"][0]
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")

    assert client.get(f"{base}?expires={expires}&signature={flipped}").status_code == 403
    assert client.get(f"{base}?expires={int(expires) + 3600}&signature={signature}").status_code == 403
    assert client.get(f"{base}?expires={expires}").status_code == 403
    # Non-ASCII signatures and digits that are not ASCII digits are refused, not a server error.
    assert client.get(f"{base}?expires={expires}&signature=%C3%A5%C3%88c%1C").status_code == 403
    assert client.get(f"{base}?expires=%C2%B2&signature={signature}").status_code == 403
    other = "00000000-0000-7000-8000-000000000000"
    assert client.get(f"{base.replace(export_id, other)}?expires={expires}&signature={signature}").status_code == 403
    # The zip itself is never public: only through the store's signed URL the link redirects to.
    row = db.fetch_one("SELECT public_id FROM data_exports WHERE id = :id", id=export_id)
    assert client.get(f"/api/v2/media/{row['public_id']}").status_code == 404
    # Past its expiry the link is refused, and the status says so.
    db.execute("UPDATE data_exports SET expires_at = now() - interval '1 second' WHERE id = :id", id=export_id)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    assert client.get(_path(data_export.download_link(export_id, past))).status_code == 410
    assert client.get(_path(url)).status_code == 410  # a genuine link whose export expired early
    assert _status(client, headers, export_id).json_body["data"] == {"state": "expired", "url": None,
                                                                     "expiresAt": None}


def test_removed_after_48_hours_by_the_housekeeping_sweep(client, ada, auth):
    headers = auth(ada)
    export_id = _request(client, headers).json_body["data"]["exportId"]
    jobs.run_pending()
    row = db.fetch_one("SELECT public_id FROM data_exports WHERE id = :id", id=export_id)
    zipped = _file(row["public_id"])
    assert zipped.is_file()

    assert data_export.sweep_expired() == 0  # 48 h are not over
    db.execute("UPDATE data_exports SET ready_at = ready_at - interval '48 hours',"
               " expires_at = expires_at - interval '48 hours' WHERE id = :id", id=export_id)
    data_export.PACE.reset()
    job_handlers.periodic()  # what the worker and the serverless schedule run on each pass
    jobs.run_pending()

    assert db.fetch_value("SELECT count(*) FROM data_exports") == 0
    assert not zipped.exists()
    assert _status(client, headers, export_id).status_code == 404


def test_media_past_the_size_cap_are_left_out_and_listed(client, ada, auth, monkeypatch):
    monkeypatch.setenv("MAX_EXPORT_BYTES", "4000")  # the data fits, the video (2 KB) fits, the rest does not
    reset_settings()
    headers = auth(ada)
    export_id = _request(client, headers).json_body["data"]["exportId"]
    jobs.run_pending()

    archive = _download(client, _status(client, headers, export_id).json_body["data"]["url"])
    manifest = json.loads(archive.read("manifest.json"))

    media = [n for n in archive.namelist() if n.startswith("media/")]
    assert sum(archive.getinfo(n).file_size for n in media) <= 4000
    assert manifest["omittedMedia"] and all("size cap" in m["reason"] for m in manifest["omittedMedia"])
    assert {m["file"] for m in manifest["omittedMedia"]} | set(media) == {
        f"media/videos/{ada['video']['id']}.mp4", f"media/thumbnails/{ada['video']['id']}.png", "media/avatar.png"}
    assert "profile.json" in archive.namelist()


def test_a_build_that_gives_up_says_failed(client, ada, auth, monkeypatch):
    headers = auth(ada)
    export_id = _request(client, headers).json_body["data"]["exportId"]
    db.execute("UPDATE jobs SET max_attempts = 1 WHERE kind = 'build_data_export'")

    def broken(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(data_export, "_write_zip", broken)
    jobs.run_pending()

    assert _status(client, headers, export_id).json_body["data"]["state"] == "failed"
    assert not list((TEST_HOME / "scratch").glob("export-*"))
    assert _request(client, headers).json_body["data"]["exportId"] != export_id  # a new one may be asked for


def test_deleting_the_account_removes_its_exports(client, ada, auth):
    headers = auth(ada)
    export_id = _request(client, headers).json_body["data"]["exportId"]
    jobs.run_pending()
    zipped = _file(db.fetch_value("SELECT public_id FROM data_exports WHERE id = :id", id=export_id))

    response = client.delete(f"{BASE}/me", body=json.dumps({"password": ada["password"]}),
                             headers={**JSON, **headers})
    jobs.run_pending()

    assert response.status_code == 200
    assert not zipped.exists()


def test_an_export_finished_after_its_account_was_deleted_leaves_no_zip(client, ada, auth, monkeypatch):
    _request(client, auth(ada))
    stored = []
    real_finish = data_export._finish

    def finish_after_deletion(export_id, user_id, storage, zipped):
        stored.append(zipped)
        db.execute("DELETE FROM users WHERE id = :id", id=user_id)  # the account goes while the zip was uploaded
        real_finish(export_id, user_id, storage, zipped)

    monkeypatch.setattr(data_export, "_finish", finish_after_deletion)
    jobs.run_pending()

    [zipped] = stored
    assert get_storage().disk_file(zipped.public_id) is not None
    assert not _file(zipped.public_id).exists()


def test_with_an_object_store_the_zip_is_private_and_reached_through_its_signed_link(client, make_user, auth,
                                                                                    s3_bucket):
    import requests

    ada = make_user()
    video = _video_with_media(ada)
    original = requests.get(get_storage().url_for(video["video_file_public_id"], resource_type="video",
                                                  private=True), timeout=10).content
    headers = auth(ada)
    export_id = _request(client, headers).json_body["data"]["exportId"]
    jobs.run_pending()
    url = _status(client, headers, export_id).json_body["data"]["url"]
    key = db.fetch_value("SELECT public_id FROM data_exports WHERE id = :id", id=export_id)

    redirect = client.get(_path(url))
    fetched = requests.get(redirect.headers["Location"], timeout=10)

    assert key.startswith("exports/") and key.endswith(".zip") and s3_bucket.keys("exports/") == [key]
    assert redirect.status_code == 302 and fetched.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(fetched.content))
    assert archive.read(f"media/videos/{video['id']}.mp4") == original
    plain = get_storage().url_for(key, resource_type="raw", private=False)
    assert requests.get(plain, timeout=10).status_code == 403  # never readable without the signature
    db.execute("UPDATE data_exports SET expires_at = now() WHERE id = :id", id=export_id)
    data_export.sweep_expired()
    jobs.run_pending()
    assert s3_bucket.keys("exports/") == []


def test_concurrent_requests_share_one_export(make_user):
    import threading

    from shared.auth import CurrentUser

    ada = make_user()
    caller = CurrentUser(id=ada["id"], session_id=ada["id"], profile={})
    answers: list[object] = []
    start = threading.Barrier(4)

    def request():
        start.wait()
        answers.append(data_export.request_export(caller)[0])

    threads = [threading.Thread(target=request) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert len(answers) == 4 and len(set(answers)) == 1
    assert db.fetch_value("SELECT count(*) FROM jobs WHERE kind = 'build_data_export'") == 1
