"""End to end over real HTTP against the production WSGI server (Granian + the shim)."""

from __future__ import annotations

import socket
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, urlparse

import requests

from tests.conftest import png_bytes


def _register(base: str, username: str, password: str = "Passw0rdX", avatar: bytes | None = None) -> dict:
    files = {"avatar": ("me.png", avatar or png_bytes(), "image/png")}
    data = {"fullname": f"User {username}", "username": username, "email": f"{username}@example.com",
            "password": password}
    response = requests.post(f"{base}/api/v2/user/register", data=data, files=files, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()["data"]


def _login(base: str, username: str, session: requests.Session | None = None) -> requests.Response:
    http = session or requests
    response = http.post(f"{base}/api/v2/user/login", json={"username": username, "password": "Passw0rdX"}, timeout=30)
    assert response.status_code == 200, response.text
    return response


def _name() -> str:
    return f"u{uuid.uuid4().hex[:12]}"


def test_login_sets_two_cookies_and_the_cookie_session_works_end_to_end(server):
    name = _name()
    _register(server, name)
    session = requests.Session()

    login = _login(server, name, session)

    set_cookies = login.raw.headers.getlist("Set-Cookie")
    assert len(set_cookies) == 2
    assert {c.split("=", 1)[0] for c in set_cookies} == {"accessToken", "refreshToken"}
    assert all("HttpOnly" in c and "SameSite=Strict" in c and "Max-Age=" in c for c in set_cookies)
    assert all("Secure" not in c for c in set_cookies)  # dev stage over plain http
    me = session.get(f"{server}/api/v2/user/current-user-details", timeout=10)
    assert me.status_code == 200 and me.json()["data"]["username"] == name
    refreshed = session.post(f"{server}/api/v2/user/refresh-token", timeout=10)
    assert refreshed.status_code == 200
    assert len(refreshed.raw.headers.getlist("Set-Cookie")) == 2
    logout = session.post(f"{server}/api/v2/user/logout", timeout=10)
    assert logout.status_code == 200
    assert len(logout.raw.headers.getlist("Set-Cookie")) == 2
    assert session.get(f"{server}/api/v2/user/current-user-details", timeout=10).status_code == 401


def test_refresh_token_reuse_is_detected_over_http(server):
    name = _name()
    _register(server, name)
    tokens = _login(server, name).json()["data"]

    first = requests.post(f"{server}/api/v2/user/refresh-token", json={"refreshToken": tokens["refreshToken"]}, timeout=10)
    replay = requests.post(f"{server}/api/v2/user/refresh-token", json={"refreshToken": tokens["refreshToken"]}, timeout=10)
    after = requests.post(f"{server}/api/v2/user/refresh-token",
                          json={"refreshToken": first.json()["data"]["refreshToken"]}, timeout=10)

    assert first.status_code == 200
    assert replay.status_code == 401
    assert after.status_code == 401


def test_media_is_served_with_range_requests(server):
    image = png_bytes(extra=300_000)
    user = _register(server, _name(), avatar=image)
    url = user["avatar"]
    assert urlparse(url).path.startswith("/api/v2/media/avatars/")
    local = server + urlparse(url).path

    whole = requests.get(local, timeout=10)
    part = requests.get(local, headers={"Range": "bytes=100-1099"}, timeout=10)
    head = requests.head(local, timeout=10)
    cached = requests.get(local, headers={"If-None-Match": whole.headers["ETag"]}, timeout=10)
    beyond = requests.get(local, headers={"Range": f"bytes={len(image) + 10}-"}, timeout=10)

    assert whole.status_code == 200 and whole.content == image
    assert whole.headers["Content-Type"] == "image/png"
    assert part.status_code == 206 and part.content == image[100:1100]
    assert part.headers["Content-Range"] == f"bytes 100-1099/{len(image)}"
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == len(image) and head.content == b""
    assert cached.status_code == 304
    assert beyond.status_code == 416


def test_100_concurrent_requests_from_different_users_never_cross(server):
    names = [_name() for _ in range(100)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(lambda n: _register(server, n), names))
        tokens = dict(zip(names, pool.map(lambda n: _login(server, n).json()["data"]["accessToken"], names), strict=True))

    def whoami(name: str) -> tuple[str, str, int]:
        if names.index(name) % 2:
            response = requests.get(f"{server}/api/v2/user/current-user-details",
                                    headers={"Authorization": f"Bearer {tokens[name]}"}, timeout=30)
        else:
            response = requests.get(f"{server}/api/v2/user/c/{name}", cookies={"accessToken": tokens[name]}, timeout=30)
        return name, response.json()["data"]["username"], response.status_code

    with ThreadPoolExecutor(max_workers=100) as pool:
        results = list(pool.map(whoami, names))

    assert all(status == 200 for _, _, status in results)
    assert [asked for asked, _, _ in results] == [got for _, got, _ in results]


def test_an_oversized_body_is_refused_with_413_before_it_is_read(server):
    host, port = urlparse(server).hostname, urlparse(server).port
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(b"POST /api/v2/user/register HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 52428800\r\n\r\n")
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
        reply = reply.decode()

    assert reply.startswith("HTTP/1.1 413")
    assert '"success":false' in reply


def test_a_json_body_over_1mb_is_413(server):
    response = requests.post(f"{server}/api/v2/user/login", data=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                             headers={"Content-Type": "application/json"}, timeout=10)

    assert response.status_code == 413


def test_a_staged_form_reaches_only_its_own_request_and_never_outlives_it(server):
    from tests.e2e.conftest import SERVER_HOME, signed_in_user

    headers, _ = signed_in_user(server, "stage")
    staging = SERVER_HOME / "staging"
    big = png_bytes(extra=2 * 1024 * 1024)

    # The shim streams the form to disk before routing; the handler refuses before reading it: still removed.
    refused = requests.patch(f"{server}/api/v2/user/update-avatar", files={"avatar": ("a.png", big, "image/png")},
                             timeout=30)
    # Nothing a client sends can name a staged form: the old one-time header is just a header now.
    forged = requests.patch(f"{server}/api/v2/user/update-avatar", timeout=30,
                            headers={**headers, "X-VizTube-Staged-Form": "guess", "Content-Type": "application/json"},
                            data=b"{}")
    mine = requests.patch(f"{server}/api/v2/user/update-avatar", headers=headers, timeout=30,
                          files={"avatar": ("mine.png", png_bytes(3, 3), "image/png")})

    assert refused.status_code == 401
    assert forged.status_code == 415
    assert mine.status_code == 200, mine.text
    assert list(staging.iterdir()) == []


def test_a_bad_upload_through_the_streaming_path_leaves_nothing(server):
    name = _name()
    response = requests.post(f"{server}/api/v2/user/register",
                             data={"fullname": "F", "username": name, "email": f"{name}@example.com",
                                   "password": "Passw0rdX"},
                             files={"avatar": ("x.png", b"MZ\x90\x00 not a png" * 100, "image/png")}, timeout=10)
    login = requests.post(f"{server}/api/v2/user/login", json={"username": name, "password": "Passw0rdX"}, timeout=10)

    assert response.status_code == 400
    assert login.status_code == 401


def test_unknown_routes_and_wrong_methods_over_http(server):
    deep = "/".join(["x"] * 20)

    assert requests.get(f"{server}/api/v2/nope", timeout=10).status_code == 404
    assert requests.get(f"{server}/{deep}", timeout=10).json()["statusCode"] == 404
    assert requests.put(f"{server}/api/v2/healthcheck", timeout=10).status_code == 405


def test_cors_preflight_for_allowed_and_other_origins(server):
    allowed = requests.options(f"{server}/api/v2/user/login", timeout=10,
                               headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"})
    other = requests.options(f"{server}/api/v2/user/login", timeout=10,
                             headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})

    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert allowed.headers["Access-Control-Allow-Credentials"] == "true"
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Origin" not in other.headers


def test_every_accounts_route_answers_over_http(server):
    name = _name()
    _register(server, name)
    token = _login(server, name).json()["data"]["accessToken"]
    headers = {"Authorization": f"Bearer {token}"}

    profile = requests.get(f"{server}/api/v2/user/c/{name.upper()}", headers=headers, timeout=10)
    updated = requests.patch(f"{server}/api/v2/user/update-account", json={"fullname": "Renamed"}, headers=headers,
                             timeout=10)
    avatar = requests.patch(f"{server}/api/v2/user/update-avatar", headers=headers, timeout=10,
                            files={"avatar": ("a.png", png_bytes(), "image/png")})
    cover = requests.patch(f"{server}/api/v2/user/update-cover-image", headers=headers, timeout=10,
                           files={"coverImage": ("c.png", png_bytes(), "image/png")})
    history = requests.get(f"{server}/api/v2/user/watch-history", headers=headers, timeout=10)
    password = requests.post(f"{server}/api/v2/user/change-password", headers=headers, timeout=10,
                             json={"oldPassword": "Passw0rdX", "newPassword": "Another99X"})

    assert [r.status_code for r in (profile, updated, avatar, cover, history, password)] == [200] * 6
    assert profile.json()["data"]["email"] == f"{name}@example.com"
    assert updated.json()["data"]["fullname"] == "Renamed"
    assert history.json()["data"] == []


def test_non_ascii_path_parameters_arrive_intact(server):
    """The server hands the shim PATH_INFO as latin-1-decoded bytes (PEP 3333): a UTF-8 username survives."""
    name = f"zoë{uuid.uuid4().hex[:8]}"
    _register(server, name)
    token = _login(server, name).json()["data"]["accessToken"]

    response = requests.get(f"{server}/api/v2/user/c/{quote(name)}", headers={"Authorization": f"Bearer {token}"},
                            timeout=10)

    assert response.status_code == 200, response.text
    assert response.json()["data"]["username"] == name


def test_the_servers_log_lines_are_json_with_request_ids(server):
    """Every line a logger writes, Granian's own included, is one JSON object; request lines carry the id."""
    import json
    import time

    from tests.e2e.conftest import SERVER_HOME

    name = _name()
    _register(server, name)
    token = _login(server, name).json()["data"]["refreshToken"]
    for _ in range(2):  # the replay is logged as a warning, inside the request
        response = requests.post(f"{server}/api/v2/user/refresh-token", json={"refreshToken": token}, timeout=10)
    request_id = response.headers["X-Request-Id"]
    time.sleep(0.2)

    lines = (SERVER_HOME / "server.log").read_text().splitlines()
    logged = [line for line in lines if not line.startswith("VizTube ")  # the start-up banner
              and "Warning:" not in line and not line.startswith(" ")]  # Python's own warnings, not loggers
    entries = [json.loads(line) for line in logged]

    assert entries  # at least the start-up lines (and Granian's, when it has something to say) parsed above
    assert any(e["requestId"] == request_id and "refresh token reuse" in e["message"] for e in entries)


def test_a_burst_of_unstorable_text_over_http_is_4xx_and_leaves_every_connection_sound(server):
    from tests.e2e.conftest import signed_in_user

    headers, _ = signed_in_user(server, "burst")
    _, bystander = signed_in_user(server, "calm")
    hostile = ['{"username": "a\\u0000", "password": "x"}', '{"username": "\\ud800", "password": "\\udfff"}',
               '{"email": "x\\u0000@y.z", "password": "Passw0rdX"}']
    calls = [("POST", "/api/v2/user/login", body, {"Content-Type": "application/json"}) for body in hostile]
    calls += [("PATCH", "/api/v2/user/update-account", '{"fullname": "N\\u0000"}', {"Content-Type": "application/json"}),
              ("PATCH", "/api/v2/user/update-account", b"fullname=%FF%FE",
               {"Content-Type": "application/x-www-form-urlencoded"}),
              ("POST", "/api/v2/tweets", '{"content": "\\ud83d"}', {"Content-Type": "application/json"}),
              ("POST", "/api/v2/playlist", b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\x00y\r\n--b--\r\n',
               {"Content-Type": "multipart/form-data; boundary=b"}),
              ("GET", "/api/v2/user/c/%00", None, {}), ("GET", "/api/v2/user/c/%ff%fe", None, {}),
              ("GET", "/api/v2/videos?query=%00", None, {})]

    def call(i: int) -> int:
        method, path, body, extra = calls[i % len(calls)]
        return requests.request(method, f"{server}{path}", data=body, headers={**headers, **extra}, timeout=30).status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(call, range(200)))

    assert all(400 <= s < 500 for s in statuses), sorted(set(statuses))
    # Every pooled connection of every worker process still answers its own statements.
    for _ in range(24):
        login = requests.post(f"{server}/api/v2/user/login", timeout=30,
                              json={"username": bystander["username"], "password": "Passw0rdX"})
        assert login.status_code == 200, login.text
        feed = requests.get(f"{server}/api/v2/videos?limit=5", timeout=30,
                            headers={"Authorization": f"Bearer {login.json()['data']['accessToken']}"})
        assert feed.status_code == 200 and feed.json()["success"] is True
