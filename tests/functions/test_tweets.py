"""Tweets (contract §7)."""

import json

from shared import db

JSON = {"Content-Type": "application/json"}


def _tweet(client, headers, content="Hello world"):
    return client.post("/api/v2/tweets", headers={**headers, **JSON}, body=json.dumps({"content": content}))


def test_create_tweet(client, make_user, auth):
    response = _tweet(client, auth(make_user()))

    assert response.status_code == 201
    assert response.json_body["message"] == "Tweet created successfully!"
    assert list(response.json_body["data"]) == ["id", "content", "userId", "createdAt", "updatedAt"]


def test_tweet_content_rules(client, make_user, auth):
    headers = auth(make_user())

    blank = _tweet(client, headers, " ")
    long = _tweet(client, headers, "x" * 5001)

    assert (blank.status_code, blank.json_body["message"]) == (400, "Tweet content cannot be empty.")
    assert long.status_code == 422


def test_user_tweets_are_paginated_newest_first_with_like_counts(client, make_user, auth):
    author, fan = make_user(), make_user()
    ids = [_tweet(client, auth(author), f"t{i}").json_body["data"]["id"] for i in range(3)]
    client.post(f"/api/v2/likes/toggle/t/{ids[2]}", headers=auth(fan))

    page = client.get(f"/api/v2/tweets/user/{author['id']}?limit=2", headers=auth(fan)).json_body

    assert page["message"] == "Tweets fetched successfully"
    assert [t["content"] for t in page["data"]] == ["t2", "t1"]
    assert page["data"][0]["_count"] == {"likes": 1} and page["data"][1]["_count"] == {"likes": 0}


def test_tweets_of_an_unknown_user_are_404(client, make_user, auth):
    headers = auth(make_user())

    assert client.get("/api/v2/tweets/user/0190a000-0000-7000-8000-000000000000", headers=headers).status_code == 404
    assert client.get("/api/v2/tweets/user/nope", headers=headers).status_code == 400


def test_only_the_author_edits_or_deletes_a_tweet(client, make_user, auth):
    author, stranger = make_user(), make_user()
    tweet = _tweet(client, auth(author)).json_body["data"]
    path = f"/api/v2/tweets/{tweet['id']}"

    denied = client.patch(path, headers={**auth(stranger), **JSON}, body=json.dumps({"content": "x"}))
    blank = client.patch(path, headers={**auth(author), **JSON}, body=json.dumps({"content": ""}))
    edited = client.patch(path, headers={**auth(author), **JSON}, body=json.dumps({"content": "edited"}))
    denied_delete = client.delete(path, headers=auth(stranger))
    client.post(f"/api/v2/likes/toggle/t/{tweet['id']}", headers=auth(stranger))
    deleted = client.delete(path, headers=auth(author))

    assert (denied.status_code, denied.json_body["message"]) == (403, "Tweet not found or unauthorized")
    assert (blank.status_code, blank.json_body["message"]) == (400, "Content cannot be empty")
    assert (edited.status_code, edited.json_body["data"]["content"]) == (200, "edited")
    assert denied_delete.status_code == 403
    assert (deleted.status_code, deleted.json_body["message"]) == (200, "Tweet deleted successfully")
    assert db.fetch_value("SELECT count(*) FROM likes") == 0  # likes went with the tweet
    assert client.delete(path, headers=auth(author)).status_code == 404
