"""What a browser app needs of the API (issue #14, points 1 and 3): cookies that can reach a front end on another
site (COOKIE_SAMESITE, COOKIE_DOMAIN), media that a cache keeps per Origin, lists with their total and links to
the other pages, a watch page with its like count and the viewer's like and subscription, and ETags with 304s."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from shared.settings import SettingsError, load_settings, reset_settings
from shared.sql import comments as comments_sql
from shared.sql import likes as likes_sql
from shared.sql import playlists as playlists_sql
from shared.sql import subscriptions as subscriptions_sql
from shared.sql import tweets as tweets_sql
from shared.sql import videos as videos_sql
from shared.storage import get_storage
from shared.web.cors import cookie_warnings
from tests.conftest import png_bytes

JSON = {"Content-Type": "application/json"}
ORIGIN = "https://app.example.com"  # in CORS_ORIGINS (tests/conftest.py)


# ------------------------------------------------------------------------------------ cookies across sites


def _login_cookies(client, user) -> list[list[str]]:
    response = client.post("/api/v2/user/login", headers=JSON,
                           body=json.dumps({"username": user["username"], "password": user["password"]}))
    assert response.status_code == 200
    cookies = response.headers["Set-Cookie"]
    return [[part.strip() for part in line.split(";")] for line in (cookies if isinstance(cookies, list) else [cookies])]


def _use(monkeypatch, **env: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_settings()


def test_the_auth_cookies_are_samesite_strict_and_host_only_by_default(client, make_user):
    cookies = _login_cookies(client, make_user())

    assert len(cookies) == 2
    for parts in cookies:
        assert {"SameSite=Strict", "HttpOnly", "Secure", "Path=/"} <= set(parts)
        assert not [part for part in parts if part.lower().startswith("domain=")]


def test_cookie_samesite_lax_and_a_cookie_domain_are_on_every_auth_cookie_the_cleared_ones_too(
        client, make_user, monkeypatch):
    _use(monkeypatch, COOKIE_SAMESITE="lax", COOKIE_DOMAIN=".Example.com")
    user = make_user()

    signed_in = _login_cookies(client, user)
    token = signed_in[0][0].split("=", 1)[1]
    logout = client.post("/api/v2/user/logout", headers={**JSON, "Authorization": f"Bearer {token}"})
    cleared = [[p.strip() for p in line.split(";")] for line in logout.headers["Set-Cookie"]]

    for parts in signed_in + cleared:
        assert {"SameSite=Lax", "Domain=example.com", "HttpOnly", "Secure"} <= set(parts), parts
        assert "SameSite=Strict" not in parts
    assert all("Max-Age=0" in parts for parts in cleared)


def test_cookie_samesite_none_comes_with_secure(client, make_user, monkeypatch):
    _use(monkeypatch, COOKIE_SAMESITE="None")

    for parts in _login_cookies(client, make_user()):
        assert {"SameSite=None", "Secure"} <= set(parts)


def test_cookie_samesite_none_without_secure_is_refused_when_settings_load(tmp_path):
    with pytest.raises(SettingsError, match="COOKIE_SAMESITE=None needs Secure cookies"):
        load_settings({"VIZTUBE_HOME": str(tmp_path), "VIZTUBE_STAGE": "dev", "COOKIE_SAMESITE": "None"})


@pytest.mark.parametrize("name,value,message", [
    ("COOKIE_SAMESITE", "sometimes", "COOKIE_SAMESITE must be Strict, Lax or None"),
    ("COOKIE_DOMAIN", "https://example.com", "COOKIE_DOMAIN must be a host name"),
    ("COOKIE_DOMAIN", "example.com:8000", "COOKIE_DOMAIN must be a host name"),
])
def test_a_wrong_cookie_setting_is_refused_naming_it(tmp_path, name, value, message):
    with pytest.raises(SettingsError, match=message):
        load_settings({"VIZTUBE_HOME": str(tmp_path), name: value})


@pytest.mark.parametrize("env,warned", [
    ({"CORS_ORIGINS": "http://localhost:5173"}, True),  # localhost is another site than 127.0.0.1
    ({"CORS_ORIGINS": "http://localhost:5173", "COOKIE_SAMESITE": "Lax"}, True),
    ({"CORS_ORIGINS": "http://localhost:5173", "PUBLIC_URL": "http://localhost:8000"}, False),  # ports do not count
    ({"CORS_ORIGINS": "https://app.example.com", "PUBLIC_URL": "https://api.example.com"}, False),
    ({"CORS_ORIGINS": "http://app.example.com", "PUBLIC_URL": "https://api.example.com"}, True),  # the scheme counts
    ({"CORS_ORIGINS": "http://localhost:5173", "VIZTUBE_STAGE": "test"}, False),  # the dev stage warns
    ({}, False),
])
def test_the_dev_stage_warns_when_cookies_cannot_reach_a_cors_origin(tmp_path, env, warned):
    settings = load_settings({"VIZTUBE_HOME": str(tmp_path), "VIZTUBE_STAGE": "dev", **env})

    warnings = cookie_warnings(settings)

    assert bool(warnings) == warned
    if warned:
        assert env["CORS_ORIGINS"] in warnings[0] and "401" in warnings[0] and "COOKIE_SAMESITE=None" in warnings[0]


# ------------------------------------------------------------------------------------ media and Vary: Origin


def _stored_png(tmp_path) -> str:
    source = tmp_path / "upload.png"
    source.write_bytes(png_bytes(extra=3000))
    return get_storage().save(source, kind="avatar", mime="image/png").public_id


def test_media_vary_on_origin_whatever_the_request(client, tmp_path):
    path = f"/api/v2/media/{_stored_png(tmp_path)}"

    plain = client.get(path, headers={"Accept": "*/*"})  # as an <img> asks: no Origin
    cross = client.get(path, headers={"Accept": "*/*", "Origin": ORIGIN})
    ranged = client.get(path, headers={"Accept": "*/*", "Origin": ORIGIN, "Range": "bytes=0-9"})
    revalidated = client.get(path, headers={"Accept": "*/*", "Origin": ORIGIN, "If-None-Match": plain.headers["ETag"]})
    head = client.request("HEAD", path, headers={"Accept": "*/*", "Origin": ORIGIN})

    assert [r.status_code for r in (plain, cross, ranged, revalidated, head)] == [200, 200, 206, 304, 200]
    for response in (plain, cross, ranged, revalidated, head):
        assert response.headers["Vary"] == "Origin"
    assert "Access-Control-Allow-Origin" not in plain.headers
    for response in (cross, ranged, revalidated, head):
        assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert plain.headers["ETag"] == cross.headers["ETag"] == head.headers["ETag"]  # the file's own tag, kept
    assert plain.headers["ETag"].startswith('"')


# ------------------------------------------------------------------------------------ lists: total and links

ListMaker = Callable[..., tuple[str, dict[str, str]]]


def _comments(make_user, make_video, auth, count: int) -> tuple[str, dict[str, str]]:
    owner = make_user()
    video = make_video(owner)
    for n in range(count):
        comments_sql.insert(video_id=video["id"], user_id=owner["id"], content=f"comment {n}")
    return f"/api/v2/comments/{video['id']}", auth(owner)


def _liked_videos(make_user, make_video, auth, count: int) -> tuple[str, dict[str, str]]:
    owner, fan = make_user(), make_user()
    for n in range(count):
        likes_sql.toggle(user_id=fan["id"], target="video", target_id=make_video(owner, title=f"v{n}")["id"])
    # A liked video its owner has since unpublished is hidden from the list, and from its total.
    likes_sql.toggle(user_id=fan["id"], target="video", target_id=make_video(owner, published=False)["id"])
    return "/api/v2/likes/videos", auth(fan)


def _subscribers(make_user, make_video, auth, count: int) -> tuple[str, dict[str, str]]:
    channel = make_user()
    for _ in range(count):
        subscriptions_sql.subscribe(subscriber_id=make_user()["id"], channel_id=channel["id"])
    return f"/api/v2/subscriptions/c/{channel['id']}", auth(channel)


def _subscribed_channels(make_user, make_video, auth, count: int) -> tuple[str, dict[str, str]]:
    fan = make_user()
    for _ in range(count):
        subscriptions_sql.subscribe(subscriber_id=fan["id"], channel_id=make_user()["id"])
    return f"/api/v2/subscriptions/u/{fan['id']}", auth(fan)


def _tweets(make_user, make_video, auth, count: int) -> tuple[str, dict[str, str]]:
    author = make_user()
    for n in range(count):
        tweets_sql.insert(user_id=author["id"], content=f"post {n}")
    return f"/api/v2/tweets/user/{author['id']}", auth(author)


def _watch_history(make_user, make_video, auth, count: int) -> tuple[str, dict[str, str]]:
    owner, viewer = make_user(), make_user()
    for n in range(count):
        videos_sql.record_view(video_id=make_video(owner, title=f"v{n}")["id"], viewer_id=viewer["id"],
                               window_seconds=3600)
    hidden = make_video(owner, published=False)  # watched, then unpublished by its owner: not listed, not counted
    videos_sql.record_view(video_id=hidden["id"], viewer_id=viewer["id"], window_seconds=3600)
    return "/api/v2/user/watch-history", auth(viewer)


def _playlists(make_user, make_video, auth, count: int) -> tuple[str, dict[str, str]]:
    owner = make_user()
    for n in range(count):
        playlists_sql.insert(user_id=owner["id"], name=f"list {n}", description="")
    return f"/api/v2/playlist/user/{owner['id']}", auth(make_user())


LISTS = {"comments": _comments, "liked videos": _liked_videos, "subscribers": _subscribers,
         "subscribed channels": _subscribed_channels, "tweets": _tweets, "watch history": _watch_history,
         "playlists": _playlists}


def _links(response) -> dict[str, str]:
    """rel -> URL of a Link header (RFC 8288)."""
    return {rel: url for url, rel in re.findall(r'<([^>]*)>;\s*rel="(\w+)"', response.headers.get("Link", ""))}


@pytest.mark.parametrize("kind", LISTS)
def test_every_bare_list_adds_its_total_and_links_to_the_pages_around_it(client, make_user, make_video, auth, kind):
    path, headers = LISTS[kind](make_user, make_video, auth, 5)
    pages = {page: client.get(f"{path}?limit=2&page={page}", headers=headers) for page in (1, 2, 3, 4)}

    for page, response in pages.items():
        assert response.status_code == 200, (page, response.json_body)
        assert isinstance(response.json_body["data"], list)  # the array v2 clients know, unchanged
        assert response.headers["X-Total-Count"] == "5"
    assert [len(pages[p].json_body["data"]) for p in (1, 2, 3, 4)] == [2, 2, 1, 0]
    first, middle, last, past = (_links(pages[p]) for p in (1, 2, 3, 4))
    url = f"{path}?limit=2&page="
    assert first == {"first": f"{url}1", "next": f"{url}2", "last": f"{url}3"}
    assert middle == {"first": f"{url}1", "prev": f"{url}1", "next": f"{url}3", "last": f"{url}3"}
    assert last == {"first": f"{url}1", "prev": f"{url}2", "last": f"{url}3"}
    assert past == {"first": f"{url}1", "prev": f"{url}3", "last": f"{url}3"}  # back to the last page there is


@pytest.mark.parametrize("kind", LISTS)
def test_an_empty_list_says_zero_and_has_one_page(client, make_user, make_video, auth, kind):
    path, headers = LISTS[kind](make_user, make_video, auth, 0)

    response = client.get(path, headers=headers)

    assert (response.json_body["data"], response.headers["X-Total-Count"]) == ([], "0")
    assert set(_links(response)) == {"first", "last"}


def test_links_keep_the_other_query_parameters_and_the_default_page_size(client, make_user, make_video, auth):
    path, headers = _tweets(make_user, make_video, auth, 12)

    response = client.get(f"{path}?utm=a%20b&limit=5&utm=c", headers=headers)
    default = client.get(path, headers=headers)  # limit 10 when unsaid

    assert _links(response)["next"] == f"{path}?utm=a+b&utm=c&limit=5&page=2"
    assert (_links(default)["next"], _links(default)["last"]) == (f"{path}?page=2", f"{path}?page=2")
    assert default.headers["X-Total-Count"] == "12"


def test_browsers_may_read_the_paging_headers_across_origins(client, make_user, make_video, auth):
    path, headers = _tweets(make_user, make_video, auth, 1)

    response = client.get(path, headers={**headers, "Origin": ORIGIN})

    exposed = {h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"X-Total-Count", "Link", "ETag"} <= exposed


def test_a_list_page_and_its_total_are_one_statement(client, make_user, make_video, auth, monkeypatch):
    """The total is a subquery of the page's own statement (an index-only count), not a round trip of its own."""
    from shared import db

    path, headers = _comments(make_user, make_video, auth, 3)
    monkeypatch.setenv("CACHE", "off")
    reset_settings()
    sent: list[str] = []
    original = db.Tx._run
    monkeypatch.setattr(db.Tx, "_run", lambda self, sql, params: sent.append(sql) or original(self, sql, params))

    response = client.get(f"{path}?limit=2", headers=headers)

    assert response.headers["X-Total-Count"] == "3"
    assert len([s for s in sent if "FROM comments" in s]) == 1, sent


# ------------------------------------------------------------------------------------ the watch page


def _detail(client, video, headers) -> dict[str, Any]:
    response = client.get(f"/api/v2/videos/{video['id']}", headers=headers)
    assert response.status_code == 200
    return response.json_body["data"]


def test_the_video_detail_says_its_likes_and_whether_the_viewer_likes_it_and_follows_its_channel(
        client, make_user, make_video, auth):
    owner, viewer, other = make_user(), make_user(), make_user()
    video = make_video(owner)
    headers = auth(viewer)

    before = _detail(client, video, headers)
    client.post(f"/api/v2/likes/toggle/v/{video['id']}", headers=headers)
    client.post(f"/api/v2/likes/toggle/v/{video['id']}", headers=auth(other))
    client.post(f"/api/v2/subscriptions/c/{owner['id']}", headers=headers)
    liked = _detail(client, video, headers)
    seen_by_other = _detail(client, video, auth(other))
    client.post(f"/api/v2/likes/toggle/v/{video['id']}", headers=headers)
    unliked = _detail(client, video, headers)
    by_owner = _detail(client, video, auth(owner))

    assert (before["likesCount"], before["isLiked"], before["isSubscribed"]) == (0, False, False)
    assert (liked["likesCount"], liked["isLiked"], liked["isSubscribed"]) == (2, True, True)
    assert (seen_by_other["likesCount"], seen_by_other["isLiked"], seen_by_other["isSubscribed"]) == (2, True, False)
    assert (unliked["likesCount"], unliked["isLiked"], unliked["isSubscribed"]) == (1, False, True)
    assert (by_owner["likesCount"], by_owner["isLiked"], by_owner["isSubscribed"]) == (1, False, False)
    assert liked["user"]["subscribersCount"] == 1 and liked["views"] == 1  # what it had before, unchanged


def test_the_detail_fields_are_in_the_spec(client):
    schema = client.get("/api/v2/openapi.json").json_body["components"]["schemas"]["VideoDetail"]

    assert {"likesCount", "isLiked", "isSubscribed"} <= set(schema["required"])


# ------------------------------------------------------------------------------------ ETag and 304


def test_a_json_get_has_an_etag_and_if_none_match_gets_a_304_until_the_answer_changes(client, make_user, make_video,
                                                                                        auth):
    path, headers = _comments(make_user, make_video, auth, 2)
    owner_headers = {**headers, "Origin": ORIGIN}

    first = client.get(path, headers=owner_headers)
    etag = first.headers["ETag"]
    same = client.get(path, headers={**owner_headers, "If-None-Match": etag})
    strong_form = client.get(path, headers={**owner_headers, "If-None-Match": f'"x", {etag.removeprefix("W/")}'})
    video_id = path.rsplit("/", 1)[1]
    comments_sql.insert(video_id=uuid.UUID(video_id), user_id=make_user()["id"], content="one more")
    changed = client.get(path, headers={**owner_headers, "If-None-Match": etag})

    assert re.fullmatch(r'W/"[0-9a-f]+"', etag) and first.headers["Cache-Control"] == "private, no-cache"
    assert (same.status_code, same.body, same.headers["ETag"]) == (304, b"", etag)
    assert same.headers["Access-Control-Allow-Origin"] == ORIGIN and same.headers["X-Total-Count"] == "2"
    assert strong_form.status_code == 304  # weak comparison: a proxy may have weakened the tag
    assert changed.status_code == 200 and len(changed.json_body["data"]) == 3
    assert changed.headers["ETag"] != etag and changed.headers["X-Total-Count"] == "3"


def test_the_etag_is_a_hash_of_the_body_so_the_same_answer_has_the_same_tag(client, make_user, auth):
    headers = auth(make_user())

    one = client.get("/api/v2/user/current-user-details", headers=headers)
    two = client.get("/api/v2/user/current-user-details", headers=headers)
    other_user = client.get("/api/v2/user/current-user-details", headers=auth(make_user()))

    assert one.headers["ETag"] == two.headers["ETag"] != other_user.headers["ETag"]


def test_no_etag_on_writes_errors_or_cookie_setting_answers(client, make_user, make_video, auth):
    user = make_user()
    headers = auth(user)

    write = client.post("/api/v2/tweets", headers={**headers, **JSON}, body=json.dumps({"content": "hi"}))
    missing = client.get(f"/api/v2/videos/{uuid.uuid4()}", headers=headers)
    login = client.post("/api/v2/user/login", headers=JSON,
                        body=json.dumps({"username": user["username"], "password": user["password"]}))

    for response in (write, missing, login):
        assert "ETag" not in response.headers, response.status_code


def test_the_spec_documents_the_new_headers(client):
    spec = client.get("/api/v2/openapi.json").json_body

    comments = spec["paths"]["/api/v2/comments/{video_id}"]["get"]
    assert {"X-Total-Count", "Link", "ETag"} <= set(comments["responses"]["200"]["headers"])
    assert "304" in comments["responses"]
    assert "If-None-Match" in {p["name"] for p in comments["parameters"]}
    assert "ETag" not in spec["paths"]["/api/v2/tweets"]["post"]["responses"]["201"].get("headers", {})
