"""Moderation (issue #15, point 6 and its routes in point 8): roles (from the command line only, on the current user's
object), abuse reports and their rules, the queue and the log by role, decisions (once: two moderators at once, one
wins), what a takedown hides where (the visibility matrix: owner / follower / stranger / moderator across every list
route), bans (sign-in refused, tokens refused at once), the log, and the reporter told."""

import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from infra import manage
from shared import db, errors
from shared.services import moderation
from shared.sql import moderation as moderation_sql
from tests.conftest import jpeg_bytes, multipart, video_bytes

JSON = {"Content-Type": "application/json"}
SOON = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _post(client, path, headers, body):
    return client.post(path, headers={**headers, **JSON}, body=json.dumps(body))


def _report(client, headers, target_type, target_id, reason="spam", text="bad"):
    return _post(client, "/api/v2/reports", headers,
                 {"targetType": target_type, "targetId": str(target_id), "reason": reason, "text": text})


def _decide(client, headers, report_id, action, note="checked"):
    return _post(client, f"/api/v2/moderation/reports/{report_id}/decision", headers, {"action": action, "note": note})


def _queue(client, headers, state="open"):
    return client.get(f"/api/v2/moderation/reports?state={state}", headers=headers)


def _ids(docs):
    return {d["id"] for d in docs}


@pytest.fixture
def people(make_user, auth):
    """A channel owner, a reporter, a moderator, an admin; each with their headers."""
    users = {name: make_user(username=name) for name in ("owner", "reporter", "mod", "admin")}
    moderation.set_role("mod", "moderator")
    moderation.set_role("admin", "admin")
    return {"users": users, "as": {name: auth(user) for name, user in users.items()}}


# ------------------------------------------------------------------------------------ roles


def test_the_current_user_carries_a_role_that_the_api_cannot_change(client, people):
    me = client.get("/api/v2/user/current-user-details", headers=people["as"]["reporter"]).json_body["data"]
    assert me["role"] == "user"
    assert client.get("/api/v2/user/current-user-details", headers=people["as"]["mod"]).json_body["data"]["role"] \
        == "moderator"

    response = client.patch("/api/v2/user/update-account", headers={**people["as"]["reporter"], **JSON},
                            body=json.dumps({"fullname": "New Name", "role": "admin"}))

    assert response.status_code == 200
    assert db.fetch_value("SELECT role FROM users WHERE username = 'reporter'") == "user"
    assert _queue(client, people["as"]["reporter"]).status_code == 403


def test_set_role_from_the_command_line_grants_and_logs_it(client, make_user, auth, capsys):
    user = make_user(username="promoted")
    headers = auth(user)
    assert client.get("/api/v2/user/current-user-details", headers=headers).json_body["data"]["role"] == "user"

    assert manage.main(["set-role", "Promoted", "moderator"]) == 0

    assert "promoted is now moderator (was user)" in capsys.readouterr().out
    assert _queue(client, headers).status_code == 200
    # the user's own object shows it at once (their cached sign-in was retired)
    assert client.get("/api/v2/user/current-user-details", headers=headers).json_body["data"]["role"] == "moderator"
    entry = db.fetch_one("SELECT actor_id, action, target_id, details FROM moderation_log")
    assert (entry["actor_id"], entry["action"], entry["target_id"]) == (None, "set_role", user["id"])
    assert entry["details"] == {"from": "user", "to": "moderator"}

    assert manage.main(["set-role", "promoted", "user"]) == 0
    assert _queue(client, headers).status_code == 403  # demoted: refused at once (the role is never cached)


def test_set_role_refuses_an_unknown_user_or_role(capsys):
    assert manage.main(["set-role", "nobody", "admin"]) == 1
    assert "No user named 'nobody'" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exited:
        manage.main(["set-role", "nobody", "superuser"])
    assert exited.value.code == 2


def test_set_role_runs_as_a_command(make_user):
    import os
    import subprocess
    import sys

    make_user(username="clirole")
    done = subprocess.run([sys.executable, "-m", "infra.manage", "set-role", "clirole", "admin"], env=os.environ.copy(),
                          capture_output=True, text=True, timeout=60, check=False)

    assert done.returncode == 0, done.stderr
    assert "clirole is now admin" in done.stdout
    assert db.fetch_value("SELECT role FROM users WHERE username = 'clirole'") == "admin"


def test_users_may_not_read_the_queue_nor_moderators_the_log(client, people):
    assert _queue(client, people["as"]["reporter"]).status_code == 403
    assert client.get("/api/v2/moderation/log", headers=people["as"]["reporter"]).status_code == 403
    assert client.get("/api/v2/moderation/log", headers=people["as"]["mod"]).status_code == 403
    assert _queue(client, people["as"]["mod"]).status_code == 200
    assert _queue(client, people["as"]["admin"]).status_code == 200
    assert client.get("/api/v2/moderation/log", headers=people["as"]["admin"]).status_code == 200
    assert _queue(client, {}).status_code == 401


def test_a_user_cannot_decide_a_report(client, people, make_video):
    video = make_video(people["users"]["owner"])
    report = _report(client, people["as"]["reporter"], "video", video["id"]).json_body["data"]

    response = _decide(client, people["as"]["reporter"], report["id"], "takedown")

    assert response.status_code == 403
    assert db.fetch_value("SELECT state FROM reports") == "open"


# ------------------------------------------------------------------------------------ reports


def test_a_report_is_201_and_waits_in_the_open_queue(client, people, make_video):
    video = make_video(people["users"]["owner"], title="scam offer")

    response = _report(client, people["as"]["reporter"], "video", video["id"], reason="spam", text="  a scam  ")

    assert response.status_code == 201, response.body
    report = response.json_body["data"]
    assert (report["targetType"], report["targetId"], report["reason"], report["text"], report["state"]) == (
        "video", str(video["id"]), "spam", "a scam", "open")
    queued = _queue(client, people["as"]["mod"])
    assert queued.headers["X-Total-Count"] == "1"
    [doc] = queued.json_body["data"]
    assert (doc["id"], doc["reporterUsername"], doc["targetSummary"], doc["targetOwnerId"]) == (
        report["id"], "reporter", "scam offer", str(people["users"]["owner"]["id"]))
    assert _queue(client, people["as"]["mod"], "dismissed").json_body["data"] == []


def test_each_kind_of_target_can_be_reported(client, people, make_video):
    owner = people["as"]["owner"]
    video = make_video(people["users"]["owner"])
    comment = _post(client, f"/api/v2/comments/{video['id']}", owner, {"content": "mean words"}).json_body["data"]
    tweet = _post(client, "/api/v2/tweets", owner, {"content": "a post"}).json_body["data"]

    for target_type, target_id in (("comment", comment["id"]), ("tweet", tweet["id"]),
                                   ("user", people["users"]["owner"]["id"])):
        assert _report(client, people["as"]["reporter"], target_type, target_id).status_code == 201, target_type

    summaries = {d["targetType"]: d["targetSummary"] for d in _queue(client, people["as"]["mod"]).json_body["data"]}
    assert summaries == {"comment": "mean words", "tweet": "a post", "user": "owner"}


def test_one_open_report_per_reporter_and_target(client, people, make_video):
    video = make_video(people["users"]["owner"])
    first = _report(client, people["as"]["reporter"], "video", video["id"]).json_body["data"]

    again = _report(client, people["as"]["reporter"], "video", video["id"], reason="hate")

    assert again.status_code == 409
    assert again.json_body["message"] == "You have already reported this video; a moderator will look at it"
    assert _report(client, people["as"]["mod"], "video", video["id"]).status_code == 201  # someone else may
    _decide(client, people["as"]["mod"], first["id"], "dismiss")
    assert _report(client, people["as"]["reporter"], "video", video["id"]).status_code == 201  # decided: again


def test_what_the_reporter_cannot_see_cannot_be_reported(client, people, make_video):
    private = make_video(people["users"]["owner"], published=False)
    headers = people["as"]["reporter"]

    assert _report(client, headers, "video", private["id"]).status_code == 404
    assert _report(client, headers, "video", uuid.uuid4()).json_body["message"] == "Video not found"
    assert _report(client, headers, "comment", uuid.uuid4()).json_body["message"] == "Comment not found"
    assert _report(client, headers, "tweet", uuid.uuid4()).json_body["message"] == "Tweet not found"
    assert _report(client, headers, "user", uuid.uuid4()).json_body["message"] == "User not found"
    assert db.fetch_value("SELECT count(*) FROM reports") == 0


def test_nobody_reports_themself(client, people, make_video):
    own = make_video(people["users"]["reporter"])

    assert _report(client, people["as"]["reporter"], "video", own["id"]).json_body["message"] == \
        "You cannot report your own video"
    assert _report(client, people["as"]["reporter"], "user", people["users"]["reporter"]["id"]).status_code == 400


BAD_REPORTS = [
    ({"targetType": "channel", "targetId": "x", "reason": "spam"}, 422, "targetType must be one of video, comment,"
                                                                        " tweet, user"),
    ({"targetType": "video", "targetId": str(uuid.uuid4()), "reason": "boring"}, 422, "reason must be one of spam,"
     " harassment, hate, violence, sexual, misinformation, copyright, self_harm, other"),
    ({"targetType": "video", "targetId": "not-an-id", "reason": "spam"}, 400, "Invalid targetId"),
    ({"targetType": "video", "targetId": str(uuid.uuid4()), "reason": "spam", "text": "x" * 2001}, 422,
     "text is limited to 2,000 characters"),
    ({"targetType": "video", "reason": "spam"}, 400, "targetId is required"),
    ({"targetType": "video", "targetId": 12, "reason": "spam"}, 422, "Report validation failed"),
    ({"targetType": "video", "targetId": str(uuid.uuid4()), "reason": "spam", "text": "nul\u0000byte"}, 400, None),
]


def test_a_bad_report_is_a_4xx_naming_the_problem(client, people):
    for body, status, message in BAD_REPORTS:
        response = _post(client, "/api/v2/reports", people["as"]["reporter"], body)

        assert response.status_code == status, (body, response.body)
        if message:
            assert response.json_body["message"] == message
    assert db.fetch_value("SELECT count(*) FROM reports") == 0


def test_reports_are_rate_limited_per_user(client, people, make_video, rate_limits):
    rate_limits(REPORTS="2/hour")
    videos = [make_video(people["users"]["owner"]) for _ in range(3)]

    answers = [_report(client, people["as"]["reporter"], "video", v["id"]).status_code for v in videos]

    assert answers == [201, 201, 429]
    refused = _report(client, people["as"]["reporter"], "user", people["users"]["owner"]["id"])
    assert refused.json_body["message"].startswith("Too many requests: reports allows 2 per hour per user")
    assert _report(client, people["as"]["mod"], "video", videos[2]["id"]).status_code == 201  # per user


# ------------------------------------------------------------------------------------ decisions


def test_a_report_is_decided_once(client, people, make_video):
    video = make_video(people["users"]["owner"])
    report = _report(client, people["as"]["reporter"], "video", video["id"]).json_body["data"]

    first = _decide(client, people["as"]["mod"], report["id"], "dismiss", note="fine")
    second = _decide(client, people["as"]["admin"], report["id"], "takedown")

    assert first.status_code == 200
    decided = first.json_body["data"]
    assert (decided["state"], decided["action"], decided["note"], decided["decidedBy"]) == (
        "dismissed", "dismiss", "fine", str(people["users"]["mod"]["id"]))
    assert second.status_code == 409
    assert second.json_body["message"] == "This report has already been decided"
    assert client.get(f"/api/v2/videos/{video['id']}", headers=people["as"]["reporter"]).status_code == 200
    assert _ids(_queue(client, people["as"]["mod"], "dismissed").json_body["data"]) == {report["id"]}


def test_deciding_an_unknown_report_or_with_a_bad_action(client, people):
    assert _decide(client, people["as"]["mod"], uuid.uuid4(), "dismiss").status_code == 404
    assert _decide(client, people["as"]["mod"], "nope", "dismiss").status_code == 400
    bad = _decide(client, people["as"]["mod"], uuid.uuid4(), "delete")
    assert (bad.status_code, bad.json_body["message"]) == (422, "action must be one of dismiss, takedown, ban")
    assert _queue(client, people["as"]["mod"], "closed").status_code == 400


def test_two_moderators_deciding_at_once_one_wins(people, make_user, make_video, monkeypatch):
    """Each decision waits inside its transaction (after its conditional UPDATE) long enough for the other to send
    its own: the second UPDATE then waits on the row lock, sees the committed decision, and updates nothing."""
    second_mod = make_user(username="mod2")
    moderation.set_role("mod2", "moderator")
    mods = [people["users"]["mod"], second_mod]
    reports = []
    for _ in range(3):
        video = make_video(people["users"]["owner"])
        reports.append(moderation.report(_current(people["users"]["reporter"]), target_type="video",
                                         target_id=video["id"], reason="spam", text=""))
    slow = moderation_sql.log_action

    def log_slowly(**kwargs):
        time.sleep(0.2)
        slow(**kwargs)

    monkeypatch.setattr(moderation_sql, "log_action", log_slowly)

    for report in reports:
        start = threading.Barrier(2)
        outcomes = []

        def decide(mod, action, report=report, start=start, outcomes=outcomes):
            start.wait()
            try:
                moderation.decide(_current(mod), report["id"], action=action, note="")
                outcomes.append(("won", action))
            except errors.Conflict:
                outcomes.append(("409", action))

        threads = [threading.Thread(target=decide, args=(mod, action))
                   for mod, action in zip(mods, ("takedown", "dismiss"), strict=True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert sorted(o for o, _ in outcomes) == ["409", "won"], outcomes
        won = next(action for o, action in outcomes if o == "won")
        row = db.fetch_one("SELECT state, action FROM reports WHERE id = :id", id=report["id"])
        assert row["action"] == won
        assert db.fetch_value("SELECT count(*) FROM moderation_log WHERE report_id = :id", id=report["id"]) == 1
        taken_down = db.fetch_value("SELECT taken_down_at IS NOT NULL FROM videos WHERE id = :id",
                                    id=report["target_id"])
        assert taken_down == (won == "takedown")


def _current(user):
    from shared.auth import CurrentUser

    return CurrentUser(id=user["id"], session_id=uuid.uuid4(), profile={})


# ------------------------------------------------------------------------------------ a video taken down


@pytest.fixture
def taken_down(client, people, make_user, make_video, auth):
    """A public video that a follower follows, a stranger liked, watched, put in a playlist and commented on; then
    reported and taken down. Another public video of the same channel stays up."""
    owner = people["users"]["owner"]
    video, other = make_video(owner, title="cats down"), make_video(owner, title="cats up")
    follower, stranger = make_user(), make_user()
    as_ = {**people["as"], "follower": auth(follower), "stranger": auth(stranger)}
    _post(client, f"/api/v2/subscriptions/c/{owner['id']}", as_["follower"], {})
    vid = str(video["id"])
    assert client.post(f"/api/v2/likes/toggle/v/{vid}", headers=as_["stranger"]).status_code == 200
    assert client.get(f"/api/v2/videos/{vid}", headers=as_["stranger"]).status_code == 200
    playlist = _post(client, "/api/v2/playlist", as_["stranger"], {"name": "mix"}).json_body["data"]["id"]
    for added in (vid, str(other["id"])):
        assert client.post(f"/api/v2/playlist/{playlist}/{added}", headers=as_["stranger"]).status_code == 200
    _post(client, f"/api/v2/comments/{vid}", as_["stranger"], {"content": "nice"})
    report = _report(client, as_["reporter"], "video", vid, reason="violence").json_body["data"]
    decided = _decide(client, as_["mod"], report["id"], "takedown", note="graphic")
    assert decided.status_code == 200, decided.body
    return {"id": vid, "other": str(other["id"]), "owner": owner, "playlist": playlist, "as": as_,
            "report": report}


def test_a_taken_down_video_is_in_no_list_for_anyone(client, taken_down):
    owner_id = taken_down["owner"]["id"]

    for who in ("owner", "follower", "stranger", "mod"):
        headers = taken_down["as"][who]
        for query in ("", f"?userId={owner_id}", "?query=cats", "?sortBy=views"):
            page = client.get(f"/api/v2/videos{query}", headers=headers).json_body["data"]
            assert (_ids(page["docs"]), page["totalDocs"]) == ({taken_down["other"]}, 1), (who, query)
        feed = client.get("/api/v2/feed/subscriptions", headers=headers).json_body["data"]
        assert taken_down["id"] not in _ids(feed["docs"]), who
    follower_feed = client.get("/api/v2/feed/subscriptions", headers=taken_down["as"]["follower"]).json_body["data"]
    assert _ids(follower_feed["docs"]) == {taken_down["other"]}


def test_a_taken_down_video_leaves_other_users_likes_history_and_playlists(client, taken_down):
    headers = taken_down["as"]["stranger"]

    assert client.get("/api/v2/likes/videos", headers=headers).json_body["data"] == []
    assert client.get("/api/v2/user/watch-history", headers=headers).json_body["data"] == []
    playlist = client.get(f"/api/v2/playlist/{taken_down['playlist']}", headers=headers).json_body["data"]
    assert (_ids(playlist["videos"]), playlist["totalVideos"]) == ({taken_down["other"]}, 1)


def test_a_taken_down_video_is_404_on_every_route_for_others(client, taken_down):
    vid = taken_down["id"]

    for who in ("follower", "stranger", "reporter"):
        headers = taken_down["as"][who]
        assert client.get(f"/api/v2/videos/{vid}", headers=headers).status_code == 404, who
        assert client.get(f"/api/v2/comments/{vid}", headers=headers).status_code == 404, who
        assert _post(client, f"/api/v2/comments/{vid}", headers, {"content": "hi"}).status_code == 404, who
        assert client.post(f"/api/v2/likes/toggle/v/{vid}", headers=headers).status_code == 404, who
        playlist = _post(client, "/api/v2/playlist", headers, {"name": "p"}).json_body["data"]["id"]
        assert client.post(f"/api/v2/playlist/{playlist}/{vid}", headers=headers).status_code == 404, who
        assert _report(client, headers, "video", vid, reason="hate").status_code == 404, who


def test_its_owner_and_the_moderators_still_open_it_behind_signed_urls(client, taken_down):
    for who in ("owner", "mod", "admin"):
        headers = taken_down["as"][who]

        response = client.get(f"/api/v2/videos/{taken_down['id']}", headers=headers)

        assert response.status_code == 200, who
        video = response.json_body["data"]
        assert (video["takenDown"], video["isPublished"], video["privacy"]) == (True, False, "public")
        assert "signature=" in video["videoFileUrl"] and "signature=" in video["thumbnailUrl"]
        assert client.get(f"/api/v2/comments/{taken_down['id']}", headers=headers).status_code == 200, who


def test_the_owner_still_has_it_in_the_dashboard_but_cannot_make_it_public_again(client, taken_down):
    headers = taken_down["as"]["owner"]
    vid = taken_down["id"]

    dashboard = client.get("/api/v2/dashboard/videos", headers=headers).json_body["data"]["videos"]
    assert {v["id"]: v["takenDown"] for v in dashboard} == {vid: True, taken_down["other"]: False}
    for body in ({"privacy": "unlisted"}, {"privacy": "public"}, {"publishAt": SOON}):
        refused = client.patch(f"/api/v2/videos/{vid}", headers={**headers, **JSON}, body=json.dumps(body))
        assert refused.status_code == 403, body
        assert refused.json_body["message"].startswith("This video was taken down by the moderators")
    assert client.patch(f"/api/v2/videos/toggle/publish/{vid}", headers=headers).status_code == 403
    renamed = client.patch(f"/api/v2/videos/{vid}", headers={**headers, **JSON}, body='{"title": "renamed"}')
    assert renamed.status_code == 200  # other details stay the owner's to edit
    # Even a write that goes around the service cannot list it again: the database keeps it unpublished.
    db.execute("UPDATE videos SET is_published = true WHERE id = :id", id=vid)
    db.execute("UPDATE videos SET privacy = 'public' WHERE id = :id", id=vid)
    assert db.fetch_value("SELECT is_published FROM videos WHERE id = :id", id=vid) is False
    assert client.get(f"/api/v2/videos/{vid}", headers=taken_down["as"]["stranger"]).status_code == 404


def test_the_published_count_and_the_log_follow_a_takedown(client, taken_down):
    assert db.fetch_value("SELECT value FROM counters WHERE name = 'published_videos'") == 1
    log = client.get("/api/v2/moderation/log", headers=taken_down["as"]["admin"]).json_body["data"]
    [entry] = [e for e in log if e["action"] == "takedown"]
    assert (entry["actorUsername"], entry["targetType"], entry["targetId"], entry["reportId"], entry["note"]) == (
        "mod", "video", taken_down["id"], taken_down["report"]["id"], "graphic")
    assert entry["details"]["title"] == "cats down"


def test_the_reporter_is_told_of_the_decision(client, taken_down):
    inbox = client.get("/api/v2/notifications", headers=taken_down["as"]["reporter"]).json_body["data"]

    assert [(d["type"], d.get("reportId")) for d in inbox["docs"]] == [("report.decided", taken_down["report"]["id"])]


def test_a_taken_down_videos_media_need_a_signature(client, people):
    body, form_headers = multipart({"title": "clip", "description": "d"}, {
        "videoFile": ("v.mp4", video_bytes("mp4"), "video/mp4"), "thumbnail": ("t.jpg", jpeg_bytes(), "image/jpeg")})
    published = client.post("/api/v2/videos", body=body, headers={**people["as"]["owner"], **form_headers})
    video = published.json_body["data"]["video"]
    public_url = video["thumbnailUrl"].removeprefix("http://testserver")
    assert client.get(public_url, headers=people["as"]["reporter"]).status_code == 200
    report = _report(client, people["as"]["reporter"], "video", video["id"]).json_body["data"]

    _decide(client, people["as"]["mod"], report["id"], "takedown")

    assert client.get(public_url, headers=people["as"]["reporter"]).status_code == 404
    signed = client.get(f"/api/v2/videos/{video['id']}", headers=people["as"]["mod"]).json_body["data"]["thumbnailUrl"]
    assert client.get(signed.removeprefix("http://testserver")).status_code == 200


def test_on_s3_a_taken_down_videos_objects_are_refused_to_anyone(client, people, s3_bucket):
    """Where the store itself serves public media (an S3 bucket that lets anyone read objects tagged public), the
    takedown tells it: the objects turn private (the owner's and the moderators' presigned URLs keep working)."""
    import requests

    from tests.functions.test_s3_privacy import _anonymous, _tag

    body, form_headers = multipart({"title": "clip", "description": "d"}, {
        "videoFile": ("v.mp4", video_bytes("mp4"), "video/mp4"), "thumbnail": ("t.jpg", jpeg_bytes(), "image/jpeg")})
    video = client.post("/api/v2/videos", body=body, headers={**people["as"]["owner"], **form_headers})
    video_id = video.json_body["data"]["video"]["id"]
    keys = s3_bucket.keys()
    assert len(keys) == 2 and _anonymous(s3_bucket, keys) == {200}
    report = _report(client, people["as"]["reporter"], "video", video_id).json_body["data"]

    assert _decide(client, people["as"]["mod"], report["id"], "takedown").status_code == 200

    assert _anonymous(s3_bucket, keys) == {403} and {_tag(s3_bucket, k) for k in keys} == {"private"}
    seen = client.get(f"/api/v2/videos/{video_id}", headers=people["as"]["mod"]).json_body["data"]
    assert requests.get(seen["thumbnailUrl"], timeout=10).status_code == 200


# ------------------------------------------------------------------------------------ comments and posts


def test_a_taken_down_comment_is_removed_and_kept_in_the_log(client, people, make_video):
    video = make_video(people["users"]["owner"])
    vid = video["id"]
    spam = _post(client, f"/api/v2/comments/{vid}", people["as"]["owner"], {"content": "buy pills"}).json_body["data"]
    _post(client, f"/api/v2/comments/{vid}", people["as"]["reporter"], {"content": "reply", "parentId": spam["id"]})
    report = _report(client, people["as"]["reporter"], "comment", spam["id"]).json_body["data"]
    second = _report(client, people["as"]["admin"], "comment", spam["id"]).json_body["data"]

    assert _decide(client, people["as"]["mod"], report["id"], "takedown").status_code == 200

    [thread] = client.get(f"/api/v2/comments/{vid}", headers=people["as"]["reporter"]).json_body["data"]
    assert (thread["id"], thread["content"], thread["isDeleted"]) == (spam["id"], "[deleted]", True)  # thread kept
    assert db.fetch_value("SELECT details->>'content' FROM moderation_log WHERE action = 'takedown'") == "buy pills"
    # the other open report of the same comment is closed with it, and its reporter told too
    assert db.fetch_value("SELECT state FROM reports WHERE id = :id", id=second["id"]) == "actioned"
    assert db.fetch_value("SELECT count(*) FROM notifications WHERE type = 'report.decided'") == 2


def test_a_taken_down_post_is_removed(client, people):
    tweet = _post(client, "/api/v2/tweets", people["as"]["owner"], {"content": "hateful"}).json_body["data"]
    report = _report(client, people["as"]["reporter"], "tweet", tweet["id"], reason="hate").json_body["data"]

    _decide(client, people["as"]["mod"], report["id"], "takedown")

    posts = client.get(f"/api/v2/tweets/user/{people['users']['owner']['id']}", headers=people["as"]["reporter"])
    assert posts.json_body["data"] == []
    assert db.fetch_value("SELECT details->>'content' FROM moderation_log WHERE action = 'takedown'") == "hateful"


# ------------------------------------------------------------------------------------ bans


def _me(client, headers):
    return client.get("/api/v2/user/current-user-details", headers=headers)


@pytest.mark.parametrize(("cache", "target", "action"), [("memory", "comment", "ban"), ("redis", "user", "takedown")])
def test_a_ban_refuses_sign_in_and_every_token_at_once(client, people, make_video, sign_in, monkeypatch, cache,
                                                       target, action, request):
    if cache == "redis":  # the cached sign-ins live in a real Redis, shared by every process
        import redis

        from shared.settings import reset_settings

        url = request.getfixturevalue("redis_server")
        redis.Redis.from_url(url).flushdb()
        monkeypatch.setenv("REDIS_URL", url)
        reset_settings()
    owner = people["users"]["owner"]
    video = make_video(owner)
    comment = _post(client, f"/api/v2/comments/{video['id']}", people["as"]["owner"],
                    {"content": "spam"}).json_body["data"]
    tokens = sign_in(owner)
    access = {"Authorization": tokens["Authorization"]}
    assert _me(client, access).status_code == 200  # the session is cached now
    target_id = comment["id"] if target == "comment" else owner["id"]
    report = _report(client, people["as"]["reporter"], target, target_id, reason="harassment").json_body["data"]

    assert _decide(client, people["as"]["mod"], report["id"], action, note="repeat offender").status_code == 200

    assert _me(client, access).status_code == 401
    assert _me(client, people["as"]["owner"]).status_code == 401
    login = _post(client, "/api/v2/user/login", {}, {"username": "owner", "password": owner["password"]})
    assert (login.status_code, login.json_body["message"]) == (
        403, "This account has been banned for breaking the community rules")
    wrong = _post(client, "/api/v2/user/login", {}, {"username": "owner", "password": "Wrong1234"})
    assert wrong.status_code == 401  # the ban is told only to whoever knows the password
    refreshed = _post(client, "/api/v2/user/refresh-token", {}, {"refreshToken": tokens["X-Refresh-Token"]})
    assert refreshed.status_code == 401
    assert db.fetch_value("SELECT count(*) FROM sessions WHERE user_id = :id AND revoked_at IS NULL",
                          id=owner["id"]) == 0
    assert client.get(f"/api/v2/videos/{video['id']}", headers=people["as"]["reporter"]).status_code == 404
    [entry] = db.fetch_all("SELECT target_id, details FROM moderation_log WHERE action = 'ban'")
    assert entry["target_id"] == owner["id"]
    assert entry["details"]["videosTakenDown"] == 1 and entry["details"]["sessionsRevoked"] >= 2
    if target == "comment":
        threads = client.get(f"/api/v2/comments/{video['id']}", headers=people["as"]["mod"]).json_body["data"]
        assert threads == []  # the reported comment is taken down with the ban


def test_an_account_banned_between_the_password_and_the_code_is_refused_at_the_code(client, people, monkeypatch):
    import pyotp

    from shared.services import two_factor

    now = datetime.now(UTC)
    monkeypatch.setattr(two_factor, "_now", lambda: now)
    owner = people["users"]["owner"]
    secret = _post(client, "/api/v2/user/2fa/enroll", people["as"]["owner"],
                   {"password": owner["password"]}).json_body["data"]["secret"]
    _post(client, "/api/v2/user/2fa/confirm", people["as"]["owner"], {"code": pyotp.TOTP(secret).at(now)})
    now += timedelta(seconds=30)
    challenge = _post(client, "/api/v2/user/login", {},
                      {"username": "owner", "password": owner["password"]}).json_body["data"]["challenge"]
    moderation_sql.ban(user_id=owner["id"])

    answer = _post(client, "/api/v2/user/login/otp", {}, {"challenge": challenge, "code": pyotp.TOTP(secret).at(now)})

    assert (answer.status_code, answer.json_body["message"]) == (
        403, "This account has been banned for breaking the community rules")
    assert "Set-Cookie" not in answer.headers


def test_a_session_a_racing_sign_in_made_after_the_ban_is_refused(client, people, sign_in):
    owner = people["users"]["owner"]
    moderation_sql.ban(user_id=owner["id"])  # as if the ban committed while this sign-in was checking the password

    late = sign_in(owner)

    assert _me(client, {"Authorization": late["Authorization"]}).status_code == 401


def test_moderators_and_admins_cannot_be_banned(client, people):
    report = _report(client, people["as"]["reporter"], "user", people["users"]["admin"]["id"]).json_body["data"]

    refused = _decide(client, people["as"]["mod"], report["id"], "ban")

    assert refused.status_code == 403
    assert refused.json_body["message"] == "Admins cannot be banned; change their role from the command line first"
    assert db.fetch_value("SELECT state FROM reports WHERE id = :id", id=report["id"]) == "open"  # nothing half done
    assert _me(client, people["as"]["admin"]).status_code == 200
