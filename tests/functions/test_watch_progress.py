"""Resume positions (issue #17, point 4): progress reports throttled to one write per video per viewer per ~10 s,
"finished" near the end, the position on the watch page and in the history, and "continue watching"."""

from __future__ import annotations

import json

from shared import db

JSON = {"Content-Type": "application/json"}


def _report(client, video_id, headers, body):
    return client.post(f"/api/v2/videos/{video_id}/progress", headers={**headers, **JSON},
                       body=body if isinstance(body, str) else json.dumps(body))


def _age(viewer, video, seconds: float) -> None:
    """As if the stored position had been written `seconds` ago."""
    db.execute("UPDATE watch_progress SET updated_at = updated_at - make_interval(secs => :s)"
               " WHERE user_id = :u AND video_id = :v", s=seconds, u=viewer["id"], v=video["id"])


def test_a_report_is_written_at_most_once_per_ten_seconds(client, make_user, make_video, auth):
    viewer = make_user()
    video = make_video(make_user())  # 10 s long
    headers = auth(viewer)

    first = _report(client, video["id"], headers, {"currentTime": 3})
    soon = _report(client, video["id"], headers, {"currentTime": 5.5})
    _age(viewer, video, 9)
    still_soon = _report(client, video["id"], headers, {"currentTime": 6})
    _age(viewer, video, 2)  # 11 s since the write
    later = _report(client, video["id"], headers, {"currentTime": 6.25})

    assert first.status_code == 200, first.json_body
    assert first.json_body["data"] == {"currentTime": 3.0, "finished": False, "saved": True}
    assert soon.json_body["data"] == {"currentTime": 3.0, "finished": False, "saved": False}
    assert still_soon.json_body["data"]["saved"] is False
    assert later.json_body["data"] == {"currentTime": 6.25, "finished": False, "saved": True}
    assert db.fetch_value("SELECT position_seconds FROM watch_progress") == 6.25


def test_near_the_end_is_finished_and_that_report_is_never_throttled(client, make_user, make_video, auth):
    viewer = make_user()
    video = make_video(make_user())  # 10 s: finished from 9 s (90%: a short clip is not "5 s from the end" at 5 s)
    headers = auth(viewer)

    _report(client, video["id"], headers, {"currentTime": 5})
    at_nine = _report(client, video["id"], headers, {"currentTime": 9.2})  # within the interval, yet written
    rewatch = _report(client, video["id"], headers, {"currentTime": 1})  # within the interval: kept as finished
    _age(viewer, video, 11)
    over_again = _report(client, video["id"], headers, {"currentTime": 1})

    assert at_nine.json_body["data"] == {"currentTime": 9.2, "finished": True, "saved": True}
    assert rewatch.json_body["data"] == {"currentTime": 9.2, "finished": True, "saved": False}
    assert over_again.json_body["data"] == {"currentTime": 1.0, "finished": False, "saved": True}


def test_a_long_video_is_finished_at_95_percent_or_five_seconds_from_the_end(client, make_user, make_video, auth):
    viewer = make_user()
    hour, minute = make_video(make_user()), make_video(make_user())
    db.execute("UPDATE videos SET duration = 3600 WHERE id = :id", id=hour["id"])
    db.execute("UPDATE videos SET duration = 60 WHERE id = :id", id=minute["id"])
    headers = auth(viewer)

    assert _report(client, hour["id"], headers, {"currentTime": 3419}).json_body["data"]["finished"] is False
    _age(viewer, hour, 11)
    assert _report(client, hour["id"], headers, {"currentTime": 3420}).json_body["data"]["finished"] is True  # 95%
    assert _report(client, minute["id"], headers, {"currentTime": 54.9}).json_body["data"]["finished"] is False
    _age(viewer, minute, 11)
    assert _report(client, minute["id"], headers, {"currentTime": 55}).json_body["data"]["finished"] is True  # 5 s


def test_bad_positions_are_refused_before_anything_is_written(client, make_user, make_video, auth):
    viewer = make_user()
    video = make_video(make_user())  # 10 s long: up to 5 s past the end is still the end
    headers = auth(viewer)

    for body, status, words in [({"currentTime": -1}, 400, "0 or more"), ({"currentTime": 15.5}, 400, "past the end"),
                                ({"currentTime": "12"}, 422, "currentTime"), ({"currentTime": True}, 422, "currentTime"),
                                ({}, 400, "currentTime is required"), ('{"currentTime": NaN}', 400, "currentTime"),
                                ('{"currentTime": Infinity}', 400, "currentTime"), ({"currentTime": 1e308}, 400,
                                                                                    "currentTime"),
                                ("[1]", 400, "JSON object"), ("{", 400, "Malformed JSON")]:
        refused = _report(client, video["id"], headers, body)

        assert refused.status_code == status, (body, refused.json_body)
        assert words in refused.json_body["message"] + " ".join(refused.json_body["errors"]), (body, refused.json_body)
    assert db.fetch_value("SELECT count(*) FROM watch_progress") == 0
    assert _report(client, video["id"], headers, {"currentTime": 15}).json_body["data"]["finished"] is True
    assert _report(client, "not-an-id", headers, {"currentTime": 1}).status_code == 400


def test_another_users_private_video_does_not_exist_here_either(client, make_user, make_video, auth):
    owner, viewer = make_user(), make_user()
    private, unlisted = make_video(owner, published=False), make_video(owner)
    db.execute("UPDATE videos SET privacy = 'unlisted' WHERE id = :id", id=unlisted["id"])

    hidden = _report(client, private["id"], auth(viewer), {"currentTime": 1})
    own = _report(client, private["id"], auth(owner), {"currentTime": 1})
    opened_by_link = _report(client, unlisted["id"], auth(viewer), {"currentTime": 1})
    missing = _report(client, "0196a5a0-3c1e-7d2a-9f4b-2b8e1c3d4e5f", auth(viewer), {"currentTime": 1})

    assert hidden.status_code == 404 and hidden.json_body["message"] == "Video not found"
    assert (own.status_code, opened_by_link.status_code, missing.status_code) == (200, 200, 404)
    assert client.post(f"/api/v2/videos/{private['id']}/progress", headers=JSON,
                       body=json.dumps({"currentTime": 1})).status_code == 401


def test_the_watch_page_and_the_history_carry_the_callers_position(client, make_user, make_video, auth):
    viewer, other = make_user(), make_user()
    video = make_video(make_user())

    before = client.get(f"/api/v2/videos/{video['id']}", headers=auth(viewer)).json_body["data"]
    _report(client, video["id"], auth(viewer), {"currentTime": 4.5})
    after = client.get(f"/api/v2/videos/{video['id']}", headers=auth(viewer)).json_body["data"]
    someone_else = client.get(f"/api/v2/videos/{video['id']}", headers=auth(other)).json_body["data"]
    history = client.get("/api/v2/user/watch-history", headers=auth(viewer))

    assert before["watchPosition"] is None
    assert after["watchPosition"] == {"currentTime": 4.5, "finished": False}
    assert someone_else["watchPosition"] is None  # the caller's own, nobody else's
    assert history.status_code == 200
    assert [(v["id"], v["watchPosition"]) for v in history.json_body["data"]] == [
        (str(video["id"]), {"currentTime": 4.5, "finished": False})]


def test_continue_watching_lists_started_unfinished_visible_videos_most_recent_first(client, make_user, make_video,
                                                                                   auth):
    viewer, owner = make_user(), make_user()
    older, newer, done, hidden_later, untouched = (make_video(owner, title=t) for t in ("older", "newer", "done",
                                                                                       "hidden", "untouched"))
    headers = auth(viewer)
    for video, at, ago in ((older, 2, 300), (hidden_later, 3, 200), (newer, 4, 100), (done, 9.5, 50)):
        _report(client, video["id"], headers, {"currentTime": at})
        _age(viewer, video, ago)
    _report(client, untouched["id"], headers, {"currentTime": 0})  # opened, never played: nothing to continue
    db.execute("UPDATE videos SET privacy = 'private' WHERE id = :id", id=hidden_later["id"])

    page = client.get("/api/v2/user/continue-watching?limit=1", headers=headers)
    second = client.get("/api/v2/user/continue-watching?limit=1&page=2", headers=headers)
    bad = client.get("/api/v2/user/continue-watching?limit=500", headers=headers)

    assert page.status_code == 200, page.json_body
    assert page.headers["X-Total-Count"] == "2" and 'rel="next"' in page.headers["Link"]
    assert [(v["title"], v["watchPosition"]) for v in page.json_body["data"] + second.json_body["data"]] == [
        ("newer", {"currentTime": 4.0, "finished": False}), ("older", {"currentTime": 2.0, "finished": False})]
    assert page.json_body["data"][0]["user"]["username"] == owner["username"]
    assert bad.status_code == 400
    assert client.get("/api/v2/user/continue-watching", headers=auth(owner)).json_body["data"] == []
