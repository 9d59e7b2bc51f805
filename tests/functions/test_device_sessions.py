"""My signed-in devices (issue #16, point 5): list them, end one, end all the others; an ended session is refused
at once, though who a token belongs to is cached."""

import json
import uuid

from shared import db
from shared.services.sessions import device_name

BASE = "/api/v2/user"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)"
          " Version/17.5 Mobile/15E148 Safari/604.1")


def _login(client, user, agent):
    response = client.post(f"{BASE}/login", body=json.dumps({"username": user["username"], "password": user["password"]}),
                           headers={"Content-Type": "application/json", "User-Agent": agent})
    return {"Authorization": f"Bearer {response.json_body['data']['accessToken']}"}


def _me(client, headers):
    return client.get(f"{BASE}/current-user-details", headers=headers)


def test_the_list_shows_each_live_device_and_which_is_this_one(client, make_user):
    user = make_user(username="dev")
    laptop = _login(client, user, FIREFOX)
    phone = _login(client, user, IPHONE)
    ended = _login(client, user, "curl/8.5.0")
    client.post(f"{BASE}/logout", headers=ended)

    response = client.get(f"{BASE}/sessions", headers=phone)

    assert response.status_code == 200
    rows = response.json_body["data"]
    assert [r["device"] for r in rows] == ["Safari on iOS", "Firefox on Linux"]  # newest first, the ended one gone
    assert [r["current"] for r in rows] == [True, False]
    assert rows[1]["userAgent"] == FIREFOX and rows[1]["ip"]
    assert set(rows[0]) == {"id", "userAgent", "device", "ip", "createdAt", "lastUsedAt", "current"}
    assert laptop  # still signed in: listed


def test_a_session_ended_from_another_device_is_refused_at_once(client, make_user):
    user = make_user()
    laptop, phone = _login(client, user, FIREFOX), _login(client, user, IPHONE)
    assert _me(client, laptop).status_code == 200  # its session check is cached now
    laptop_id = next(r["id"] for r in client.get(f"{BASE}/sessions", headers=phone).json_body["data"]
                     if not r["current"])

    response = client.delete(f"{BASE}/sessions/{laptop_id}", headers=phone)

    assert response.status_code == 200
    assert response.json_body["message"] == "Session ended"
    assert _me(client, laptop).status_code == 401
    assert _me(client, phone).status_code == 200
    assert db.fetch_value("SELECT revoked_reason FROM sessions WHERE id = :id", id=laptop_id) == "ended by the user"


def test_ending_this_session_signs_it_out_and_clears_the_cookies(client, make_user):
    user = make_user()
    phone = _login(client, user, IPHONE)
    mine = client.get(f"{BASE}/sessions", headers=phone).json_body["data"][0]["id"]

    response = client.delete(f"{BASE}/sessions/{mine}", headers=phone)

    assert response.status_code == 200
    assert "Max-Age=0" in str(response.headers)
    assert _me(client, phone).status_code == 401


def test_nobody_ends_someone_elses_session(client, make_user):
    alice, mallory = make_user(), make_user()
    alice_headers, mallory_headers = _login(client, alice, FIREFOX), _login(client, mallory, FIREFOX)
    alice_session = client.get(f"{BASE}/sessions", headers=alice_headers).json_body["data"][0]["id"]

    stranger = client.delete(f"{BASE}/sessions/{alice_session}", headers=mallory_headers)
    unknown = client.delete(f"{BASE}/sessions/{uuid.uuid4()}", headers=mallory_headers)
    malformed = client.delete(f"{BASE}/sessions/not-a-uuid", headers=mallory_headers)

    assert stranger.status_code == unknown.status_code == 404
    assert stranger.json_body["message"] == "Session not found"
    assert malformed.status_code == 400
    assert _me(client, alice_headers).status_code == 200


def test_revoke_others_keeps_only_this_session(client, make_user):
    user, bystander = make_user(), make_user()
    others = [_login(client, user, FIREFOX), _login(client, user, "curl/8.5.0")]
    bystander_headers = _login(client, bystander, FIREFOX)
    for headers in others:
        assert _me(client, headers).status_code == 200
    phone = _login(client, user, IPHONE)

    response = client.post(f"{BASE}/sessions/revoke-others", headers=phone)

    assert response.status_code == 200
    assert response.json_body["data"] == {"ended": 2}
    assert [_me(client, h).status_code for h in others] == [401, 401]
    assert _me(client, phone).status_code == 200
    assert _me(client, bystander_headers).status_code == 200
    assert [r["current"] for r in client.get(f"{BASE}/sessions", headers=phone).json_body["data"]] == [True]


def test_an_ended_sessions_refresh_token_is_refused_too(client, make_user, sign_in):
    user = make_user()
    laptop, phone = sign_in(user), _login(client, user, IPHONE)
    client.post(f"{BASE}/sessions/revoke-others", headers=phone)

    response = client.post(f"{BASE}/refresh-token", body=json.dumps({"refreshToken": laptop["X-Refresh-Token"]}),
                           headers={"Content-Type": "application/json"})

    assert response.status_code == 401


def test_the_session_routes_need_a_session(client):
    assert client.get(f"{BASE}/sessions").status_code == 401
    assert client.post(f"{BASE}/sessions/revoke-others").status_code == 401
    assert client.delete(f"{BASE}/sessions/{uuid.uuid4()}").status_code == 401


def test_device_names_from_user_agents():
    chrome_windows = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
                      " Chrome/126.0.0.0 Safari/537.36")
    edge = chrome_windows + " Edg/126.0.0.0"
    android = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0"
               " Mobile Safari/537.36")

    assert device_name(chrome_windows) == "Chrome on Windows"
    assert device_name(edge) == "Edge on Windows"
    assert device_name(android) == "Chrome on Android"
    assert device_name(IPHONE) == "Safari on iOS"
    assert device_name("curl/8.5.0") == "curl"
    assert device_name("") == device_name(None) == "Unknown device"
