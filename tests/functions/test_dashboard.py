"""Dashboard (contract §11)."""

from shared import db


def test_stats_are_computed_as_the_contract_says(client, make_user, make_video, auth):
    me, fan1, fan2 = make_user(), make_user(), make_user()
    published, draft = make_video(me, views=10), make_video(me, published=False, views=5)
    someone_elses = make_video(fan1, views=1000)
    for fan in (fan1, fan2):
        client.post(f"/api/v2/subscriptions/c/{me['id']}", headers=auth(fan))
        client.post(f"/api/v2/likes/toggle/v/{published['id']}", headers=auth(fan))
    client.post(f"/api/v2/likes/toggle/v/{someone_elses['id']}", headers=auth(fan2))
    db.execute("INSERT INTO likes (user_id, video_id) VALUES (:u, :v)", u=me["id"], v=draft["id"])

    response = client.get("/api/v2/dashboard/stats", headers=auth(me))

    assert response.json_body["message"] == "Channel stats fetched successfully"
    assert response.json_body["data"] == {"totalViews": 15, "totalSubscribers": 2, "totalVideos": 2, "totalLikes": 3}


def test_stats_of_an_empty_channel_are_zero(client, make_user, auth):
    data = client.get("/api/v2/dashboard/stats", headers=auth(make_user())).json_body["data"]

    assert data == {"totalViews": 0, "totalSubscribers": 0, "totalVideos": 0, "totalLikes": 0}


def test_dashboard_videos_include_drafts_with_like_counts_paginated(client, make_user, make_video, auth):
    me, fan = make_user(), make_user()
    old = make_video(me, "old")
    make_video(me, "draft", published=False)
    client.post(f"/api/v2/likes/toggle/v/{old['id']}", headers=auth(fan))

    first = client.get("/api/v2/dashboard/videos?limit=1", headers=auth(me)).json_body
    second = client.get("/api/v2/dashboard/videos?limit=1&page=2", headers=auth(me)).json_body["data"]

    assert first["message"] == "Videos fetched"
    assert first["data"]["totalVideos"] == 2
    assert [v["title"] for v in first["data"]["videos"] + second["videos"]] == ["draft", "old"]
    assert first["data"]["videos"][0]["_count"] == {"likes": 0}
    assert second["videos"][0]["_count"] == {"likes": 1}
    assert "signature=" in first["data"]["videos"][0]["videoFileUrl"]  # the owner's own draft: signed URL
