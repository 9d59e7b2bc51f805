"""Deletes lose a race cleanly (issue #10 point 3), through the Chalice test client: the row disappears between a
request's existence/ownership check and its own delete statement, as when a concurrent delete of the same thing
commits first. That request must answer the resource's 404 (401 for logout) and change nothing, because the
delete statement, not the earlier read, decides who deleted it. tests/e2e/test_concurrent_deletes.py fires
the real race over HTTP; here the interleaving is forced, so the outcome is the same every run.
"""

import json
from collections.abc import Callable
from types import ModuleType

import pytest

from shared import db
from shared.sql import comments as comments_sql
from shared.sql import playlists as playlists_sql
from shared.sql import tweets as tweets_sql
from shared.sql import users as users_sql
from shared.sql import videos as videos_sql

JSON = {"Content-Type": "application/json"}


def _lose_race_after(monkeypatch: pytest.MonkeyPatch, module: ModuleType, read: str, winner: Callable[[], None]) -> None:
    """Let `module.read` (the handler's check) see the row, then run `winner` (the concurrent request that
    commits its delete before this one reaches its own)."""
    real = getattr(module, read)

    def read_then_lose(**kwargs):
        row = real(**kwargs)
        winner()
        return row

    monkeypatch.setattr(module, read, read_then_lose)


def test_a_comment_deleted_after_the_check_answers_404(client, make_user, make_video, auth, monkeypatch):
    author, owner = make_user(), make_user()
    video = make_video(owner)
    headers = auth(author)
    comment = client.post(f"/api/v2/comments/{video['id']}", headers={**headers, **JSON},
                          body=json.dumps({"content": "doomed"})).json_body["data"]
    _lose_race_after(monkeypatch, comments_sql, "get_with_video",
                     lambda: db.execute("DELETE FROM comments WHERE id = :id", id=comment["id"]))

    response = client.delete(f"/api/v2/comments/c/{comment['id']}", headers=headers)

    assert (response.status_code, response.json_body["message"]) == (404, "Comment not found")


def test_a_tweet_deleted_after_the_check_answers_404(client, make_user, auth, monkeypatch):
    headers = auth(make_user())
    tweet = client.post("/api/v2/tweets", headers={**headers, **JSON},
                        body=json.dumps({"content": "doomed"})).json_body["data"]
    _lose_race_after(monkeypatch, tweets_sql, "get",
                     lambda: db.execute("DELETE FROM tweets WHERE id = :id", id=tweet["id"]))

    response = client.delete(f"/api/v2/tweets/{tweet['id']}", headers=headers)

    assert (response.status_code, response.json_body["message"]) == (404, "Tweet not found")


def test_a_playlist_deleted_after_the_check_answers_404(client, make_user, auth, monkeypatch):
    headers = auth(make_user())
    playlist = client.post("/api/v2/playlist", headers={**headers, **JSON},
                           body=json.dumps({"name": "doomed"})).json_body["data"]
    _lose_race_after(monkeypatch, playlists_sql, "get",
                     lambda: db.execute("DELETE FROM playlists WHERE id = :id", id=playlist["id"]))

    response = client.delete(f"/api/v2/playlist/{playlist['id']}", headers=headers)

    assert (response.status_code, response.json_body["message"]) == (404, "Playlist not found")


def test_a_video_deleted_after_the_check_answers_404_and_records_no_media_deletion(client, make_user, make_video,
                                                                                     auth, monkeypatch):
    owner = make_user()
    video = make_video(owner)
    # The winner's delete (its own delete_media jobs are its business, and are not recorded here).
    _lose_race_after(monkeypatch, videos_sql, "get",
                     lambda: db.execute("DELETE FROM videos WHERE id = :id", id=video["id"]))

    response = client.delete(f"/api/v2/videos/{video['id']}", headers=auth(owner))

    assert (response.status_code, response.json_body["message"]) == (404, "Video not found")
    assert db.fetch_value("SELECT count(*) FROM jobs WHERE kind = 'delete_media'") == 0


def test_a_logout_whose_session_ended_after_the_check_answers_401(client, make_user, auth, monkeypatch):
    headers = auth(make_user())
    _lose_race_after(monkeypatch, users_sql, "get_authenticated",
                     lambda: db.execute("UPDATE sessions SET revoked_at = now(), revoked_reason = 'logout'"
                                        " WHERE revoked_at IS NULL"))

    response = client.post("/api/v2/user/logout", headers=headers)

    assert (response.status_code, response.json_body["message"]) == (401, "Invalid Access Token")
    assert "Set-Cookie" not in response.headers  # the winner's answer cleared the cookies, not this one
    assert db.fetch_value("SELECT count(*) FROM sessions WHERE revoked_reason = 'logout'") == 1
