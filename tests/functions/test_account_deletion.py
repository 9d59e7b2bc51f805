"""Deleting one's account (issue #16, point 6): everything it owns goes (its media through recorded jobs), counters
stay right, others' threads stay readable, the username is free at once, tokens stop at once, a failure midway
leaves everything in place, and an account with two-factor sign-in needs its code."""

import datetime as dt
import json
import tempfile
from pathlib import Path

import pyotp
import pytest

from shared import db, errors, jobs
from shared.services import two_factor
from shared.sql import account_deletion as deletion_sql
from shared.storage import get_storage
from tests.conftest import multipart, png_bytes, register_form

JSON = {"Content-Type": "application/json"}
BASE = "/api/v2/user"


def _delete(client, headers, body):
    return client.delete(f"{BASE}/me", body=json.dumps(body), headers={**JSON, **headers})


def _stored(kind: str, mime: str, content: bytes):
    """A real file in the configured store, as an upload would have left it."""
    with tempfile.NamedTemporaryFile(delete=False) as handle:
        handle.write(content)
    try:
        return get_storage().save(Path(handle.name), kind=kind, mime=mime, private=False)
    finally:
        Path(handle.name).unlink()


def _video_with_media(owner, title="clip"):
    video = _stored("video", "video/mp4", b"\x00\x00\x00\x18ftypmp42" + b"v" * 2048)
    thumb = _stored("thumbnail", "image/png", png_bytes())
    row = db.fetch_one(
        "INSERT INTO videos (user_id, title, description, video_file_url, video_file_public_id, thumbnail_url,"
        " thumbnail_public_id, duration, storage) VALUES (:uid, :title, 'd', :vurl, :vpid, :turl, :tpid, 2, :store)"
        " RETURNING id, video_file_public_id, thumbnail_public_id",
        uid=owner["id"], title=title, vurl=video.url, vpid=video.public_id, turl=thumb.url, tpid=thumb.public_id,
        store=get_storage().name)
    return row


def _file(public_id: str) -> Path:
    found = get_storage().disk_file(public_id)
    assert found is not None
    return found.path


def _comment(author, video_id, content, parent_id=None):
    row = db.fetch_one("INSERT INTO comments (user_id, video_id, content, parent_id) VALUES (:u, :v, :c, :p)"
                       " RETURNING id", u=author["id"], v=video_id, c=content, p=parent_id)
    if parent_id is not None:
        db.execute("UPDATE comments SET replies_count = replies_count + 1 WHERE id = :id", id=parent_id)
    return row["id"]


def _owned_rows(user_id) -> dict[str, int]:
    counts = {}
    for table, column in [("users", "id"), ("videos", "user_id"), ("comments", "user_id"), ("tweets", "user_id"),
                          ("likes", "user_id"), ("subscriptions", "subscriber_id"), ("subscriptions", "channel_id"),
                          ("playlists", "user_id"), ("watch_history", "user_id"), ("sessions", "user_id"),
                          ("account_tokens", "user_id"), ("two_factor", "user_id"), ("data_exports", "user_id")]:
        counts[f"{table}.{column}"] = db.fetch_value(f"SELECT count(*) FROM {table} WHERE {column} = :id", id=user_id)
    return counts


@pytest.fixture
def world(make_user, make_video):
    """Ada owns a channel with media and takes part in Bob's; Bob takes part in hers."""
    ada, bob = make_user(username="ada"), make_user(username="bob")
    avatar = _stored("avatar", "image/png", png_bytes())
    db.execute("UPDATE users SET avatar = :url, avatar_public_id = :pid WHERE id = :id", url=avatar.url,
               pid=avatar.public_id, id=ada["id"])
    ada_video = _video_with_media(ada)
    bob_video = make_video(bob, title="bobs")
    db.execute("INSERT INTO tweets (user_id, content) VALUES (:u, 'hello')", u=ada["id"])
    db.execute("INSERT INTO likes (user_id, video_id) VALUES (:u, :v)", u=ada["id"], v=bob_video["id"])
    db.execute("INSERT INTO likes (user_id, video_id) VALUES (:u, :v)", u=bob["id"], v=ada_video["id"])
    db.execute("INSERT INTO subscriptions (subscriber_id, channel_id) VALUES (:a, :b), (:b, :a)", a=ada["id"],
               b=bob["id"])
    playlist = db.fetch_value("INSERT INTO playlists (user_id, name) VALUES (:u, 'mine') RETURNING id", u=ada["id"])
    db.execute("INSERT INTO playlist_videos (playlist_id, video_id) VALUES (:p, :v)", p=playlist, v=bob_video["id"])
    bob_playlist = db.fetch_value("INSERT INTO playlists (user_id, name) VALUES (:u, 'bobs') RETURNING id",
                                  u=bob["id"])
    db.execute("INSERT INTO playlist_videos (playlist_id, video_id) VALUES (:p, :v)", p=bob_playlist,
               v=ada_video["id"])
    db.execute("INSERT INTO watch_history (user_id, video_id) VALUES (:u, :v)", u=ada["id"], v=bob_video["id"])
    # Threads on Bob's video: Ada's comment Bob answered, Ada's comment nobody answered, Ada's reply to Bob.
    answered = _comment(ada, bob_video["id"], "ada asks")
    bob_answer = _comment(bob, bob_video["id"], "bob answers", parent_id=answered)
    _comment(ada, bob_video["id"], "ada alone")
    bobs_thread = _comment(bob, bob_video["id"], "bob says")
    _comment(ada, bob_video["id"], "ada replies", parent_id=bobs_thread)
    _comment(bob, bob_video["id"], "bob too", parent_id=bobs_thread)
    _comment(bob, ada_video["id"], "bob on ada's video")
    return {"ada": ada, "bob": bob, "ada_video": ada_video, "bob_video": bob_video, "avatar": avatar,
            "answered": answered, "bob_answer": bob_answer, "bobs_thread": bobs_thread, "bob_playlist": bob_playlist}


def test_everything_the_account_owns_goes_and_its_media_through_recorded_jobs(client, world, auth, sign_in):
    ada, bob = world["ada"], world["bob"]
    headers, other_device = auth(ada), auth(ada)
    files = [_file(world["ada_video"]["video_file_public_id"]), _file(world["ada_video"]["thumbnail_public_id"]),
             _file(world["avatar"].public_id)]
    assert all(f.is_file() for f in files)
    bob_before = _owned_rows(bob["id"])

    response = _delete(client, headers, {"password": ada["password"]})

    assert response.status_code == 200, response.json_body
    cleared = response.headers.get("Set-Cookie")
    cleared = cleared if isinstance(cleared, list) else [cleared]
    assert any(c.startswith("accessToken=;") for c in cleared) and any(c.startswith("refreshToken=;") for c in cleared)
    assert set(_owned_rows(ada["id"]).values()) == {0}
    doomed = db.fetch_all("SELECT payload FROM jobs WHERE kind = 'delete_media' AND status = 'pending'")
    assert sorted(j["payload"]["public_id"] for j in doomed) == sorted(
        [world["ada_video"]["video_file_public_id"], world["ada_video"]["thumbnail_public_id"],
         world["avatar"].public_id])
    assert all(f.is_file() for f in files)  # recorded, not yet run: the worker removes them
    jobs.run_pending()
    assert not any(f.exists() for f in files)
    # Both of the account's sessions are refused at once, whatever any cache held.
    for token in (headers, other_device):
        assert client.get(f"{BASE}/current-user-details", headers=token).status_code == 401
    # Bob keeps his own things; what of his hung on Ada's (his like, comment, playlist entry of her video) went.
    bob_after = _owned_rows(bob["id"])
    assert bob_after["videos.user_id"] == bob_before["videos.user_id"] == 1
    assert bob_after["likes.user_id"] == 0 and bob_after["subscriptions.subscriber_id"] == 0
    assert bob_after["comments.user_id"] == bob_before["comments.user_id"] - 1  # his comment on Ada's video
    assert db.fetch_value("SELECT count(*) FROM playlist_videos WHERE playlist_id = :p",
                          p=world["bob_playlist"]) == 0


def test_counters_stay_right(client, world, auth):
    ada, bob = world["ada"], world["bob"]
    channel = client.get(f"{BASE}/c/bob", headers=auth(bob)).json_body["data"]  # cached now
    assert channel["subscriberCount"] == 1 and channel["channelsSubscribedToCount"] == 1
    published_before = db.fetch_value("SELECT value FROM counters WHERE name = 'published_videos'")

    assert _delete(client, auth(ada), {"password": ada["password"]}).status_code == 200

    channel = client.get(f"{BASE}/c/bob", headers=auth(bob)).json_body["data"]
    assert channel["subscriberCount"] == 0 and channel["channelsSubscribedToCount"] == 0
    published = db.fetch_value("SELECT value FROM counters WHERE name = 'published_videos'")
    assert published == published_before - 1 == db.fetch_value("SELECT count(*) FROM videos WHERE is_published")
    video = client.get(f"/api/v2/videos/{world['bob_video']['id']}", headers=auth(bob)).json_body["data"]
    assert video["likesCount"] == 0
    thread = db.fetch_one("SELECT replies_count, held_replies_count FROM comments WHERE id = :id",
                          id=world["bobs_thread"])
    assert thread == {"replies_count": 1, "held_replies_count": 0}  # Ada's reply uncounted, Bob's stays


def test_others_threads_stay_readable_as_a_deleted_comment(client, world, auth, make_user):
    ada, bob = world["ada"], world["bob"]
    carol = make_user(username="carol")
    # Carol deleted her own comment, which lived on through Ada's reply alone: with Ada's reply, the thread goes.
    carols = _comment(carol, world["bob_video"]["id"], "carol")
    _comment(ada, world["bob_video"]["id"], "ada keeps carol's thread alive", parent_id=carols)
    db.execute("UPDATE comments SET deleted_at = now(), content = '' WHERE id = :id", id=carols)

    assert _delete(client, auth(ada), {"password": ada["password"]}).status_code == 200

    headers = auth(bob)
    listed = client.get(f"/api/v2/comments/{world['bob_video']['id']}", headers=headers).json_body["data"]
    threads = {c["id"]: c for c in listed}
    kept = threads[str(world["answered"])]
    assert kept["isDeleted"] is True and kept["content"] == "[deleted]" and kept["userId"] is None
    assert kept["user"]["username"] == "[deleted]" and kept["repliesCount"] == 1
    assert str(carols) not in threads
    assert db.fetch_value("SELECT count(*) FROM comments WHERE id = :id", id=carols) == 0  # not left behind either
    assert {c["content"] for c in threads.values()} == {"[deleted]", "bob says"}  # "ada alone" went
    replies = client.get(f"/api/v2/comments/c/{world['answered']}/replies", headers=headers)
    assert replies.status_code == 200
    assert [r["content"] for r in replies.json_body["data"]] == ["bob answers"]
    # Bob deleting his answer now removes the orphaned thread, as for any deleted comment's last reply.
    assert client.delete(f"/api/v2/comments/c/{world['bob_answer']}", headers=headers).status_code == 200
    assert db.fetch_value("SELECT count(*) FROM comments WHERE id = :id", id=world["answered"]) == 0


def test_the_username_and_email_can_be_registered_again_at_once(client, make_user, auth):
    ada = make_user(username="ada", email="ada@example.com")

    assert _delete(client, auth(ada), {"password": ada["password"]}).status_code == 200
    body, headers = register_form()
    again = client.post(f"{BASE}/register", body=body, headers=headers)

    assert again.status_code == 201, again.json_body
    assert again.json_body["data"]["username"] == "ada"
    assert again.json_body["data"]["id"] != str(ada["id"])


def test_a_wrong_password_deletes_nothing(client, world, auth):
    ada = world["ada"]
    before = _owned_rows(ada["id"])

    response = _delete(client, auth(ada), {"password": "Wrong1234"})

    assert response.status_code == 403 and response.json_body["message"] == "Invalid password"
    assert _owned_rows(ada["id"])["users.id"] == 1
    assert {k: v for k, v in _owned_rows(ada["id"]).items() if k != "sessions.user_id"} == {
        k: v for k, v in before.items() if k != "sessions.user_id"}


@pytest.mark.parametrize("body, status, problem", [
    ({}, 422, "password is required"),
    ({"password": 12345678}, 422, None),
    ({"password": "a\x00b"}, 400, "field 'password': contains a NUL character"),
    ({"password": "x" * 10_000}, 422, "password must be at most 72 characters"),
    ({"password": "Passw0rdX", "code": "9" * 1000}, 422, "code must be at most 64 characters"),
])
def test_bad_input_is_a_clear_4xx(client, make_user, auth, body, status, problem):
    ada = make_user()

    response = _delete(client, auth(ada), body)

    assert response.status_code == status, response.json_body
    if problem:
        assert problem in response.json_body["errors"]
    assert db.fetch_value("SELECT count(*) FROM users WHERE id = :id", id=ada["id"]) == 1


def test_signed_out_callers_are_refused(client):
    assert client.delete(f"{BASE}/me", body=json.dumps({"password": "x"}), headers=JSON).status_code == 401


def test_a_failure_midway_leaves_everything_in_place(client, world, auth, monkeypatch):
    ada = world["ada"]
    before = _owned_rows(ada["id"])
    comments_before = db.fetch_all("SELECT id, user_id, content, replies_count, deleted_at FROM comments ORDER BY id")
    jobs_before = db.fetch_value("SELECT count(*) FROM jobs")

    def outage(**_):
        raise errors.ServiceUnavailable("Database unavailable")

    # The last step fails, after the comments were rewritten and the media deletions recorded.
    monkeypatch.setattr(deletion_sql, "delete_account", outage)
    response = _delete(client, auth(ada), {"password": ada["password"]})

    assert response.status_code == 503
    assert {k: v for k, v in _owned_rows(ada["id"]).items() if k != "sessions.user_id"} == {
        k: v for k, v in before.items() if k != "sessions.user_id"}
    assert db.fetch_all("SELECT id, user_id, content, replies_count, deleted_at FROM comments ORDER BY id") == \
        comments_before
    assert db.fetch_value("SELECT count(*) FROM jobs") == jobs_before  # no media deletion recorded
    jobs.run_pending()
    assert _file(world["ada_video"]["video_file_public_id"]).is_file()
    monkeypatch.undo()
    assert _delete(client, auth(ada), {"password": ada["password"]}).status_code == 200


def test_an_account_with_two_factor_needs_its_code(client, make_user, auth, monkeypatch):
    now = [dt.datetime.now(dt.UTC)]
    monkeypatch.setattr(two_factor, "_now", lambda: now[0])
    ada = make_user()
    headers = auth(ada)
    post = lambda path, body: client.post(f"{BASE}{path}", body=json.dumps(body), headers={**JSON, **headers})  # noqa: E731
    secret = post("/2fa/enroll", {"password": ada["password"]}).json_body["data"]["secret"]
    post("/2fa/confirm", {"code": pyotp.TOTP(secret).at(now[0])})
    now[0] += dt.timedelta(seconds=30)

    without = _delete(client, headers, {"password": ada["password"]})
    wrong = _delete(client, headers, {"password": ada["password"], "code": "000000"
                                      if pyotp.TOTP(secret).at(now[0]) != "000000" else "111111"})
    right = _delete(client, headers, {"password": ada["password"], "code": pyotp.TOTP(secret).at(now[0])})

    assert without.status_code == 422
    assert "code is required: two-factor sign-in is enabled on this account" in without.json_body["errors"]
    assert wrong.status_code == 403 and wrong.json_body["message"] == "Invalid two-factor code"
    assert right.status_code == 200
    assert db.fetch_value("SELECT count(*) FROM users WHERE id = :id", id=ada["id"]) == 0
    assert db.fetch_value("SELECT count(*) FROM two_factor") == 0


def test_deletion_is_rate_limited(client, make_user, auth, rate_limits):
    rate_limits(DELETE_ACCOUNT="2/hour")
    ada = make_user()
    headers = auth(ada)

    statuses = [_delete(client, headers, {"password": "Wrong1234"}).status_code for _ in range(3)]

    assert statuses == [403, 403, 429]


def test_uploads_never_registered_are_removed_too(client, make_user, auth):
    ada = make_user()
    leftover = _stored("video", "video/mp4", b"\x00\x00\x00\x18ftypmp42" + b"u" * 100)
    db.execute("INSERT INTO uploads (user_id, kind, declared_type, declared_size, storage, public_id, status,"
               " expires_at) VALUES (:u, 'video', 'video/mp4', 200, :s, :p, 'received', now() + interval '1 hour')",
               u=ada["id"], s=get_storage().name, p=leftover.public_id)
    path = _file(leftover.public_id)

    assert _delete(client, auth(ada), {"password": ada["password"]}).status_code == 200
    jobs.run_pending()

    assert not path.exists()


__all__ = ["multipart"]


def test_concurrent_deletions_delete_once(make_user, sign_in):
    """Two devices deleting the account at once: one deletes it, the other finds it gone; the media are queued once."""
    import threading

    from shared.auth import CurrentUser
    from shared.services import account_deletion

    ada = make_user()
    _video_with_media(ada)
    callers = []
    for _ in range(2):
        session = db.fetch_value("INSERT INTO sessions (user_id, token_hash, expires_at) VALUES (:u, '\\x00',"
                                 " now() + interval '1 day') RETURNING id", u=ada["id"])
        callers.append(CurrentUser(id=ada["id"], session_id=session, profile={"username": ada["username"]}))
    outcomes: list[object] = []
    start = threading.Barrier(2)

    def delete(caller):
        start.wait()
        try:
            account_deletion.delete_account(caller, password=ada["password"], code=None)
            outcomes.append("deleted")
        except errors.AppError as exc:
            outcomes.append(exc.status_code)

    threads = [threading.Thread(target=delete, args=(c,)) for c in callers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(outcomes, key=str) == [404, "deleted"]
    assert db.fetch_value("SELECT count(*) FROM jobs WHERE kind = 'delete_media'") == 2
