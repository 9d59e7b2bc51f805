"""Race conditions over real HTTP against the production server (issue #4 item 8)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.conftest import jpeg_bytes, video_bytes
from tests.e2e.conftest import signed_in_user


def _user(server: str) -> tuple[dict[str, str], str]:
    headers, user = signed_in_user(server, "s")
    return headers, user["id"]


@pytest.fixture
def video(server):
    headers, _ = _user(server)
    response = requests.post(f"{server}/api/v2/videos", headers=headers, timeout=60, data={"title": "race"},
                             files={"videoFile": ("v.mp4", video_bytes("mp4"), "video/mp4"),
                                    "thumbnail": ("t.jpg", jpeg_bytes(), "image/jpeg")})
    response.raise_for_status()
    return response.json()["data"]["video"]


def _race(count: int, call) -> list[requests.Response]:
    barrier = threading.Barrier(count)

    def go(_: int) -> requests.Response:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(go, range(count)))


def test_50_concurrent_like_toggles_stay_consistent(server, video):
    headers, _ = _user(server)
    url = f"{server}/api/v2/likes/toggle/v/{video['id']}"

    responses = _race(50, lambda: requests.post(url, headers=headers, timeout=60))

    assert all(r.status_code == 200 for r in responses), [r.status_code for r in responses]
    answers = [r.json()["data"]["liked"] for r in responses]
    assert answers.count(True) == answers.count(False) == 25  # every toggle flipped the state exactly once
    liked = requests.get(f"{server}/api/v2/likes/videos", headers=headers, timeout=10).json()["data"]
    assert liked == []  # an even number of flips from "not liked"
    final = requests.post(url, headers=headers, timeout=10).json()["data"]["liked"]
    assert final is True and len(requests.get(f"{server}/api/v2/likes/videos", headers=headers,
                                              timeout=10).json()["data"]) == 1


def test_50_concurrent_subscribe_toggles_stay_consistent(server):
    fan, _ = _user(server)
    _, channel_id = _user(server)
    url = f"{server}/api/v2/subscriptions/c/{channel_id}"

    responses = _race(50, lambda: requests.post(url, headers=fan, timeout=60))

    assert all(r.status_code == 200 for r in responses)
    answers = [r.json()["data"]["subscribed"] for r in responses]
    assert answers.count(True) == answers.count(False) == 25
    subscribers = requests.get(url, headers=fan, timeout=10).json()["data"]
    assert subscribers == []


def test_two_sessions_racing_to_add_the_same_playlist_entry_get_one_200_and_one_409(server, video):
    first, _ = _user(server)
    name = requests.get(f"{server}/api/v2/user/current-user-details", headers=first, timeout=10).json()["data"]
    second = {"Authorization": "Bearer " + requests.post(
        f"{server}/api/v2/user/login", json={"username": name["username"], "password": "Passw0rdX"},
        timeout=10).json()["data"]["accessToken"]}
    playlist = requests.post(f"{server}/api/v2/playlist", headers=first, json={"name": "race"},
                             timeout=10).json()["data"]
    url = f"{server}/api/v2/playlist/{playlist['id']}/{video['id']}"
    sessions = iter([first, second])
    lock = threading.Lock()

    def add() -> requests.Response:
        with lock:
            headers = next(sessions)
        return requests.post(url, headers=headers, timeout=30)

    responses = _race(2, add)

    assert sorted(r.status_code for r in responses) == [200, 409]
    detail = requests.get(f"{server}/api/v2/playlist/{playlist['id']}", headers=first, timeout=10).json()["data"]
    assert detail["totalVideos"] == 1
