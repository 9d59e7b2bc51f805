"""Blocks (issue #15, point 6; routes of point 8): POST /user/blocks, DELETE /user/blocks/{userId}, GET /user/blocks.
A blocked user's comments (threads and replies) and posts are hidden from the blocker, and only from the blocker."""

import json
import uuid

import pytest

from shared import db

JSON = {"Content-Type": "application/json"}


def _post(client, path, headers, body):
    return client.post(path, headers={**headers, **JSON}, body=json.dumps(body))


def _block(client, headers, user_id):
    return _post(client, "/api/v2/user/blocks", headers, {"userId": str(user_id)})


@pytest.fixture
def talk(client, make_user, make_video, auth):
    """A video with a thread by the troll, a thread by a friend with the troll's and the friend's replies, and a
    post by each; the viewer will block the troll."""
    owner, troll, friend, viewer = (make_user(username=n) for n in ("owner", "troll", "friend", "viewer"))
    as_ = {u["username"]: auth(u) for u in (owner, troll, friend, viewer)}
    video = make_video(owner)
    comments = f"/api/v2/comments/{video['id']}"
    trolling = _post(client, comments, as_["troll"], {"content": "troll thread"}).json_body["data"]
    thread = _post(client, comments, as_["friend"], {"content": "friend thread"}).json_body["data"]
    for who in ("troll", "friend"):
        _post(client, comments, as_[who], {"content": f"{who} reply", "parentId": thread["id"]})
    for who in ("troll", "friend"):
        _post(client, "/api/v2/tweets", as_[who], {"content": f"{who} post"})
    return {"users": {u["username"]: u for u in (owner, troll, friend, viewer)}, "as": as_, "video": video,
            "thread": thread["id"], "trolling": trolling["id"]}


def _seen(client, talk, who):
    """What `who` reads: the video's threads (and their total), the friend thread's replies, each one's posts."""
    headers = talk["as"][who]
    threads = client.get(f"/api/v2/comments/{talk['video']['id']}", headers=headers)
    replies = client.get(f"/api/v2/comments/c/{talk['thread']}/replies", headers=headers)
    posts = {name: [t["content"] for t in client.get(f"/api/v2/tweets/user/{talk['users'][name]['id']}",
                                                     headers=headers).json_body["data"]]
             for name in ("troll", "friend")}
    return {"threads": [c["content"] for c in threads.json_body["data"]], "total": threads.headers["X-Total-Count"],
            "replies": [c["content"] for c in replies.json_body["data"]], "replyTotal": replies.headers["X-Total-Count"],
            "posts": posts}


EVERYTHING = {"threads": ["friend thread", "troll thread"], "total": "2", "replies": ["troll reply", "friend reply"],
              "replyTotal": "2", "posts": {"troll": ["troll post"], "friend": ["friend post"]}}


def test_a_blocked_users_comments_and_posts_are_hidden_from_the_blocker_only(client, talk):
    assert _seen(client, talk, "viewer") == EVERYTHING

    response = _block(client, talk["as"]["viewer"], talk["users"]["troll"]["id"])

    assert response.status_code == 201, response.body
    assert _seen(client, talk, "viewer") == {"threads": ["friend thread"], "total": "1", "replies": ["friend reply"],
                                             "replyTotal": "1", "posts": {"troll": [], "friend": ["friend post"]}}
    assert _seen(client, talk, "owner") == EVERYTHING  # nobody else's view changes

    assert client.delete(f"/api/v2/user/blocks/{talk['users']['troll']['id']}",
                         headers=talk["as"]["viewer"]).status_code == 200
    assert _seen(client, talk, "viewer") == EVERYTHING


def test_my_blocks_are_listed_newest_first_and_blocking_again_changes_nothing(client, talk):
    headers = talk["as"]["viewer"]
    for name in ("troll", "friend", "troll"):
        assert _block(client, headers, talk["users"][name]["id"]).status_code == 201

    listed = client.get("/api/v2/user/blocks", headers=headers)

    assert [u["username"] for u in listed.json_body["data"]] == ["friend", "troll"]
    assert listed.headers["X-Total-Count"] == "2"
    assert set(listed.json_body["data"][0]) == {"id", "username", "fullname", "avatar", "blockedAt"}
    assert client.get("/api/v2/user/blocks", headers=talk["as"]["troll"]).json_body["data"] == []


def test_bad_blocks_are_4xx_naming_the_problem(client, talk):
    headers = talk["as"]["viewer"]
    me = talk["users"]["viewer"]["id"]

    cases = [(_block(client, headers, me), 400, "You cannot block yourself"),
             (_block(client, headers, uuid.uuid4()), 404, "User not found"),
             (_block(client, headers, "not-an-id"), 400, "Invalid userId"),
             (_post(client, "/api/v2/user/blocks", headers, {}), 400, "userId is required"),
             (_post(client, "/api/v2/user/blocks", headers, {"userId": 7}), 422, "Block validation failed"),
             (client.delete(f"/api/v2/user/blocks/{talk['users']['troll']['id']}", headers=headers), 404,
              "You have not blocked this user"),
             (client.delete("/api/v2/user/blocks/nope", headers=headers), 400, "Invalid user ID"),
             (client.get("/api/v2/user/blocks?limit=0", headers=headers), 400, None),
             (client.get("/api/v2/user/blocks"), 401, None)]

    for response, status, message in cases:
        assert response.status_code == status, response.body
        if message:
            assert response.json_body["message"] == message
    assert db.fetch_value("SELECT count(*) FROM user_blocks") == 0
