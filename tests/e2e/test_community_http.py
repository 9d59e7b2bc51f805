"""Notifications and webhooks through the production server (issue #15, points 4 and 5): the events of real requests
reach a real HTTP receiver, signed, sent by the server's own job worker after the request has answered, and the
inboxes fill from the same jobs — no job run by the test."""

from __future__ import annotations

from typing import Any

import requests

from tests.conftest import jpeg_bytes, video_bytes
from tests.e2e.conftest import signed_in_user, until


def _inbox(server: str, headers: dict[str, str]) -> dict[str, Any]:
    answer = requests.get(f"{server}/api/v2/notifications", headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def test_a_follow_a_comment_and_a_new_video_reach_the_receiver_and_the_inboxes(server, receiver):
    owner, owner_user = signed_in_user(server, "own")
    follower, _ = signed_in_user(server, "fol")
    endpoint = requests.post(f"{server}/api/v2/webhooks/endpoints", headers=owner, timeout=30, json={
        "url": receiver.url, "events": ["subscription.created", "comment.created"]})  # loopback: allowed in dev
    assert endpoint.status_code == 201, endpoint.text
    secret = endpoint.json()["data"]["secret"]

    followed = requests.post(f"{server}/api/v2/subscriptions/c/{owner_user['id']}", headers=follower, timeout=30)
    assert followed.status_code == 200 and not receiver.requests  # answered before anything is sent
    published = requests.post(f"{server}/api/v2/videos", headers=owner, timeout=120, data={"title": "news"},
                              files={"videoFile": ("clip.mp4", video_bytes("mp4"), "video/mp4"),
                                     "thumbnail": ("t.jpg", jpeg_bytes(), "image/jpeg")})
    assert published.status_code == 200, published.text
    video_id = published.json()["data"]["video"]["id"]
    commented = requests.post(f"{server}/api/v2/comments/{video_id}", headers=follower, timeout=30,
                              json={"content": "first!"})
    assert commented.status_code == 201, commented.text

    deliveries = until(lambda: len(receiver.requests) >= 2 and receiver.verified(secret), 30, "two deliveries")
    assert sorted(d["type"] for d in deliveries) == ["comment.created", "subscription.created"]
    comment_event = next(d for d in deliveries if d["type"] == "comment.created")
    assert comment_event["data"]["comment"]["content"] == "first!"

    # The follower hears of the new public video (the fan-out job), the owner of the comment on it.
    news = until(lambda: _inbox(server, follower)["docs"], 30, "the follower's news")
    assert [(n["type"], n["video"]["_id"]) for n in news] == [("video.published", video_id)]
    owner_inbox = until(lambda: [n for n in _inbox(server, owner)["docs"] if n["type"] == "comment.created"],
                        30, "the owner's comment notification")
    assert owner_inbox[0]["comment"]["content"] == "first!"
    read_all = requests.post(f"{server}/api/v2/notifications/read-all", headers=owner, timeout=30)
    # Read all: what had arrived is read (the video's own "processed" news may arrive after it, unread).
    after = _inbox(server, owner)
    assert read_all.status_code == 200 and [n["read"] for n in after["docs"] if n["type"] == "comment.created"] == [True]
    assert after["unreadCount"] == sum(not n["read"] for n in after["docs"])

    listed = requests.get(f"{server}/api/v2/webhooks/endpoints/{endpoint.json()['data']['id']}/deliveries",
                          headers=owner, timeout=30).json()["data"]["docs"]
    assert {d["status"] for d in listed} == {"succeeded"} and len(listed) == 2
