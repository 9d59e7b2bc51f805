"""Access and refresh tokens, sessions, logout and password change (contract §1.6–1.8, §4.3–4.5; design 5)."""

import json
import time

import jwt

from shared.settings import get_settings

JSON = {"Content-Type": "application/json"}


def _refresh_with_body(client, token):
    return client.post("/api/v2/user/refresh-token", body=json.dumps({"refreshToken": token}), headers=JSON)


def _me(client, headers):
    return client.get("/api/v2/user/current-user-details", headers=headers)


def test_protected_routes_need_a_token(client):
    response = client.get("/api/v2/user/current-user-details")

    assert response.status_code == 401
    assert response.json_body["message"] == "Unauthorized request"


def test_the_access_cookie_works_and_wins_over_the_header(client, make_user, sign_in):
    alice, bob = make_user(username="alice"), make_user(username="bob")
    alice_token = sign_in(alice)["Authorization"].split()[1]
    bob_headers = sign_in(bob)

    response = client.get("/api/v2/user/current-user-details",
                          headers={"Cookie": f"accessToken={alice_token}", "Authorization": bob_headers["Authorization"]})

    assert response.json_body["data"]["username"] == "alice"


def test_current_user_details_returns_the_public_user(client, make_user, auth):
    user = make_user(username="carol")

    response = _me(client, auth(user))

    assert response.status_code == 200
    assert response.json_body["message"] == "Current user details"
    assert response.json_body["data"]["id"] == str(user["id"])
    assert "password" not in json.dumps(response.json_body)


def test_jwt_failures_use_jsonwebtokens_messages(client, make_user):
    user = make_user()
    settings = get_settings()
    now = int(time.time())
    claims = {"id": str(user["id"]), "sid": "00000000-0000-0000-0000-000000000000", "typ": "access",
              "email": user["email"], "username": user["username"]}
    expired = jwt.encode({**claims, "iat": now - 100, "exp": now - 10}, settings.access_token_secret, "HS256")
    forged = jwt.encode({**claims, "iat": now, "exp": now + 100}, "not-the-secret-at-all-0123456789", "HS256")
    none_alg = jwt.encode({**claims, "iat": now, "exp": now + 100}, None, algorithm="none")

    for token, message in ((expired, "jwt expired"), (forged, "invalid signature"), ("abc", "jwt malformed"),
                           (none_alg, "invalid algorithm")):
        response = _me(client, {"Authorization": f"Bearer {token}"})
        assert (response.status_code, response.json_body["message"]) == (401, message)


def test_a_token_verified_earlier_is_still_refused_once_it_expires(client, make_user, auth, monkeypatch):
    """Verified signatures are remembered per token; expiry is decided again on every request."""
    headers = auth(make_user())
    assert _me(client, headers).status_code == 200
    later = time.time() + get_settings().access_token_ttl + 1
    monkeypatch.setattr("shared.auth.time.time", lambda: later)

    response = _me(client, headers)

    assert (response.status_code, response.json_body["message"]) == (401, "jwt expired")


def test_a_refresh_token_is_not_an_access_token(client, make_user, sign_in):
    refresh = sign_in(make_user())["X-Refresh-Token"]

    response = _me(client, {"Authorization": f"Bearer {refresh}"})

    assert response.status_code == 401


def test_refresh_rotates_both_tokens(client, make_user, sign_in):
    headers = sign_in(make_user())

    response = _refresh_with_body(client, headers["X-Refresh-Token"])

    assert response.status_code == 200
    assert response.json_body["message"] == "Access token refreshed"
    data = response.json_body["data"]
    assert data["refreshToken"] != headers["X-Refresh-Token"]
    assert _me(client, {"Authorization": f"Bearer {data['accessToken']}"}).status_code == 200
    assert len(response.headers["Set-Cookie"]) == 2


def test_refresh_reads_the_cookie_first(client, make_user, sign_in):
    headers = sign_in(make_user())

    response = client.post("/api/v2/user/refresh-token", headers={"Cookie": f"refreshToken={headers['X-Refresh-Token']}"})

    assert response.status_code == 200


def test_reusing_a_rotated_refresh_token_revokes_the_whole_session(client, make_user, sign_in):
    headers = sign_in(make_user())
    old = headers["X-Refresh-Token"]
    new = _refresh_with_body(client, old).json_body["data"]

    replay = _refresh_with_body(client, old)

    assert replay.status_code == 401
    assert replay.json_body["message"] == "Invalid refresh token"
    assert _refresh_with_body(client, new["refreshToken"]).status_code == 401  # the thief's gain is void
    assert _me(client, {"Authorization": f"Bearer {new['accessToken']}"}).status_code == 401


def test_reuse_revokes_only_that_session(client, make_user, sign_in):
    user = make_user()
    phone, laptop = sign_in(user), sign_in(user)
    _refresh_with_body(client, phone["X-Refresh-Token"])
    _refresh_with_body(client, phone["X-Refresh-Token"])

    assert _refresh_with_body(client, laptop["X-Refresh-Token"]).status_code == 200


def test_refresh_errors(client):
    missing = client.post("/api/v2/user/refresh-token")
    garbage = _refresh_with_body(client, "not.a.token")
    wrong_type = _refresh_with_body(client, 42)

    assert (missing.status_code, missing.json_body["message"]) == (401, "Refresh token is required")
    assert (garbage.status_code, garbage.json_body["message"]) == (401, "Invalid refresh token")
    assert wrong_type.status_code == 422


def test_logout_revokes_the_session_and_clears_cookies(client, make_user, sign_in):
    headers = sign_in(make_user())
    access = {"Authorization": headers["Authorization"]}

    response = client.post("/api/v2/user/logout", headers=access)

    assert response.status_code == 200
    assert response.json_body == {"statusCode": 200, "data": {}, "message": "User logged out successfully",
                                  "success": True}
    cleared = response.headers["Set-Cookie"]
    assert len(cleared) == 2
    assert all("Max-Age=0" in c and "Expires=Thu, 01 Jan 1970 00:00:00 GMT" in c for c in cleared)
    assert _me(client, access).json_body["message"] == "Invalid Access Token"
    assert _refresh_with_body(client, headers["X-Refresh-Token"]).status_code == 401


def test_change_password_keeps_this_session_and_revokes_the_others(client, make_user, sign_in):
    user = make_user()
    this, other = sign_in(user), sign_in(user)
    this_access = {"Authorization": this["Authorization"], **JSON}

    response = client.post("/api/v2/user/change-password", headers=this_access,
                           body=json.dumps({"oldPassword": user["password"], "newPassword": "BrandNew99"}))

    assert response.status_code == 200
    assert response.json_body["message"] == "Password changed successfully"
    assert _me(client, {"Authorization": this["Authorization"]}).status_code == 200
    assert _me(client, {"Authorization": other["Authorization"]}).status_code == 401
    assert _refresh_with_body(client, other["X-Refresh-Token"]).status_code == 401
    login = client.post("/api/v2/user/login", headers=JSON,
                        body=json.dumps({"username": user["username"], "password": "BrandNew99"}))
    assert login.status_code == 200


def test_change_password_with_a_wrong_old_password_is_400(client, make_user, auth):
    user = make_user()

    response = client.post("/api/v2/user/change-password", headers={**auth(user), **JSON},
                           body=json.dumps({"oldPassword": "Nope12345", "newPassword": "BrandNew99"}))

    assert (response.status_code, response.json_body["message"]) == (400, "Invalid old password")


def test_change_password_validation_lists_each_problem_once(client, make_user, auth):
    headers = {**auth(make_user()), **JSON}

    empty = client.post("/api/v2/user/change-password", headers=headers, body="{}")
    same = client.post("/api/v2/user/change-password", headers=headers,
                       body=json.dumps({"oldPassword": "Same1234x", "newPassword": "Same1234x"}))
    weak = client.post("/api/v2/user/change-password", headers=headers,
                       body=json.dumps({"oldPassword": "Old12345x", "newPassword": "weak"}))

    assert empty.status_code == 422
    assert empty.json_body["message"] == "Password change validation failed"
    assert empty.json_body["errors"] == ["Old password is required", "New password is required",
                                         "oldPassword is required", "newPassword is required"]
    assert same.json_body["errors"] == ["New password cannot be the same as the old password"]
    assert weak.json_body["errors"] == ["Password must be between 8 and 72 characters",
                                        "Password must contain at least one uppercase letter",
                                        "Password must contain at least one number"]
