"""POST /api/v2/user/login (contract §4.2, design deviations 4 and 5)."""

import json

import pytest

JSON = {"Content-Type": "application/json"}


def _login(client, **body):
    return client.post("/api/v2/user/login", body=json.dumps(body), headers=JSON)


def _cookies(response):
    values = response.headers.get("Set-Cookie")
    return values if isinstance(values, list) else [values]


def test_login_by_email_returns_user_tokens_and_two_cookies(client, make_user):
    user = make_user(username="grace", email="grace@example.com")

    response = _login(client, email="grace@example.com", password=user["password"])

    assert response.status_code == 200
    body = response.json_body
    assert body["message"] == "User logged in successfully"
    assert body["data"]["user"]["username"] == "grace"
    assert set(body["data"]) == {"user", "accessToken", "refreshToken"}
    access, refresh = _cookies(response)
    assert access.startswith(f"accessToken={body['data']['accessToken']};")
    assert refresh.startswith(f"refreshToken={body['data']['refreshToken']};")
    for cookie, max_age in ((access, 900), (refresh, 604800)):
        parts = [p.strip() for p in cookie.split(";")]
        assert f"Max-Age={max_age}" in parts
        assert {"HttpOnly", "SameSite=Strict", "Path=/", "Secure"} <= set(parts)  # Secure outside dev


@pytest.mark.parametrize("field,value", [("email", "GRACE@Example.com"), ("username", "  Grace "),
                                         ("username", "GRACE")])
def test_login_matches_email_and_username_case_insensitively(client, make_user, field, value):
    user = make_user(username="grace", email="grace@example.com")

    response = _login(client, **{field: value, "password": user["password"]})

    assert response.status_code == 200


def test_wrong_password_and_unknown_user_get_the_same_401(client, make_user):
    user = make_user(username="grace")

    wrong = _login(client, username="grace", password="Wrong1234")
    unknown = _login(client, username="nobody", password=user["password"])

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json_body == unknown.json_body
    assert wrong.json_body["message"] == "Invalid credentials"


def test_email_and_username_of_different_accounts_do_not_log_in(client, make_user):
    first = make_user(username="first")
    make_user(username="second")

    response = _login(client, username="second", email=first["email"], password=first["password"])

    assert response.status_code == 401


def test_login_validation_lists_both_problems(client):
    response = _login(client, email="  ", password="")

    assert response.status_code == 422
    assert response.json_body["message"] == "Login validation failed"
    assert response.json_body["errors"] == ["Email or username is required", "Password is required"]


def test_login_without_a_body_is_422(client):
    response = client.post("/api/v2/user/login")

    assert response.status_code == 422


def test_a_non_string_password_is_422_not_500(client):
    response = _login(client, email="a@b.co", password=12345678)

    assert response.status_code == 422
    assert response.json_body["errors"] == ["password must be a string"]


def test_login_accepts_a_urlencoded_form(client, make_user):
    user = make_user(username="formuser")

    response = client.post("/api/v2/user/login", body=f"username=formuser&password={user['password']}",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})

    assert response.status_code == 200


def test_a_password_longer_than_72_bytes_never_matches(client, make_user):
    user = make_user(username="longpw")

    response = _login(client, username="longpw", password=user["password"] + "x" * 80)

    assert response.status_code == 401


def test_each_login_is_its_own_session(client, make_user):
    from shared import db

    user = make_user(username="multi")
    _login(client, username="multi", password=user["password"])
    _login(client, username="multi", password=user["password"])

    assert db.fetch_value("SELECT count(*) FROM sessions WHERE user_id = :id", id=user["id"]) == 2
    hashes = db.fetch_all("SELECT token_hash FROM sessions")
    assert all(len(bytes(h["token_hash"])) == 32 for h in hashes)  # SHA-256, never the token itself


def test_an_unknown_account_costs_the_same_bcrypt_work_as_a_wrong_password(client, make_user, monkeypatch):
    import bcrypt

    make_user(username="known")
    calls = []
    real = bcrypt.checkpw
    monkeypatch.setattr(bcrypt, "checkpw", lambda pw, hashed: calls.append(hashed[:7]) or real(pw, hashed))

    _login(client, username="known", password="Wrong1234")
    _login(client, username="unknown", password="Wrong1234")

    assert len(calls) == 2
    assert calls[0] == calls[1]  # same algorithm and cost prefix ($2b$04$) on both paths
