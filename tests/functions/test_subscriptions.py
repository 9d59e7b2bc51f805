"""Subscriptions (contract §9; design: ids in the lists, pagination, 404s, atomic toggle)."""

from shared import db


def test_toggle_subscription(client, make_user, auth):
    fan, channel = make_user(), make_user()
    path = f"/api/v2/subscriptions/c/{channel['id']}"

    on = client.post(path, headers=auth(fan)).json_body
    off = client.post(path, headers=auth(fan)).json_body

    assert (on["data"], on["message"]) == ({"subscribed": True}, "Subscribed successfully")
    assert (off["data"], off["message"]) == ({"subscribed": False}, "Unsubscribed successfully")


def test_self_unknown_and_malformed_channels(client, make_user, auth):
    me = make_user()
    headers = auth(me)

    own = client.post(f"/api/v2/subscriptions/c/{me['id']}", headers=headers)
    unknown = client.post("/api/v2/subscriptions/c/0190a000-0000-7000-8000-000000000000", headers=headers)
    malformed = client.post("/api/v2/subscriptions/c/me", headers=headers)

    assert (own.status_code, own.json_body["message"]) == (400, "You cannot subscribe to your own channel")
    assert (unknown.status_code, unknown.json_body["message"]) == (404, "Channel not found")
    assert malformed.status_code == 400


def test_subscriber_and_channel_lists_carry_ids_and_are_paginated(client, make_user, auth):
    channel = make_user(username="chan")
    fans = [make_user(username=f"fan{i}") for i in range(3)]
    for fan in fans:
        client.post(f"/api/v2/subscriptions/c/{channel['id']}", headers=auth(fan))

    subscribers = client.get(f"/api/v2/subscriptions/c/{channel['id']}?limit=2", headers=auth(fans[0])).json_body
    following = client.get(f"/api/v2/subscriptions/u/{fans[0]['id']}", headers=auth(fans[0])).json_body

    assert subscribers["message"] == "Subscribers fetched successfully"
    assert [s["username"] for s in subscribers["data"]] == ["fan2", "fan1"]
    assert set(subscribers["data"][0]) == {"username", "fullname", "avatar", "id"}
    assert following["message"] == "Subscribed channels fetched successfully"
    assert following["data"] == [{"username": "chan", "fullname": "Test User", "avatar": "http://testserver/a.png",
                                  "id": str(channel["id"])}]


def test_lists_of_unknown_users_are_404(client, make_user, auth):
    headers = auth(make_user())
    ghost = "0190a000-0000-7000-8000-000000000000"

    assert client.get(f"/api/v2/subscriptions/c/{ghost}", headers=headers).status_code == 404
    assert client.get(f"/api/v2/subscriptions/u/{ghost}", headers=headers).status_code == 404


def test_subscriptions_feed_the_channel_profile_and_video_detail(client, make_user, make_video, auth):
    fan, channel = make_user(), make_user(username="chan")
    video = make_video(channel)
    client.post(f"/api/v2/subscriptions/c/{channel['id']}", headers=auth(fan))

    profile = client.get("/api/v2/user/c/chan", headers=auth(fan)).json_body["data"]
    detail = client.get(f"/api/v2/videos/{video['id']}", headers=auth(fan)).json_body["data"]

    assert (profile["subscriberCount"], profile["isSubscribed"]) == (1, True)
    assert detail["user"]["subscribersCount"] == 1
    assert db.fetch_value("SELECT count(*) FROM subscriptions") == 1
