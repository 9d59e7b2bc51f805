"""Rate limits (issue #5): 429 with Retry-After and RateLimit-* headers, per IP and per account, in-process
and in a real Redis; a forwarded address counts only from a trusted proxy."""

import json

import pytest

from shared.settings import reset_settings

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def limits_on(monkeypatch, store_backend):
    monkeypatch.setenv("RATE_LIMITS", "on")
    reset_settings()
    return store_backend


def _login(client, username="nobody", headers=None):
    return client.post("/api/v2/user/login", headers={**JSON, **(headers or {})},
                       body=json.dumps({"username": username, "password": "Wrong1234"}))


def test_the_eleventh_login_for_one_account_from_one_ip_is_429(client, limits_on):
    answers = [_login(client).status_code for _ in range(11)]

    assert answers == [401] * 10 + [429]
    over = _login(client)
    assert over.json_body["message"].startswith("Too many requests: login_account allows 10 per 5 minutes per IP and "
                                                "account (set RATE_LIMIT_LOGIN_ACCOUNT to change it); try again in ")
    assert over.json_body["errors"] == ["login_account: 10 per 5 minutes per IP and account"]
    assert over.json_body["success"] is False
    assert 1 <= int(over.headers["Retry-After"]) <= 300
    assert (over.headers["RateLimit-Limit"], over.headers["RateLimit-Remaining"]) == ("10", "0")
    assert int(over.headers["RateLimit-Reset"]) == int(over.headers["Retry-After"])


def test_other_accounts_from_the_same_ip_have_their_own_budget_up_to_the_ip_limit(client, limits_on):
    for _ in range(10):
        _login(client, "first")

    assert _login(client, "second").status_code == 401
    statuses = [_login(client, f"user{i}").status_code for i in range(25)]
    assert statuses.count(429) == 6  # 30 per IP: 10 + 1 + 19 allowed, then refused


def test_register_is_limited_per_ip(client, limits_on):
    statuses = [client.post("/api/v2/user/register", body=b"{}", headers=JSON).status_code for _ in range(6)]

    assert statuses == [415] * 5 + [429]


def test_a_429_names_the_limit_and_its_setting_and_is_logged_once_per_key_per_window(client, limits_on, caplog,
                                                                                      monkeypatch):
    monkeypatch.setenv("RATE_LIMIT_REGISTER", "2/hour")
    reset_settings()
    caplog.set_level("WARNING", logger="shared.ratelimit")

    answers = [client.post("/api/v2/user/register", body=b"{}", headers=JSON) for _ in range(5)]

    assert [a.status_code for a in answers] == [415, 415, 429, 429, 429]
    message = answers[-1].json_body["message"]
    assert message.startswith("Too many requests: register allows 2 per hour per IP (set RATE_LIMIT_REGISTER to "
                              "change it); try again in ")
    logged = [r.getMessage() for r in caplog.records if r.name == "shared.ratelimit"]
    assert len(logged) == 1 and "register: 2 per hour per IP" in logged[0] and "RATE_LIMIT_REGISTER" in logged[0]


def test_refresh_is_limited_per_ip(client, limits_on):
    statuses = [client.post("/api/v2/user/refresh-token").status_code for _ in range(31)]

    assert statuses == [401] * 30 + [429]


def test_upload_signing_is_limited_per_user(client, make_user, auth, limits_on, monkeypatch):
    monkeypatch.setenv("RATE_LIMIT_UPLOADS", "3/hour")
    reset_settings()
    headers = {**auth(make_user()), **JSON}
    body = json.dumps({"kind": "thumbnail", "contentType": "image/png", "size": 100})

    statuses = [client.post("/api/v2/uploads", headers=headers, body=body).status_code for _ in range(4)]
    other_user = client.post("/api/v2/uploads", headers={**auth(make_user()), **JSON}, body=body)

    assert statuses == [201, 201, 201, 429]
    assert other_user.status_code == 201


def test_the_global_ceiling_applies_per_ip_to_every_route(client, limits_on, monkeypatch):
    monkeypatch.setenv("RATE_LIMIT_GLOBAL", "5/minute")
    reset_settings()

    statuses = [client.get("/api/v2/videos").status_code for _ in range(6)]
    health = client.get("/api/v2/healthcheck")

    assert statuses == [401] * 5 + [429]
    assert health.status_code == 200  # health probes are not limited


def test_a_forwarded_address_counts_only_from_a_trusted_proxy(client, limits_on, monkeypatch):
    monkeypatch.setenv("RATE_LIMIT_LOGIN_ACCOUNT", "2/minute")
    reset_settings()
    spoofed = [_login(client, headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code for i in range(3)]

    monkeypatch.setenv("TRUSTED_PROXIES", "127.0.0.0/8")  # the test client's peer is 127.0.0.1
    reset_settings()
    via_proxy = [_login(client, "other", headers={"X-Forwarded-For": f"203.0.113.{i}, 127.0.0.1"}).status_code
                 for i in range(3)]
    cloudflare = [_login(client, "third", headers={"CF-Connecting-IP": "198.51.100.7"}).status_code for _ in range(3)]

    assert spoofed == [401, 401, 429]  # untrusted peer: the header is ignored, one client
    assert via_proxy == [401, 401, 401]  # trusted proxy: three different clients
    assert cloudflare == [401, 401, 429]  # one real client behind the proxy


def test_rate_limits_off_turns_every_limit_off(client, monkeypatch):
    monkeypatch.setenv("RATE_LIMITS", "off")
    monkeypatch.setenv("RATE_LIMIT_GLOBAL", "1/minute")
    reset_settings()

    assert [_login(client).status_code for _ in range(12)] == [401] * 12


def test_a_broken_limiter_store_fails_open(client, monkeypatch):
    monkeypatch.setenv("RATE_LIMITS", "on")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    reset_settings()

    assert _login(client).status_code == 401
