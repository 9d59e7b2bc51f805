"""Tags (issue #15, point 7): POST /videos (multipart: a comma-separated string; JSON: an array) and PATCH
/videos/{videoId} take `tags`, normalised (trimmed, casefolded, inner whitespace collapsed, a leading '#' dropped,
deduplicated, ≤ 10 of 1–30 characters); a wrong one is a 400 naming it and changes nothing; video objects carry
`tags`; GET /videos?tag= filters the feed (with a search, a channel and any sort), listing public videos only."""

import json

import pytest

from shared.schemas.tags import normalize_tag, normalize_tags
from tests.conftest import jpeg_bytes, multipart, video_bytes

JSON = {"Content-Type": "application/json"}


def _publish(client, headers, **fields):
    body, form_headers = multipart({"title": "clip", "description": "d", **fields}, {
        "videoFile": ("v.mp4", video_bytes("mp4"), "video/mp4"), "thumbnail": ("t.jpg", jpeg_bytes(), "image/jpeg")})
    return client.post("/api/v2/videos", body=body, headers={**headers, **form_headers})


def _patch(client, headers, video_id, **body):
    return client.patch(f"/api/v2/videos/{video_id}", headers={**headers, **JSON}, body=json.dumps(body))


def _feed(client, headers, query):
    response = client.get(f"/api/v2/videos?{query}", headers=headers)
    assert response.status_code == 200, response.body
    return response.json_body["data"]


def test_a_form_publish_takes_comma_separated_tags_and_stores_them_normalised(client, make_user, auth):
    headers = auth(make_user())

    response = _publish(client, headers, tags=" #Guitar , LESSON,lesson,  Rock   'n'  Roll ,, ")

    assert response.status_code == 200, response.body
    video = response.json_body["data"]["video"]
    assert video["tags"] == ["guitar", "lesson", "rock 'n' roll"]
    shown = client.get(f"/api/v2/videos/{video['id']}", headers=headers).json_body["data"]
    assert shown["tags"] == ["guitar", "lesson", "rock 'n' roll"]


def test_a_json_publish_of_direct_uploads_takes_an_array(client, make_user, auth):
    headers = auth(make_user())
    signed = {}
    for kind, data, mime in (("video", video_bytes("mp4"), "video/mp4"), ("thumbnail", jpeg_bytes(), "image/jpeg")):
        signed[kind] = client.post("/api/v2/uploads", headers={**headers, **JSON}, body=json.dumps(
            {"kind": kind, "contentType": mime, "size": len(data)})).json_body["data"]
        sent = client.put(signed[kind]["url"].split("testserver", 1)[1], body=data, headers=signed[kind]["headers"])
        assert sent.status_code == 200, sent.body

    response = client.post("/api/v2/videos", headers={**headers, **JSON}, body=json.dumps({
        "title": "Direct", "videoUploadId": signed["video"]["uploadId"],
        "thumbnailUploadId": signed["thumbnail"]["uploadId"], "tags": ["C++", "c++", "#Tutorial"]}))

    assert response.status_code == 200, response.body
    assert response.json_body["data"]["video"]["tags"] == ["c++", "tutorial"]


def test_patch_replaces_keeps_or_clears_the_tags(client, make_user, make_video, auth):
    owner = make_user()
    headers = auth(owner)
    video_id = make_video(owner)["id"]

    assert _patch(client, headers, video_id, tags=["Piano", "Jazz"]).json_body["data"]["tags"] == ["piano", "jazz"]
    assert _patch(client, headers, video_id, title="renamed").json_body["data"]["tags"] == ["piano", "jazz"]
    assert _patch(client, headers, video_id, tags=None).json_body["data"]["tags"] == ["piano", "jazz"]
    body, form_headers = multipart({"tags": "blues, #Live"})
    formed = client.patch(f"/api/v2/videos/{video_id}", body=body, headers={**headers, **form_headers})
    assert formed.status_code == 200, formed.body
    assert formed.json_body["data"]["tags"] == ["blues", "live"]
    assert _patch(client, headers, video_id, tags=[]).json_body["data"]["tags"] == []


WRONG_TAGS = [
    ([f"tag{n}" for n in range(11)], 400, "At most 10 tags"),
    (["x" * 31], 400, "longer than 30 characters"),
    (["   "], 400, "may not be empty"),
    (["#"], 400, "may not be empty"),
    (["rock,pop"], 400, "contains ','"),
    (["<script>"], 400, "contains '<'"),
    (["bell\x07"], 400, "U+0007"),
    (["ok", 5], 422, "tags.1 must be a string"),
    ("guitar", 422, "tags"),
    ([["nested"]], 422, "tags.0"),
]


def test_wrong_tags_are_refused_naming_the_problem_and_change_nothing(client, make_user, make_video, auth):
    owner = make_user()
    headers = auth(owner)
    video_id = make_video(owner)["id"]
    _patch(client, headers, video_id, tags=["kept"])

    for tags, status, named in WRONG_TAGS:  # one test: each test's clean-up costs more than all these requests
        response = _patch(client, headers, video_id, tags=tags, title="not applied")

        assert response.status_code == status, (tags, response.body)
        said = response.json_body["message"] + " " + " ".join(response.json_body.get("errors") or [])
        assert named in said, (tags, said)
    after = client.get(f"/api/v2/videos/{video_id}", headers=headers).json_body["data"]
    assert (after["tags"], after["title"]) == (["kept"], "clip")


def test_a_form_with_too_many_tags_is_refused_before_anything_is_stored(client, make_user, auth):
    headers = auth(make_user())

    response = _publish(client, headers, tags=",".join(f"t{n}" for n in range(11)))

    assert response.status_code == 400 and "At most 10 tags" in response.json_body["message"], response.body
    assert _feed(client, headers, "")["totalDocs"] == 0


def test_normalising_folds_case_width_and_spacing_into_one_spelling():
    assert normalize_tag("ＧＵＩＴＡＲ") == "guitar"  # full-width forms (NFKC)
    assert normalize_tag("Straße") == normalize_tag("STRASSE") == "strasse"  # casefold, not lower()
    assert normalize_tag("  ##Deep\t\u00a0House ") == "deep house"
    assert normalize_tag("हिन्दी") == "हिन्दी"  # combining marks are part of words
    assert normalize_tags(["A", "a", "B", "#b", "c"]) == ["a", "b", "c"]  # first spelling's order, no duplicates


@pytest.fixture
def tagged(client, make_user, make_video, auth):
    """Two channels' videos with tags and views, and one unlisted and one private video with the same tag."""
    owner, other = make_user(), make_user()
    headers = auth(owner)
    made = {}
    for user, title, tags, views in ((owner, "guitar basics", ["guitar", "lesson"], 5),
                                     (owner, "guitar solo", ["guitar"], 50),
                                     (owner, "piano basics", ["piano", "lesson"], 500),
                                     (other, "guitar cover", ["guitar", "cover"], 20),
                                     (owner, "hidden guitar", ["guitar"], 900),
                                     (owner, "secret guitar", ["guitar"], 900)):
        made[title] = str(make_video(user, title=title, views=views)["id"])
        _patch(client, auth(user), made[title], tags=tags)
    _patch(client, headers, made["hidden guitar"], privacy="unlisted")
    _patch(client, headers, made["secret guitar"], privacy="private")
    return {"owner": owner, "other": other, "headers": headers, "ids": made}


def test_the_feed_filters_by_one_tag_spelled_any_way(client, tagged):
    headers = tagged["headers"]

    for spelling in ("guitar", "GUITAR", "%23Guitar", "%20guitar%20"):
        page = _feed(client, headers, f"tag={spelling}&sortBy=views")
        assert [d["title"] for d in page["docs"]] == ["guitar solo", "guitar cover", "guitar basics"], spelling
        assert page["totalDocs"] == 3  # the unlisted and private ones are listed nowhere
    nothing = _feed(client, headers, "tag=ukulele")
    assert (nothing["docs"], nothing["totalDocs"]) == ([], 0)


def test_the_tag_filter_combines_with_search_channel_sort_and_paging(client, tagged):
    headers, owner = tagged["headers"], tagged["owner"]

    searched = _feed(client, headers, "tag=lesson&query=piano")
    mine = _feed(client, headers, f"tag=guitar&userId={owner['id']}&sortBy=title&sortType=asc")
    paged = _feed(client, headers, "tag=guitar&sortBy=views&limit=2&page=2")

    assert [d["title"] for d in searched["docs"]] == ["piano basics"] and searched["totalDocs"] == 1
    assert [d["title"] for d in mine["docs"]] == ["guitar basics", "guitar solo"] and mine["totalDocs"] == 2
    assert [d["title"] for d in paged["docs"]] == ["guitar basics"]
    assert (paged["totalDocs"], paged["totalPages"], paged["hasPrevPage"]) == (3, 2, True)


def test_the_owner_lists_their_unlisted_and_private_tagged_videos_only_in_their_own_lists(client, tagged, auth):
    for who in ("owner", "other"):
        page = _feed(client, auth(tagged[who]), "tag=guitar")
        assert tagged["ids"]["hidden guitar"] not in {d["id"] for d in page["docs"]}, who
        assert tagged["ids"]["secret guitar"] not in {d["id"] for d in page["docs"]}, who


def test_a_tag_changed_is_seen_by_the_next_filtered_page(client, tagged):
    headers = tagged["headers"]
    assert _feed(client, headers, "tag=guitar")["totalDocs"] == 3

    _patch(client, headers, tagged["ids"]["guitar solo"], tags=["shred"])

    assert _feed(client, headers, "tag=guitar")["totalDocs"] == 2
    assert [d["title"] for d in _feed(client, headers, "tag=shred")["docs"]] == ["guitar solo"]


WRONG_FILTERS = [
    ("tag=a,b", "contains ','"),
    ("tag=" + "x" * 31, "longer than 30"),
    ("tag=%23", "may not be empty"),
    ("tag=a&tag=b", "must be given once"),
    ("tag=%00", "NUL"),
]


def test_a_wrong_tag_filter_is_a_400_naming_it(client, make_user, auth):
    headers = auth(make_user())
    for query, named in WRONG_FILTERS:
        response = client.get(f"/api/v2/videos?{query}", headers=headers)

        assert response.status_code == 400, (query, response.body)
        assert named in response.json_body["message"], (query, response.body)
