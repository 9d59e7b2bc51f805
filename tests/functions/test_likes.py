"""Likes (contract §8; design: atomic toggles, 404 for unknown or hidden targets)."""

import json
import threading

import pytest

from shared import db
from shared.sql import likes as likes_sql

JSON = {"Content-Type": "application/json"}


def test_toggling_a_video_like_adds_then_removes_it(client, make_user, make_video, auth):
    headers, video = auth(make_user()), make_video(make_user())
    path = f"/api/v2/likes/toggle/v/{video['id']}"

    added = client.post(path, headers=headers).json_body
    removed = client.post(path, headers=headers).json_body

    assert (added["data"], added["message"]) == ({"liked": True}, "Like added successfully")
    assert (removed["data"], removed["message"]) == ({"liked": False}, "Like removed successfully")
    assert db.fetch_value("SELECT count(*) FROM likes") == 0


def test_comment_and_tweet_likes(client, make_user, make_video, auth):
    user, video = make_user(), make_video(make_user())
    headers = {**auth(user), **JSON}
    comment = client.post(f"/api/v2/comments/{video['id']}", headers=headers,
                          body=json.dumps({"content": "c"})).json_body["data"]
    tweet = client.post("/api/v2/tweets", headers=headers, body=json.dumps({"content": "t"})).json_body["data"]

    assert client.post(f"/api/v2/likes/toggle/c/{comment['id']}", headers=headers).json_body["data"]["liked"]
    assert client.post(f"/api/v2/likes/toggle/t/{tweet['id']}", headers=headers).json_body["data"]["liked"]
    assert db.fetch_value("SELECT count(*) FROM likes WHERE comment_id IS NOT NULL OR tweet_id IS NOT NULL") == 2


@pytest.mark.parametrize("kind,message", [("v", "Video not found"), ("c", "Comment not found"),
                                          ("t", "Tweet not found")])
def test_unknown_targets_are_404_not_500(client, make_user, auth, kind, message):
    response = client.post(f"/api/v2/likes/toggle/{kind}/0190a000-0000-7000-8000-000000000000",
                           headers=auth(make_user()))

    assert (response.status_code, response.json_body["message"]) == (404, message)


def test_another_users_unpublished_video_cannot_be_liked(client, make_user, make_video, auth):
    draft = make_video(make_user(), published=False)

    response = client.post(f"/api/v2/likes/toggle/v/{draft['id']}", headers=auth(make_user()))

    assert response.status_code == 404


def test_liked_videos_newest_first_paginated_and_hiding_unpublished(client, make_user, make_video, auth):
    fan, owner = make_user(), make_user(username="maker")
    first, second, later_hidden = make_video(owner, "first"), make_video(owner, "second"), make_video(owner, "gone")
    headers = auth(fan)
    for video in (first, second, later_hidden):
        client.post(f"/api/v2/likes/toggle/v/{video['id']}", headers=headers)
    db.execute("UPDATE videos SET is_published = false WHERE id = :id", id=later_hidden["id"])

    page = client.get("/api/v2/likes/videos?limit=1", headers=headers).json_body
    page2 = client.get("/api/v2/likes/videos?limit=1&page=2", headers=headers).json_body["data"]

    assert page["message"] == "Liked videos fetched successfully"
    assert [v["title"] for v in page["data"] + page2] == ["second", "first"]
    assert page["data"][0]["user"]["username"] == "maker"
    assert client.get("/api/v2/likes/videos", headers=auth(make_user())).json_body["data"] == []


def test_concurrent_toggles_each_flip_once_and_answers_match_the_stored_state(make_user, make_video):
    user, video = make_user(), make_video(make_user())
    answers: list[bool] = []
    barrier = threading.Barrier(20)

    def toggle():
        barrier.wait()
        answers.append(likes_sql.toggle(user_id=user["id"], target="video", target_id=video["id"]))

    threads = [threading.Thread(target=toggle) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert answers.count(True) == answers.count(False) == 10
    assert db.fetch_value("SELECT count(*) FROM likes") == 0
