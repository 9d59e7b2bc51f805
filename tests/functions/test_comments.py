"""Comments (contract §6; design: owner moderation, unpublished privacy, length limit)."""

import json

from shared import db

JSON = {"Content-Type": "application/json"}


def _add(client, headers, video, content="Great video!"):
    return client.post(f"/api/v2/comments/{video['id']}", headers={**headers, **JSON},
                       body=json.dumps({"content": content}))


def test_add_comment_answers_201_with_the_record(client, make_user, make_video, auth):
    user, video = make_user(), make_video(make_user())

    response = _add(client, auth(user), video, "  spaced  ")

    assert response.status_code == 201
    assert response.json_body["statusCode"] == 201
    assert response.json_body["message"] == "Comment added successfully"
    data = response.json_body["data"]
    # The original's six keys, in order; then the additions (issue #15): parentId, status.
    assert list(data) == ["id", "content", "userId", "videoId", "createdAt", "updatedAt", "parentId", "status"]
    assert data["content"] == "  spaced  " and data["videoId"] == str(video["id"])


def test_list_comments_is_paginated_newest_first_with_authors(client, make_user, make_video, auth):
    author, video = make_user(username="writer"), make_video(make_user())
    for i in range(12):
        _add(client, auth(author), video, f"comment {i}")

    first = client.get(f"/api/v2/comments/{video['id']}", headers=auth(author)).json_body
    second = client.get(f"/api/v2/comments/{video['id']}?page=2&limit=10", headers=auth(author)).json_body["data"]

    assert first["message"] == "Comments fetched successfully"
    assert [c["content"] for c in first["data"]][:2] == ["comment 11", "comment 10"]
    assert len(first["data"]) == 10 and [c["content"] for c in second] == ["comment 1", "comment 0"]
    assert first["data"][0]["user"] == {"username": "writer", "fullname": "Test User",
                                        "avatar": "http://testserver/a.png"}
    assert first["data"][0]["likesCount"] == 0


def test_comment_content_rules(client, make_user, make_video, auth):
    headers, video = auth(make_user()), make_video(make_user())

    blank = _add(client, headers, video, "   ")
    too_long = _add(client, headers, video, "x" * 10_001)
    wrong_type = client.post(f"/api/v2/comments/{video['id']}", headers={**headers, **JSON},
                             body=json.dumps({"content": 42}))
    no_body = client.post(f"/api/v2/comments/{video['id']}", headers=headers)

    assert (blank.status_code, blank.json_body["message"]) == (400, "Comment cannot be empty")
    assert too_long.status_code == 422
    assert wrong_type.status_code == 422
    assert no_body.status_code == 400


def test_comments_on_unknown_or_hidden_videos_are_404(client, make_user, make_video, auth):
    owner, other = make_user(), make_user()
    draft = make_video(owner, published=False)

    unknown = client.get("/api/v2/comments/0190a000-0000-7000-8000-000000000000", headers=auth(other))
    hidden_list = client.get(f"/api/v2/comments/{draft['id']}", headers=auth(other))
    hidden_add = _add(client, auth(other), draft)
    own_draft = _add(client, auth(owner), draft)

    assert unknown.status_code == hidden_list.status_code == hidden_add.status_code == 404
    assert hidden_add.json_body["message"] == "Video not found"
    assert own_draft.status_code == 201
    assert client.get("/api/v2/comments/not-a-uuid", headers=auth(other)).status_code == 400


def test_only_the_author_edits_a_comment(client, make_user, make_video, auth):
    author, stranger, video = make_user(), make_user(), make_video(make_user())
    comment = _add(client, auth(author), video).json_body["data"]
    path = f"/api/v2/comments/c/{comment['id']}"

    stranger_edit = client.patch(path, headers={**auth(stranger), **JSON}, body=json.dumps({"content": "mine"}))
    blank = client.patch(path, headers={**auth(author), **JSON}, body=json.dumps({"content": ""}))
    edit = client.patch(path, headers={**auth(author), **JSON}, body=json.dumps({"content": "edited"}))
    unknown = client.patch("/api/v2/comments/c/0190a000-0000-7000-8000-000000000000",
                           headers={**auth(author), **JSON}, body=json.dumps({"content": "x"}))

    assert (stranger_edit.status_code, stranger_edit.json_body["message"]) == (
        403, "Comment not found or you are not authorized to edit it")
    assert (blank.status_code, blank.json_body["message"]) == (400, "Content is required")
    assert (edit.status_code, edit.json_body["message"]) == (200, "Comment updated successfully")
    assert edit.json_body["data"]["content"] == "edited"
    assert (unknown.status_code, unknown.json_body["message"]) == (404, "Comment not found")


def test_the_author_or_the_videos_owner_may_delete_a_comment(client, make_user, make_video, auth):
    owner, author, stranger = make_user(), make_user(), make_user()
    video = make_video(owner)
    first = _add(client, auth(author), video).json_body["data"]
    second = _add(client, auth(author), video).json_body["data"]

    denied = client.delete(f"/api/v2/comments/c/{first['id']}", headers=auth(stranger))
    by_author = client.delete(f"/api/v2/comments/c/{first['id']}", headers=auth(author))
    by_owner = client.delete(f"/api/v2/comments/c/{second['id']}", headers=auth(owner))

    assert (denied.status_code, denied.json_body["message"]) == (
        403, "Comment not found or you are not authorized to delete it")
    assert by_author.json_body == {"statusCode": 200, "data": {}, "message": "Comment deleted successfully",
                                   "success": True}
    assert by_owner.status_code == 200
    assert db.fetch_value("SELECT count(*) FROM comments") == 0


def test_deleting_a_comment_removes_its_likes(client, make_user, make_video, auth):
    user, video = make_user(), make_video(make_user())
    comment = _add(client, auth(user), video).json_body["data"]
    client.post(f"/api/v2/likes/toggle/c/{comment['id']}", headers=auth(user))
    assert db.fetch_value("SELECT count(*) FROM likes") == 1

    client.delete(f"/api/v2/comments/c/{comment['id']}", headers=auth(user))

    assert db.fetch_value("SELECT count(*) FROM likes") == 0
