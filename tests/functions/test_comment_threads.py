"""Replies, comment policy and held comments (issue #15, point 2): one level of threading as YouTube has, a video's
list of threads with reply counts, a thread's replies paged, a deleted parent kept as "[deleted]" while its thread
lives, and open / closed / approval videos."""

import json
import threading

import pytest

from shared import db
from shared.sql import comments as comments_sql
from tests.conftest import jpeg_bytes, multipart, video_bytes

JSON = {"Content-Type": "application/json"}


def _add(client, headers, video, content="Great video!", parent=None):
    body = {"content": content, **({"parentId": str(parent)} if parent else {})}
    return client.post(f"/api/v2/comments/{video['id']}", headers={**headers, **JSON}, body=json.dumps(body))


def _added(client, headers, video, content="Great video!", parent=None):
    response = _add(client, headers, video, content, parent)
    assert response.status_code == 201, response.body
    return response.json_body["data"]


def _threads(client, headers, video, query=""):
    response = client.get(f"/api/v2/comments/{video['id']}{query}", headers=headers)
    assert response.status_code == 200, response.body
    return response.json_body["data"]


def _replies(client, headers, comment, query=""):
    return client.get(f"/api/v2/comments/c/{comment['id']}/replies{query}", headers=headers)


def _policy(client, headers, video, policy):
    response = client.patch(f"/api/v2/videos/{video['id']}", headers={**headers, **JSON},
                            body=json.dumps({"commentPolicy": policy}))
    assert response.status_code == 200, response.body
    return response.json_body["data"]


@pytest.fixture
def scene(make_user, make_video, auth):
    owner, alice, bob = make_user(), make_user(), make_user()
    video = make_video(owner)
    return {"owner": auth(owner), "alice": auth(alice), "bob": auth(bob), "video": video,
            "ids": {"owner": owner["id"], "alice": alice["id"], "bob": bob["id"]}}


# ------------------------------------------------------------------------------------ replies


def test_a_reply_is_listed_under_its_thread_not_in_the_videos_list(client, scene):
    video = scene["video"]
    top = _added(client, scene["alice"], video, "first")

    reply = _added(client, scene["bob"], video, "an answer", parent=top["id"])

    assert reply["parentId"] == top["id"] and reply["status"] == "published"
    threads = _threads(client, scene["owner"], video)
    assert [t["id"] for t in threads] == [top["id"]]
    assert threads[0]["repliesCount"] == 1 and threads[0]["isDeleted"] is False
    assert threads[0]["parentId"] is None
    listed = _replies(client, scene["owner"], top)
    assert listed.status_code == 200
    assert [(r["id"], r["content"], r["user"]["username"]) for r in listed.json_body["data"]] == [
        (reply["id"], "an answer", listed.json_body["data"][0]["user"]["username"])]
    assert listed.json_body["data"][0]["parentId"] == top["id"]


def test_a_reply_to_a_reply_joins_the_same_thread(client, scene):
    video = scene["video"]
    top = _added(client, scene["alice"], video)
    first = _added(client, scene["bob"], video, "reply", parent=top["id"])

    second = _added(client, scene["alice"], video, "reply to the reply", parent=first["id"])

    assert second["parentId"] == top["id"]
    assert _threads(client, scene["owner"], video)[0]["repliesCount"] == 2
    assert [r["id"] for r in _replies(client, scene["owner"], top).json_body["data"]] == [first["id"], second["id"]]
    assert _replies(client, scene["owner"], first).json_body["data"] == []


def test_a_parent_must_be_a_comment_of_the_same_video(client, scene, make_video, make_user):
    other_video = make_video(make_user())
    elsewhere = _added(client, scene["alice"], other_video)

    assert _add(client, scene["bob"], scene["video"], parent=elsewhere["id"]).status_code == 404
    assert _add(client, scene["bob"], scene["video"], parent="0196a5a0-3c1e-7d2a-9f4b-2b8e1c3d4e5f").status_code == 404
    bad = _add(client, scene["bob"], scene["video"], parent="not-a-uuid")
    assert bad.status_code == 400 and "parentId" in bad.json_body["message"]
    assert db.fetch_value("SELECT count(*) FROM comments") == 1


def test_replies_are_paged_oldest_first_with_the_paging_headers(client, scene):
    video = scene["video"]
    top = _added(client, scene["alice"], video)
    made = [_added(client, scene["bob"], video, f"r{i}", parent=top["id"])["id"] for i in range(5)]
    db.execute("UPDATE comments SET created_at = now() - make_interval(secs => 100 - CAST(substr(content, 2) AS int))"
               " WHERE parent_id = :p", p=top["id"])  # r0 oldest

    page2 = _replies(client, scene["owner"], top, "?page=2&limit=2")

    assert page2.status_code == 200
    assert [r["id"] for r in page2.json_body["data"]] == made[2:4]
    assert page2.headers["X-Total-Count"] == "5"
    link = page2.headers["Link"]
    assert 'page=3>; rel="next"' in link and 'page=1>; rel="prev"' in link and 'page=3>; rel="last"' in link
    assert link.startswith(f"</api/v2/comments/c/{top['id']}/replies?limit=2&page=1>")


def test_replies_of_an_unknown_or_invisible_comment_are_404(client, scene, make_user, make_video, auth):
    hidden = make_video(scene_owner := make_user(), published=False)
    mine = _added(client, auth(scene_owner), hidden)

    assert _replies(client, scene["alice"], mine).status_code == 404
    assert _replies(client, auth(scene_owner), mine).status_code == 200
    assert client.get("/api/v2/comments/c/nope/replies", headers=scene["alice"]).status_code == 400


def test_deleting_a_parent_with_replies_keeps_its_thread_readable(client, scene):
    video = scene["video"]
    top = _added(client, scene["alice"], video, "secret words")
    reply = _added(client, scene["bob"], video, "answer", parent=top["id"])

    deleted = client.delete(f"/api/v2/comments/c/{top['id']}", headers=scene["alice"])

    assert deleted.status_code == 200
    [thread] = _threads(client, scene["owner"], video)
    assert thread["id"] == top["id"] and thread["isDeleted"] is True
    assert thread["content"] == "[deleted]" and thread["userId"] is None
    assert thread["user"] == {"username": "[deleted]", "fullname": "[deleted]", "avatar": ""}
    assert thread["repliesCount"] == 1
    assert db.fetch_value("SELECT content FROM comments WHERE id = :id", id=top["id"]) == ""  # the text is gone
    assert [r["id"] for r in _replies(client, scene["owner"], top).json_body["data"]] == [reply["id"]]
    # A deleted comment takes no reply, no edit and no second delete.
    assert _add(client, scene["bob"], video, parent=top["id"]).status_code == 404
    assert client.patch(f"/api/v2/comments/c/{top['id']}", headers={**scene["alice"], **JSON},
                        body=json.dumps({"content": "back"})).status_code == 404
    assert client.delete(f"/api/v2/comments/c/{top['id']}", headers=scene["alice"]).status_code == 404


def test_the_deleted_parent_goes_with_its_last_reply(client, scene):
    video = scene["video"]
    top = _added(client, scene["alice"], video)
    reply = _added(client, scene["bob"], video, "answer", parent=top["id"])
    assert client.delete(f"/api/v2/comments/c/{top['id']}", headers=scene["alice"]).status_code == 200

    assert client.delete(f"/api/v2/comments/c/{reply['id']}", headers=scene["bob"]).status_code == 200

    assert _threads(client, scene["owner"], video) == []
    assert db.fetch_value("SELECT count(*) FROM comments") == 0


def test_deleting_a_reply_uncounts_it_and_a_parent_without_replies_is_removed(client, scene):
    video = scene["video"]
    top = _added(client, scene["alice"], video)
    reply = _added(client, scene["bob"], video, "answer", parent=top["id"])

    assert client.delete(f"/api/v2/comments/c/{reply['id']}", headers=scene["owner"]).status_code == 200
    assert _threads(client, scene["owner"], video)[0]["repliesCount"] == 0
    assert client.delete(f"/api/v2/comments/c/{top['id']}", headers=scene["alice"]).status_code == 200

    assert _threads(client, scene["owner"], video) == []
    assert db.fetch_value("SELECT count(*) FROM comments") == 0


def test_the_threads_total_counts_top_level_comments_only(client, scene):
    video = scene["video"]
    tops = [_added(client, scene["alice"], video, f"t{i}") for i in range(3)]
    _added(client, scene["bob"], video, "r", parent=tops[0]["id"])

    response = client.get(f"/api/v2/comments/{video['id']}?limit=2", headers=scene["owner"])

    assert response.headers["X-Total-Count"] == "3"
    assert len(response.json_body["data"]) == 2


# ------------------------------------------------------------------------------------ comment policy


def test_videos_carry_their_comment_policy_and_patch_changes_it(client, scene):
    video = scene["video"]

    def policy_seen_by(who):
        return client.get(f"/api/v2/videos/{video['id']}", headers=scene[who]).json_body["data"]["commentPolicy"]

    assert policy_seen_by("owner") == "open"
    assert _policy(client, scene["owner"], video, "approval")["commentPolicy"] == "approval"
    assert policy_seen_by("alice") == "approval"
    bad = client.patch(f"/api/v2/videos/{video['id']}", headers={**scene["owner"], **JSON},
                       body=json.dumps({"commentPolicy": "sometimes"}))
    assert bad.status_code == 422 and "commentPolicy" in bad.json_body["message"]
    other = client.patch(f"/api/v2/videos/{video['id']}", headers={**scene["alice"], **JSON},
                         body=json.dumps({"commentPolicy": "closed"}))
    assert other.status_code == 403
    assert db.fetch_value("SELECT comment_policy FROM videos WHERE id = :id", id=video["id"]) == "approval"


def test_publishing_a_video_takes_a_comment_policy(client, make_user, auth):
    headers = auth(make_user())
    files = {"videoFile": ("clip.mp4", video_bytes("mp4"), "video/mp4"), "thumbnail": ("t.jpg", jpeg_bytes(), "image/jpeg")}
    body, form_headers = multipart({"title": "Closed one", "commentPolicy": "closed"}, files)

    response = client.post("/api/v2/videos", body=body, headers={**headers, **form_headers})

    assert response.status_code == 200, response.body
    assert response.json_body["data"]["video"]["commentPolicy"] == "closed"
    bad = client.post("/api/v2/videos", headers={**headers, **JSON}, body=json.dumps(
        {"title": "t", "videoUploadId": "0196a5a0-3c1e-7d2a-9f4b-2b8e1c3d4e5f",
         "thumbnailUploadId": "0196a5a0-4d2f-7e3b-8a5c-3c9f2d4e5f60", "commentPolicy": "nobody"}))
    assert bad.status_code == 422


def test_registering_direct_uploads_takes_a_comment_policy(client, make_user, auth):
    headers = auth(make_user())
    ids = []
    for kind, mime, data in (("video", "video/mp4", video_bytes("mp4")), ("thumbnail", "image/jpeg", jpeg_bytes())):
        signed = client.post("/api/v2/uploads", headers={**headers, **JSON},
                             body=json.dumps({"kind": kind, "contentType": mime, "size": len(data)})).json_body["data"]
        assert client.put(signed["url"].split("testserver", 1)[1], body=data,
                          headers=signed["headers"]).status_code == 200
        ids.append(signed["uploadId"])

    response = client.post("/api/v2/videos", headers={**headers, **JSON}, body=json.dumps(
        {"title": "Direct", "videoUploadId": ids[0], "thumbnailUploadId": ids[1], "commentPolicy": "approval"}))

    assert response.status_code == 200, response.body
    assert response.json_body["data"]["video"]["commentPolicy"] == "approval"


def test_a_closed_video_refuses_comments_and_replies(client, scene):
    video = scene["video"]
    top = _added(client, scene["alice"], video)
    _policy(client, scene["owner"], video, "closed")

    assert _add(client, scene["bob"], video).status_code == 403
    assert _add(client, scene["bob"], video, parent=top["id"]).status_code == 403
    assert _add(client, scene["owner"], video).status_code == 403
    assert [t["id"] for t in _threads(client, scene["bob"], video)] == [top["id"]]  # what was said stays


def test_on_an_approval_video_new_comments_wait_for_the_owner(client, scene):
    video = scene["video"]
    _policy(client, scene["owner"], video, "approval")

    held = _added(client, scene["alice"], video, "please approve")
    own = _added(client, scene["owner"], video, "the owner's own")

    assert held["status"] == "held" and own["status"] == "published"
    assert [t["id"] for t in _threads(client, scene["bob"], video)] == [own["id"]]
    assert [t["id"] for t in _threads(client, scene["owner"], video)] == [own["id"]]
    queue = client.get(f"/api/v2/comments/{video['id']}/held", headers=scene["owner"])
    assert queue.status_code == 200 and queue.headers["X-Total-Count"] == "1"
    assert [(c["id"], c["status"]) for c in queue.json_body["data"]] == [(held["id"], "held")]
    assert client.get(f"/api/v2/comments/{video['id']}/held", headers=scene["alice"]).status_code == 403
    # A held comment is nobody's but its author's and the owner's: no reply, no like, no approval by others.
    assert _add(client, scene["bob"], video, parent=held["id"]).status_code == 404
    assert client.post(f"/api/v2/likes/toggle/c/{held['id']}", headers=scene["bob"]).status_code == 404
    assert client.post(f"/api/v2/comments/c/{held['id']}/approve", headers=scene["alice"]).status_code == 403

    approved = client.post(f"/api/v2/comments/c/{held['id']}/approve", headers=scene["owner"])

    assert approved.status_code == 200 and approved.json_body["data"]["status"] == "published"
    assert {t["id"] for t in _threads(client, scene["bob"], video)} == {own["id"], held["id"]}
    assert client.get(f"/api/v2/comments/{video['id']}/held", headers=scene["owner"]).json_body["data"] == []


def test_a_held_reply_is_counted_once_approved_and_approving_twice_counts_it_once(client, scene):
    video = scene["video"]
    top = _added(client, scene["alice"], video)
    _policy(client, scene["owner"], video, "approval")
    reply = _added(client, scene["bob"], video, "held reply", parent=top["id"])
    assert _threads(client, scene["owner"], video)[0]["repliesCount"] == 0
    assert _replies(client, scene["owner"], top).json_body["data"] == []

    for _ in range(2):
        answer = client.post(f"/api/v2/comments/c/{reply['id']}/approve", headers=scene["owner"])
        assert answer.status_code == 200 and answer.json_body["data"]["status"] == "published"

    assert _threads(client, scene["owner"], video)[0]["repliesCount"] == 1
    assert [r["id"] for r in _replies(client, scene["owner"], top).json_body["data"]] == [reply["id"]]


def test_a_parent_with_only_a_held_reply_is_kept_as_deleted(client, scene):
    video = scene["video"]
    top = _added(client, scene["alice"], video)
    _policy(client, scene["owner"], video, "approval")
    reply = _added(client, scene["bob"], video, "held reply", parent=top["id"])

    assert client.delete(f"/api/v2/comments/c/{top['id']}", headers=scene["alice"]).status_code == 200

    assert db.fetch_value("SELECT deleted_at IS NOT NULL FROM comments WHERE id = :id", id=top["id"]) is True
    assert client.post(f"/api/v2/comments/c/{reply['id']}/approve", headers=scene["owner"]).status_code == 200
    assert _threads(client, scene["owner"], video)[0]["isDeleted"] is True


# ------------------------------------------------------------------------------------ races


def _race(*calls):
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        try:
            results[i] = call()
        except Exception as error:  # the outcome is what is checked
            results[i] = error

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_a_delete_racing_a_reply_never_loses_the_reply_or_miscounts(scene):
    video, ids = scene["video"], scene["ids"]
    for _ in range(15):
        top = comments_sql.insert(video_id=video["id"], user_id=ids["alice"], content="top")

        reply, deleted = _race(
            lambda top=top: comments_sql.insert_reply(parent_id=top["id"], video_id=video["id"], user_id=ids["bob"],
                                                      content="r", status="published"),
            lambda top=top: comments_sql.delete(comment_id=top["id"], by=ids["alice"]))

        assert deleted is True
        parent = db.fetch_one("SELECT replies_count, deleted_at FROM comments WHERE id = :id", id=top["id"])
        if reply is None:  # the delete won: no parent, no orphan
            assert parent is None
        else:  # the reply won: the parent stays as a deleted comment that counts it
            assert parent is not None and parent["deleted_at"] is not None and parent["replies_count"] == 1
            assert db.fetch_value("SELECT count(*) FROM comments WHERE id = :id", id=reply["id"]) == 1
    assert db.fetch_value("SELECT count(*) FROM comments c WHERE parent_id IS NULL AND replies_count <>"
                          " (SELECT count(*) FROM comments r WHERE r.parent_id = c.id AND r.status = 'published')") == 0


def test_two_approvals_of_one_held_reply_count_it_once(scene):
    video, ids = scene["video"], scene["ids"]
    top = comments_sql.insert(video_id=video["id"], user_id=ids["alice"], content="top")
    replies = [comments_sql.insert_reply(parent_id=top["id"], video_id=video["id"], user_id=ids["bob"],
                                         content=f"r{i}", status="held") for i in range(10)]

    for reply in replies:
        first, second = _race(lambda r=reply: comments_sql.approve(comment_id=r["id"]),
                              lambda r=reply: comments_sql.approve(comment_id=r["id"]))
        assert first["status"] == second["status"] == "published"

    counts = db.fetch_one("SELECT replies_count, held_replies_count FROM comments WHERE id = :id", id=top["id"])
    assert (counts["replies_count"], counts["held_replies_count"]) == (10, 0)
