"""Concurrent deletes over real HTTP (issue #10 point 3): 20 identical deletes fired together against the
production server (2 worker processes × 8 threads) have exactly one winner; the others get the resource's
404 (a revoked session's 401 for logout), and every count the delete touches ends exactly right.

Counts no route shows (job rows, cascaded likes, the published-videos counter) are read straight from the
server's own embedded PostgreSQL, through the socket its postmaster.pid names.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pg8000.native
import pytest
import requests

from tests.conftest import jpeg_bytes, video_bytes
from tests.e2e.conftest import SERVER_HOME, signed_in_user

RACERS = 20
# A race is won or lost by timing: one round over HTTP exposes a check-then-delete bug most of the time, not
# always. Three rounds per kind (a few hundred ms each) make a regression all but certain to show.
ROUNDS = 3


def _race(server: str, method: str, path: str, headers: dict[str, str]) -> list[requests.Response]:
    """Send one request from RACERS threads released together by a barrier. Each thread opens its keep-alive
    connection first (a healthcheck), so what the barrier releases is the requests themselves, not 20 TCP
    handshakes: they reach the server's threads within a millisecond or so and really overlap."""
    barrier = threading.Barrier(RACERS)

    def go(_: int) -> requests.Response:
        with requests.Session() as session:
            session.get(f"{server}/api/v2/healthcheck", timeout=30).raise_for_status()
            barrier.wait()
            return session.request(method, f"{server}{path}", headers=headers, timeout=60)

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        return list(pool.map(go, range(RACERS)))


def _outcomes(responses: list[requests.Response]) -> Counter[tuple[int, str]]:
    return Counter((r.status_code, r.json()["message"]) for r in responses)


@contextmanager
def _server_db() -> Iterator[pg8000.native.Connection]:
    """A connection to the e2e server's database (pgserver trusts local socket connections)."""
    lines = (SERVER_HOME / "pgdata" / "postmaster.pid").read_text().splitlines()
    port, socket_dir = lines[3].strip(), lines[4].strip()  # postmaster.pid: line 4 is the port, 5 the socket dir
    conn = pg8000.native.Connection(user="postgres", database="viztube", unix_sock=f"{socket_dir}/.s.PGSQL.{port}")
    try:
        yield conn
    finally:
        conn.close()


def _value(sql: str, **params: Any) -> Any:
    with _server_db() as conn:
        return conn.run(sql, **params)[0][0]


def _publish(server: str, headers: dict[str, str], title: str) -> dict[str, Any]:
    response = requests.post(f"{server}/api/v2/videos", headers=headers, timeout=60, data={"title": title},
                             files={"videoFile": ("v.mp4", video_bytes("mp4"), "video/mp4"),
                                    "thumbnail": ("t.jpg", jpeg_bytes(), "image/jpeg")})
    response.raise_for_status()
    return response.json()["data"]["video"]


@pytest.fixture(scope="module")
def owner(server: str) -> dict[str, str]:
    return signed_in_user(server, "del")[0]


@pytest.fixture(scope="module")
def host_video(server: str, owner: dict[str, str]) -> dict[str, Any]:
    """A video that stays: comments hang off it and playlists hold it."""
    return _publish(server, owner, "host")


def test_20_concurrent_comment_deletes_have_one_winner(server, owner, host_video):
    author, _ = signed_in_user(server, "cau")
    url = f"{server}/api/v2/comments/{host_video['id']}"
    doomed = [requests.post(url, headers=author, json={"content": f"doomed {i}"}, timeout=10).json()["data"]
              for i in range(ROUNDS)]
    kept = requests.post(url, headers=author, json={"content": "kept"}, timeout=10).json()["data"]
    for target in [*doomed, kept]:  # likes on a comment cascade with it; those on the other one stay
        requests.post(f"{server}/api/v2/likes/toggle/c/{target['id']}", headers=owner, timeout=10).raise_for_status()

    for comment in doomed:
        responses = _race(server, "DELETE", f"/api/v2/comments/c/{comment['id']}", author)

        assert _outcomes(responses) == {(200, "Comment deleted successfully"): 1, (404, "Comment not found"): 19}
    listed = requests.get(url, headers=owner, timeout=10).json()["data"]
    assert [(c["id"], c["likesCount"]) for c in listed] == [(kept["id"], 1)]
    assert _value("SELECT count(*) FROM likes WHERE comment_id = ANY(CAST(:ids AS uuid[]))",
                  ids=[c["id"] for c in doomed]) == 0


def test_20_concurrent_tweet_deletes_have_one_winner(server, owner):
    author, me = signed_in_user(server, "tau")
    doomed: list[dict[str, Any]] = []
    for text in [*(f"doomed {i}" for i in range(ROUNDS)), "kept"]:
        tweet = requests.post(f"{server}/api/v2/tweets", headers=author, json={"content": text}, timeout=10)
        requests.post(f"{server}/api/v2/likes/toggle/t/{tweet.json()['data']['id']}", headers=owner,
                      timeout=10).raise_for_status()
        doomed.append(tweet.json()["data"])
    kept = doomed.pop()

    for tweet in doomed:
        responses = _race(server, "DELETE", f"/api/v2/tweets/{tweet['id']}", author)

        assert _outcomes(responses) == {(200, "Tweet deleted successfully"): 1, (404, "Tweet not found"): 19}
    listed = requests.get(f"{server}/api/v2/tweets/user/{me['id']}", headers=owner, timeout=10).json()["data"]
    assert [(t["id"], t["_count"]["likes"]) for t in listed] == [(kept["id"], 1)]
    assert _value("SELECT count(*) FROM likes WHERE tweet_id = ANY(CAST(:ids AS uuid[]))",
                  ids=[t["id"] for t in doomed]) == 0


def test_20_concurrent_playlist_deletes_have_one_winner(server, owner, host_video):
    headers, me = signed_in_user(server, "pau")
    playlists = [requests.post(f"{server}/api/v2/playlist", headers=headers, json={"name": f"list {i}"},
                               timeout=10).json()["data"] for i in range(ROUNDS + 1)]
    for playlist in playlists:
        requests.post(f"{server}/api/v2/playlist/{playlist['id']}/{host_video['id']}", headers=headers,
                      timeout=10).raise_for_status()
    *doomed, kept = playlists

    for playlist in doomed:
        responses = _race(server, "DELETE", f"/api/v2/playlist/{playlist['id']}", headers)

        assert _outcomes(responses) == {(200, "Playlist deleted successfully"): 1, (404, "Playlist not found"): 19}
    listed = requests.get(f"{server}/api/v2/playlist/user/{me['id']}", headers=headers, timeout=10).json()["data"]
    assert [(p["id"], p["totalVideos"]) for p in listed] == [(kept["id"], 1)]
    assert _value("SELECT count(*) FROM playlist_videos WHERE playlist_id = ANY(CAST(:ids AS uuid[]))",
                  ids=[p["id"] for p in doomed]) == 0


def test_20_concurrent_removals_of_a_playlist_entry_remove_exactly_that_entry(server, owner, host_video):
    """contract-v2 §10.7: removing an entry is idempotent (200 even when the video is not there), so every
    racer answers 200; exactly one of them says it removed the entry, and the rest of the data stays."""
    headers, _ = signed_in_user(server, "eau")
    second = _publish(server, headers, "second")
    target, other = (requests.post(f"{server}/api/v2/playlist", headers=headers, json={"name": name},
                                   timeout=10).json()["data"] for name in ("target", "other"))
    for playlist, video in ((target, host_video), (target, second), (other, host_video)):
        requests.post(f"{server}/api/v2/playlist/{playlist['id']}/{video['id']}", headers=headers,
                      timeout=10).raise_for_status()

    responses = _race(server, "DELETE", f"/api/v2/playlist/{target['id']}/{host_video['id']}", headers)

    assert _outcomes(responses) == {(200, "Video removed from playlist"): RACERS}
    assert Counter(r.json()["data"]["removed"] for r in responses) == {True: 1, False: RACERS - 1}
    detail = requests.get(f"{server}/api/v2/playlist/{target['id']}", headers=headers, timeout=10).json()["data"]
    assert detail["totalVideos"] == 1 and [v["id"] for v in detail["videos"]] == [second["id"]]
    assert requests.get(f"{server}/api/v2/playlist/{other['id']}", headers=headers,
                        timeout=10).json()["data"]["totalVideos"] == 1


def test_20_concurrent_video_deletes_have_one_winner_and_enqueue_media_deletion_once(server, owner):
    headers, _ = signed_in_user(server, "vau")
    video = _publish(server, headers, "doomed")
    deadline = time.monotonic() + 30  # let processing finish, so the HLS output exists and is deleted too
    while requests.get(f"{server}/api/v2/videos/{video['id']}", headers=headers,
                       timeout=10).json()["data"]["processingStatus"] == "PROCESSING":
        assert time.monotonic() < deadline, "video processing did not finish"
        time.sleep(0.2)
    requests.post(f"{server}/api/v2/comments/{video['id']}", headers=owner, json={"content": "hi"},
                  timeout=10).raise_for_status()
    requests.post(f"{server}/api/v2/likes/toggle/v/{video['id']}", headers=owner, timeout=10).raise_for_status()
    playlist = requests.post(f"{server}/api/v2/playlist", headers=owner, json={"name": "watch later"},
                             timeout=10).json()["data"]
    requests.post(f"{server}/api/v2/playlist/{playlist['id']}/{video['id']}", headers=owner,
                  timeout=10).raise_for_status()
    with _server_db() as conn:
        [[file_id, thumb_id, hls_id]] = conn.run(
            "SELECT video_file_public_id, thumbnail_public_id, hls_master_public_id FROM videos"
            " WHERE id = CAST(:id AS uuid)", id=video["id"])
        published_before = conn.run("SELECT value FROM counters WHERE name = 'published_videos'")[0][0]
    assert hls_id is not None
    doomed_ids = [file_id, thumb_id, f"hls/{video['id']}"]

    responses = _race(server, "DELETE", f"/api/v2/videos/{video['id']}", headers)

    assert _outcomes(responses) == {(200, "Video deleted successfully"): 1, (404, "Video not found"): 19}
    with _server_db() as conn:
        jobs = conn.run("SELECT payload->>'public_id', status FROM jobs WHERE kind = 'delete_media'"
                        " AND payload->>'public_id' = ANY(CAST(:ids AS text[]))", ids=doomed_ids)
        published_after, really_published = conn.run(
            "SELECT (SELECT value FROM counters WHERE name = 'published_videos'),"
            " (SELECT count(*) FROM videos WHERE is_published)")[0]
        leftovers = conn.run(
            "SELECT (SELECT count(*) FROM comments WHERE video_id = CAST(:id AS uuid))"
            " + (SELECT count(*) FROM likes WHERE video_id = CAST(:id AS uuid))"
            " + (SELECT count(*) FROM playlist_videos WHERE video_id = CAST(:id AS uuid))", id=video["id"])[0][0]
    assert sorted(public_id for public_id, _ in jobs) == sorted(doomed_ids)  # one deletion job per stored file
    assert {status for _, status in jobs} == {"done"}  # the winner ran them right after its commit
    assert published_after == published_before - 1 == really_published
    assert leftovers == 0
    assert requests.get(f"{server}/api/v2/playlist/{playlist['id']}", headers=owner,
                        timeout=10).json()["data"]["totalVideos"] == 0
    assert not any((SERVER_HOME / "media" / public_id).exists() for public_id in doomed_ids)


def test_20_concurrent_logouts_with_one_token_have_one_winner(server):
    first, me = signed_in_user(server, "lau")
    sessions = [first, *({"Authorization": "Bearer " + requests.post(
        f"{server}/api/v2/user/login", json={"username": me["username"], "password": "Passw0rdX"},
        timeout=10).json()["data"]["accessToken"]} for _ in range(ROUNDS - 1))]

    for headers in sessions:
        responses = _race(server, "POST", "/api/v2/user/logout", headers)

        assert _outcomes(responses) == {(200, "User logged out successfully"): 1, (401, "Invalid Access Token"): 19}
        winner = next(r for r in responses if r.status_code == 200)
        assert winner.headers["Set-Cookie"].count("Max-Age=0") == 2  # both auth cookies cleared, by the winner
        assert requests.get(f"{server}/api/v2/user/current-user-details", headers=headers,
                            timeout=10).status_code == 401
    assert _value("SELECT array_agg(revoked_reason) FROM sessions WHERE user_id = CAST(:id AS uuid)",
                  id=me["id"]) == ["logout"] * ROUNDS  # each session ended once, by its winner
