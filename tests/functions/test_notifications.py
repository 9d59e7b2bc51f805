"""Notifications (issue #15, points 4 and 8): every type delivered by the action that causes it (and never to the user
who acted), the fan-out of a new public video to a channel's subscribers through jobs, the inbox
(GET /notifications → {docs, nextCursor, unreadCount}) paged by cursor, marking one or all read, per-type settings,
what a recipient no longer may see (nulled), and another user's notifications being "not found"."""

import json
import threading
import time
import uuid

import pytest

from shared import db, errors, jobs
from shared.schemas import notifications as notification_schemas
from shared.services import job_handlers, notifications, scheduling
from shared.sql import notifications as notifications_sql
from tests.conftest import jpeg_bytes, multipart, video_bytes

JSON = {"Content-Type": "application/json"}
API = "/api/v2/notifications"


def _inbox(client, headers, query=""):
    response = client.get(f"{API}{query}", headers=headers)
    assert response.status_code == 200, response.body
    return response.json_body["data"]


def _types(client, headers):
    return [d["type"] for d in _inbox(client, headers)["docs"]]


def _patch_video(client, headers, video_id, **body):
    response = client.patch(f"/api/v2/videos/{video_id}", headers={**headers, **JSON}, body=json.dumps(body))
    assert response.status_code == 200, response.body
    return response.json_body["data"]


def _comment(client, headers, video_id, content="Nice one", parent=None):
    body = {"content": content, **({"parentId": str(parent)} if parent else {})}
    response = client.post(f"/api/v2/comments/{video_id}", headers={**headers, **JSON}, body=json.dumps(body))
    assert response.status_code == 201, response.body
    return response.json_body["data"]


def _settings(client, headers, body):
    return client.patch(f"{API}/settings", headers={**headers, **JSON}, body=json.dumps(body))


@pytest.fixture
def people(make_user, auth):
    """A channel, two of its subscribers, and a stranger; each with sign-in headers."""
    users = {name: make_user(username=f"{name}{uuid.uuid4().hex[:6]}", fullname=name.title())
             for name in ("owner", "alice", "bob", "stranger")}
    for name in ("alice", "bob"):
        db.execute("INSERT INTO subscriptions (subscriber_id, channel_id) VALUES (:s, :c)", s=users[name]["id"],
                   c=users["owner"]["id"])
    return {"user": users, **{name: auth(user) for name, user in users.items()}}


# ------------------------------------------------------------------------------------------------ notify()


def test_notify_refuses_an_unknown_type_and_never_tells_users_of_their_own_actions(people):
    owner = people["user"]["owner"]["id"]
    with pytest.raises(ValueError):
        notifications.notify(owner, "video.liked")

    notifications.notify(owner, "comment.created", actor_id=owner)

    assert db.fetch_value("SELECT count(*) FROM notifications") == 0


def test_notify_joins_the_callers_transaction(people):
    owner = people["user"]["owner"]["id"]
    with pytest.raises(RuntimeError), db.transaction():
        notifications.notify(owner, "export.ready", export_id=uuid.uuid4())
        raise RuntimeError("the caller's work failed")

    assert db.fetch_value("SELECT count(*) FROM notifications") == 0


def test_the_schema_lists_the_same_types_as_the_service():
    assert notification_schemas.TYPES == notifications.TYPES
    assert set(notification_schemas.NotificationSettings.model_fields) == {t.replace(".", "_")
                                                                             for t in notifications.TYPES}


# ------------------------------------------------------------------------------------------------ video.published


def test_a_video_made_public_tells_every_subscriber_through_a_job(client, people, make_video):
    video = make_video(people["user"]["owner"], title="cats", published=False)

    _patch_video(client, people["owner"], video["id"], privacy="public")

    assert _inbox(client, people["alice"])["docs"] == []  # a job does the fan-out, not the request
    jobs.run_pending()
    for name in ("alice", "bob"):
        [doc] = _inbox(client, people[name])["docs"]
        assert doc["type"] == "video.published" and doc["read"] is False
        assert doc["video"]["_id"] == str(video["id"]) and doc["video"]["title"] == "cats"
        assert doc["video"]["thumbnail"].startswith("http")
        owner = people["user"]["owner"]
        assert doc["actor"] == {"_id": str(owner["id"]), "username": owner["username"], "fullName": "Owner",
                                "avatar": owner["avatar"]}
        assert doc["comment"] is None
    assert _types(client, people["stranger"]) == []
    assert _types(client, people["owner"]) == []


def test_a_video_is_announced_once_even_when_it_goes_private_and_public_again(client, people, make_video):
    video = make_video(people["user"]["owner"], published=False)
    for privacy in ("public", "private", "public"):
        _patch_video(client, people["owner"], video["id"], privacy=privacy)
        jobs.run_pending()

    assert _types(client, people["alice"]) == ["video.published"]


def test_the_v2_toggle_announces_a_video_it_publishes(client, people, make_video):
    video = make_video(people["user"]["owner"], published=False)

    response = client.patch(f"/api/v2/videos/toggle/publish/{video['id']}", headers=people["owner"])
    assert response.status_code == 200, response.body
    jobs.run_pending()

    assert _types(client, people["alice"]) == ["video.published"]


def test_unlisted_and_private_videos_are_not_announced(client, people, make_video):
    video = make_video(people["user"]["owner"], published=False)
    _patch_video(client, people["owner"], video["id"], privacy="unlisted")
    jobs.run_pending()

    assert _types(client, people["alice"]) == []


def test_a_new_public_upload_is_announced_and_its_processing_tells_the_owner(client, people):
    body, form_headers = multipart({"title": "fresh", "description": "d"}, {
        "videoFile": ("v.mp4", video_bytes("mp4"), "video/mp4"), "thumbnail": ("t.jpg", jpeg_bytes(), "image/jpeg")})
    response = client.post("/api/v2/videos", body=body, headers={**people["owner"], **form_headers})
    assert response.status_code == 200, response.body
    video_id = response.json_body["data"]["video"]["id"]

    jobs.run_pending()

    assert [(d["type"], d["video"]["_id"]) for d in _inbox(client, people["alice"])["docs"]] == [
        ("video.published", video_id)]
    [processed] = _inbox(client, people["owner"])["docs"]
    assert processed["type"] == "video.processed" and processed["video"]["_id"] == video_id
    assert processed["actor"] is None


def test_a_scheduled_video_turning_public_is_announced(client, people, make_video):
    video = make_video(people["user"]["owner"], published=False)
    _patch_video(client, people["owner"], video["id"], publishAt="2031-01-01T00:00:00Z")
    jobs.run_pending()
    assert _types(client, people["alice"]) == []

    db.execute("UPDATE videos SET publish_at = now() - interval '1 second' WHERE id = :id", id=video["id"])
    assert scheduling.publish_due() == [video["id"]]
    jobs.run_pending()

    assert _types(client, people["alice"]) == ["video.published"]


def test_the_fan_out_goes_in_chunks_skips_muted_subscribers_and_a_rerun_tells_nobody_twice(
        client, people, make_user, make_video, monkeypatch):
    owner = people["user"]["owner"]
    more = [make_user() for _ in range(4)]
    for user in more:
        db.execute("INSERT INTO subscriptions (subscriber_id, channel_id) VALUES (:s, :c)", s=user["id"], c=owner["id"])
    assert _settings(client, people["bob"], {"video.published": False}).status_code == 200
    monkeypatch.setattr(notifications, "FANOUT_CHUNK", 2)
    video = make_video(owner, published=False)
    _patch_video(client, people["owner"], video["id"], privacy="public")

    jobs.run_pending()
    chunks = db.fetch_value("SELECT count(*) FROM jobs WHERE kind = :k", k=notifications.FANOUT_JOB)
    notifications.announce_published(video["id"])  # a duplicate announcement (a retried job, a second publish)
    jobs.run_pending()

    told = {r["recipient_id"] for r in db.fetch_all("SELECT recipient_id FROM notifications")}
    assert told == {people["user"]["alice"]["id"], *(u["id"] for u in more)}
    assert db.fetch_value("SELECT count(*) FROM notifications") == 5
    assert chunks == 4  # 6 subscribers, 2 a chunk: the third is full too, so a fourth looks and finds nobody


def test_two_workers_fanning_out_one_video_at_once_tell_each_subscriber_once(people, make_user, make_video,
                                                                             monkeypatch):
    owner = people["user"]["owner"]
    for user in [make_user() for _ in range(6)]:
        db.execute("INSERT INTO subscriptions (subscriber_id, channel_id) VALUES (:s, :c)", s=user["id"], c=owner["id"])
    video = make_video(owner)
    monkeypatch.setattr(notifications, "FANOUT_CHUNK", 3)
    start, failures = threading.Barrier(2), []

    def worker():
        try:
            start.wait()
            notifications._fan_out({"video_id": str(video["id"])})
            while jobs.run_one(kinds=[notifications.FANOUT_JOB]):
                pass
        except Exception as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert db.fetch_value("SELECT count(*) FROM notifications") == 8  # alice, bob and the six
    assert db.fetch_value("SELECT count(DISTINCT recipient_id) FROM notifications") == 8


def test_a_video_no_longer_public_at_fan_out_time_is_announced_to_nobody(client, people, make_video):
    video = make_video(people["user"]["owner"], published=False)
    _patch_video(client, people["owner"], video["id"], privacy="public")
    _patch_video(client, people["owner"], video["id"], privacy="private")

    jobs.run_pending()

    assert db.fetch_value("SELECT count(*) FROM notifications") == 0


def test_a_video_the_recipient_may_no_longer_see_is_nulled_and_the_notification_stays(client, people, make_video):
    video = make_video(people["user"]["owner"], published=False)
    _patch_video(client, people["owner"], video["id"], privacy="public")
    jobs.run_pending()
    comment = _comment(client, people["alice"], video["id"], "first!")

    _patch_video(client, people["owner"], video["id"], privacy="private")

    inbox = _inbox(client, people["alice"])
    assert [d["type"] for d in inbox["docs"]] == ["video.published"] and inbox["unreadCount"] == 1
    assert inbox["docs"][0]["video"] is None
    [news] = _inbox(client, people["owner"])["docs"]  # the owner still sees their own private video and its comment
    assert news["video"]["_id"] == str(video["id"]) and news["comment"]["content"] == "first!"
    assert news["video"]["thumbnail"] != video["thumbnail_url"]  # a private video's thumbnail goes out signed

    _patch_video(client, people["owner"], video["id"], privacy="public")  # public again: announced already
    assert client.delete(f"/api/v2/comments/c/{comment['id']}", headers=people["alice"]).status_code == 200
    assert [d["video"]["_id"] for d in _inbox(client, people["alice"])["docs"]] == [str(video["id"])]
    assert _inbox(client, people["owner"])["docs"][0]["comment"] is None
    assert client.delete(f"/api/v2/videos/{video['id']}", headers=people["owner"]).status_code == 200
    assert _inbox(client, people["owner"])["docs"][0]["video"] is None


def test_a_taken_down_video_is_nulled_for_everyone_but_its_owner(client, people, make_video):
    video = make_video(people["user"]["owner"], published=False)
    _patch_video(client, people["owner"], video["id"], privacy="public")
    jobs.run_pending()
    _comment(client, people["alice"], video["id"], "first!")

    db.execute("UPDATE videos SET taken_down_at = now() WHERE id = :id", id=video["id"])  # as moderation does

    assert _inbox(client, people["alice"])["docs"][0]["video"] is None
    assert _inbox(client, people["owner"])["docs"][0]["video"]["_id"] == str(video["id"])


def test_nothing_a_blocked_user_does_reaches_the_blocker(client, people, make_video):
    users = people["user"]
    video = make_video(users["owner"])
    question = _comment(client, people["alice"], video["id"], "question?")
    _comment(client, people["bob"], video["id"], "before the block", parent=question["id"])

    db.execute("INSERT INTO user_blocks (blocker_id, blocked_id) VALUES (:a, :b), (:a, :o)", a=users["alice"]["id"],
               b=users["bob"]["id"], o=users["owner"]["id"])
    _comment(client, people["bob"], video["id"], "after the block", parent=question["id"])
    _patch_video(client, people["owner"], make_video(users["owner"], published=False)["id"], privacy="public")
    jobs.run_pending()

    [before] = _inbox(client, people["alice"])["docs"]  # the old one stays, without the blocked user's words
    assert before["type"] == "comment.reply" and before["comment"] is None
    assert _types(client, people["bob"]) == ["video.published"]  # bob blocked nobody: the new video reaches him


# ------------------------------------------------------------------------------------------------ comments


def test_a_comment_on_my_video_tells_me_but_not_its_author(client, people, make_video):
    video = make_video(people["user"]["owner"])

    comment = _comment(client, people["alice"], video["id"], "lovely")
    _comment(client, people["owner"], video["id"], "thanks all")

    [doc] = _inbox(client, people["owner"])["docs"]
    assert doc["type"] == "comment.created"
    assert doc["comment"] == {"_id": comment["id"], "content": "lovely"}
    assert doc["actor"]["username"] == people["user"]["alice"]["username"]
    assert _types(client, people["alice"]) == []


def test_a_reply_tells_the_comments_author_and_the_videos_owner_each_once(client, people, make_video):
    video = make_video(people["user"]["owner"])
    alices = _comment(client, people["alice"], video["id"], "question?")
    owners = _comment(client, people["owner"], video["id"], "pinned")

    reply = _comment(client, people["bob"], video["id"], "answer", parent=alices["id"])
    _comment(client, people["bob"], video["id"], "agreed", parent=owners["id"])
    _comment(client, people["alice"], video["id"], "thanks", parent=alices["id"])  # to her own thread: no news

    [to_alice] = _inbox(client, people["alice"])["docs"]
    assert to_alice["type"] == "comment.reply" and to_alice["comment"]["_id"] == reply["id"]
    # the owner: alice's comment, bob's reply under it, bob's reply to the owner's own comment (as a reply, once),
    # alice's reply in her thread
    assert _types(client, people["owner"]) == ["comment.created", "comment.reply", "comment.created",
                                               "comment.created"]
    assert _types(client, people["bob"]) == []


def test_held_comments_tell_the_owner_and_their_approval_tells_the_author_answered(client, people, make_video):
    video = make_video(people["user"]["owner"])
    _patch_video(client, people["owner"], video["id"], commentPolicy="approval")
    alices = _comment(client, people["alice"], video["id"], "held top")
    response = client.post(f"/api/v2/comments/c/{alices['id']}/approve", headers=people["owner"])
    assert response.status_code == 200, response.body

    reply = _comment(client, people["bob"], video["id"], "held reply", parent=alices["id"])
    assert reply["status"] == "held"
    assert _types(client, people["alice"]) == []  # not hers to see yet
    assert _types(client, people["owner"]) == ["comment.created", "comment.created"]  # each held one, to decide on
    for _ in range(2):  # approving twice tells her once
        response = client.post(f"/api/v2/comments/c/{reply['id']}/approve", headers=people["owner"])
        assert response.status_code == 200, response.body

    [doc] = _inbox(client, people["alice"])["docs"]
    assert doc["type"] == "comment.reply" and doc["comment"]["_id"] == reply["id"]
    assert _types(client, people["owner"]) == ["comment.created", "comment.created"]


def test_a_comment_and_its_notification_commit_together(client, people, make_video, monkeypatch):
    video = make_video(people["user"]["owner"])

    def down(**_):
        raise errors.ServiceUnavailable("Database unavailable")

    monkeypatch.setattr(notifications_sql, "comment_posted", down)
    response = client.post(f"/api/v2/comments/{video['id']}", headers={**people["alice"], **JSON},
                           body=json.dumps({"content": "lost?"}))

    assert response.status_code == 503
    assert db.fetch_value("SELECT count(*) FROM comments") == 0


# ------------------------------------------------------------------------------------------------ processing, others


def test_a_video_whose_processing_gives_up_tells_its_owner(client, people, make_video):
    video = make_video(people["user"]["owner"])

    job_handlers._processing_failed({"video_id": str(video["id"])}, "not a readable video")

    [doc] = _inbox(client, people["owner"])["docs"]
    assert doc["type"] == "video.failed" and doc["video"]["_id"] == str(video["id"])


def test_the_stores_own_stream_finishing_or_failing_tells_the_owner(client, people, make_video):
    video = make_video(people["user"]["owner"])

    assert job_handlers.stream_ready(video_public_id=video["video_file_public_id"], ok=True)
    assert job_handlers.stream_ready(video_public_id=video["video_file_public_id"], ok=False, reason="bad codec")

    assert _types(client, people["owner"]) == ["video.failed", "video.processed"]


def test_report_decided_and_export_ready_carry_their_ids(client, people):
    owner = people["user"]["owner"]["id"]
    report_id, export_id = uuid.uuid4(), uuid.uuid4()
    notifications.notify(owner, "report.decided", report_id=report_id)
    notifications.notify(owner, "export.ready", export_id=export_id)

    # Both in the same millisecond: their order within it is not defined, so they are found by type.
    by_type = {doc["type"]: doc for doc in _inbox(client, people["owner"])["docs"]}
    ready, decided = by_type["export.ready"], by_type["report.decided"]
    assert (ready["type"], ready["exportId"], ready["reportId"]) == ("export.ready", str(export_id), None)
    assert (decided["type"], decided["reportId"]) == ("report.decided", str(report_id))
    assert decided["actor"] is None and decided["video"] is None


def test_the_retention_sweep_deletes_notifications_past_their_time_in_batches(people, monkeypatch):
    owner = people["user"]["owner"]["id"]
    for _ in range(4):
        notifications.notify(owner, "export.ready", export_id=uuid.uuid4())
    ids = [r["id"] for r in db.fetch_all("SELECT id FROM notifications ORDER BY id")]
    days = notifications.RETENTION_DAYS
    for n, notification_id in enumerate(ids[:3]):  # three from before the retention period
        old = notifications._uuid7_floor(time.time() - (days + 1) * 86400).int + n
        db.execute("UPDATE notifications SET id = :old WHERE id = :id", old=uuid.UUID(int=old), id=notification_id)
    monkeypatch.setattr(notifications, "_RETENTION_BATCH", 2)
    notifications.RETENTION_PACE.reset()

    job_handlers.periodic()  # the worker's pass and the serverless schedule both run it


    assert [r["id"] for r in db.fetch_all("SELECT id FROM notifications")] == ids[3:]


# ------------------------------------------------------------------------------------------------ the inbox


@pytest.fixture
def seven(people):
    """Seven notifications for the owner, newest last; their ids newest first."""
    owner = people["user"]["owner"]["id"]
    for _ in range(7):
        notifications.notify(owner, "export.ready", export_id=uuid.uuid4())
    return [r["id"] for r in db.fetch_all("SELECT id::text AS id FROM notifications ORDER BY id DESC")]


def test_the_cursor_walks_the_whole_inbox_newest_first_without_repeats(client, people, seven):
    seen, cursor, pages = [], None, 0
    while True:
        page = _inbox(client, people["owner"], f"?limit=3{'&cursor=' + cursor if cursor else ''}")
        seen += [d["id"] for d in page["docs"]]
        assert page["unreadCount"] == 7
        pages += 1
        cursor = page["nextCursor"]
        if cursor is None:
            break

    assert seen == seven and pages == 3


def test_read_one_then_all_with_the_unread_count_and_the_unread_filter(client, people, seven):
    response = client.post(f"{API}/{seven[1]}/read", headers=people["owner"])
    assert response.status_code == 200, response.body
    assert response.json_body["data"] == {"marked": 1, "unreadCount": 6}
    again = client.post(f"{API}/{seven[1]}/read", headers=people["owner"])
    assert again.json_body["data"] == {"marked": 0, "unreadCount": 6}

    inbox = _inbox(client, people["owner"])
    assert [d["read"] for d in inbox["docs"]] == [False, True, False, False, False, False, False]
    unread = _inbox(client, people["owner"], "?unread=true&limit=5")
    assert [d["id"] for d in unread["docs"]] == [seven[0], *seven[2:6]] and unread["unreadCount"] == 6
    rest = _inbox(client, people["owner"], f"?unread=true&limit=5&cursor={unread['nextCursor']}")
    assert [d["id"] for d in rest["docs"]] == seven[6:] and rest["nextCursor"] is None

    response = client.post(f"{API}/read-all", headers=people["owner"])
    assert response.json_body["data"] == {"marked": 6, "unreadCount": 0}
    assert _inbox(client, people["owner"], "?unread=true") == {"docs": [], "nextCursor": None, "unreadCount": 0}
    assert all(d["read"] for d in _inbox(client, people["owner"])["docs"])


def test_another_users_notification_is_not_found_and_stays_unread(client, people, seven):
    response = client.post(f"{API}/{seven[0]}/read", headers=people["stranger"])

    assert response.status_code == 404
    assert response.json_body["message"] == "Notification not found"
    assert client.post(f"{API}/read-all", headers=people["stranger"]).json_body["data"]["marked"] == 0
    assert _inbox(client, people["owner"])["unreadCount"] == 7
    assert _inbox(client, people["stranger"]) == {"docs": [], "nextCursor": None, "unreadCount": 0}
    assert client.post(f"{API}/{uuid.uuid4()}/read", headers=people["owner"]).status_code == 404


def test_a_bad_cursor_limit_or_filter_is_a_400(client, people):
    for query in ("?cursor=bm9wZQ", "?cursor=%%%", "?cursor=" + "A" * 5000, "?cursor=%00", "?limit=0", "?limit=101",
                  "?limit=x", "?limit=99999999999999999999", "?unread=yes", "?unread=true&unread=false"):
        response = client.get(f"{API}{query}", headers=people["owner"])

        assert response.status_code == 400, query
        assert response.json_body["success"] is False and response.json_body["message"], query


def test_a_bad_notification_id_is_a_400(client, people):
    assert client.post(f"{API}/not-a-uuid/read", headers=people["owner"]).status_code == 400


def test_every_route_needs_a_caller(client):
    assert client.get(API).status_code == 401
    assert client.post(f"{API}/read-all").status_code == 401
    assert client.post(f"{API}/{uuid.uuid4()}/read").status_code == 401
    assert client.get(f"{API}/settings").status_code == 401
    assert client.patch(f"{API}/settings", headers=JSON, body="{}").status_code == 401


# ------------------------------------------------------------------------------------------------ settings


def test_settings_are_all_on_by_default_and_a_type_turned_off_is_not_delivered(client, people, make_video):
    response = client.get(f"{API}/settings", headers=people["owner"])
    assert response.json_body["data"] == dict.fromkeys(notifications.TYPES, True)
    video = make_video(people["user"]["owner"])

    response = _settings(client, people["owner"], {"comment.created": False, "video.failed": True})
    assert response.status_code == 200, response.body
    assert response.json_body["data"] == {t: t != "comment.created" for t in notifications.TYPES}
    _comment(client, people["alice"], video["id"], "unheard")
    assert _types(client, people["owner"]) == []

    assert _settings(client, people["owner"], {"comment.created": True}).status_code == 200
    _comment(client, people["alice"], video["id"], "heard")
    assert _types(client, people["owner"]) == ["comment.created"]
    assert client.get(f"{API}/settings", headers=people["owner"]).json_body["data"]["comment.created"] is True


def test_bad_settings_are_refused_naming_the_problem(client, people):
    refused = {
        '{}': "at least one", '{"video.failed": null}': "at least one",
        '{"comment.made": false}': "comment.made", '{"comment.created": "false"}': "comment.created",
        '{"video.failed": 0}': "video.failed", '{"video.failed": false, "x\\u0000": true}': "x",
    }
    for body, named in refused.items():
        response = client.patch(f"{API}/settings", headers={**people["owner"], **JSON}, body=body)

        assert response.status_code in (400, 422), (body, response.body)
        said = response.json_body["message"] + " ".join(response.json_body.get("errors") or [])
        assert named in said, (body, said)
    assert client.get(f"{API}/settings", headers=people["owner"]).json_body["data"] == dict.fromkeys(
        notifications.TYPES, True)


def test_a_settings_body_that_is_not_an_object_is_a_400(client, people):
    response = client.patch(f"{API}/settings", headers={**people["owner"], **JSON}, body="[true]")

    assert response.status_code == 400
