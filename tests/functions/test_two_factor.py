"""Two-factor sign-in (issue #16, point 4): enrolment, confirmation and recovery codes, the two-step login, replay
and brute-force refusals, disabling, and the secret kept out of every answer after enrolment."""

import datetime as dt
import json

import pyotp
import pytest

from shared import db
from shared.services import two_factor
from shared.settings import reset_settings

JSON = {"Content-Type": "application/json"}
BASE = "/api/v2/user"


def _post(client, path, body, headers=None):
    return client.post(f"{BASE}{path}", body=json.dumps(body), headers={**JSON, **(headers or {})})


def _login(client, user):
    return _post(client, "/login", {"username": user["username"], "password": user["password"]})


@pytest.fixture
def clock(monkeypatch):
    """The service's clock, moved by hand: each call of `advance` is one TOTP step (30 s) later."""
    now = [dt.datetime.now(dt.UTC)]
    monkeypatch.setattr(two_factor, "_now", lambda: now[0])

    class Clock:
        def code(self, secret, steps=0):
            return pyotp.TOTP(secret).at(now[0] + dt.timedelta(seconds=30 * steps))

        def advance(self, steps=1):
            now[0] += dt.timedelta(seconds=30 * steps)

    return Clock()


@pytest.fixture
def enrolled(client, make_user, auth, clock):
    """A user with two-factor sign-in on: (user, their headers, the secret, their recovery codes)."""
    user = make_user(username="tfa")
    headers = auth(user)
    secret = _post(client, "/2fa/enroll", {"password": user["password"]}, headers).json_body["data"]["secret"]
    codes = _post(client, "/2fa/confirm", {"code": clock.code(secret)}, headers).json_body["data"]["recoveryCodes"]
    clock.advance()
    return user, headers, secret, codes


def test_enrolment_answers_a_secret_its_uri_and_an_svg_qr_code(client, make_user, auth):
    user = make_user(username="ada", email="ada@example.com")

    response = _post(client, "/2fa/enroll", {"password": user["password"]}, auth(user))

    assert response.status_code == 200
    data = response.json_body["data"]
    assert pyotp.parse_uri(data["otpauthUri"]).secret == data["secret"]
    assert data["otpauthUri"].startswith("otpauth://totp/VizTube:ada%40example.com?")
    assert data["qrSvg"].startswith("<svg") and "xmlns" in data["qrSvg"]
    stored = bytes(db.fetch_value("SELECT secret_enc FROM two_factor WHERE user_id = :id", id=user["id"]))
    assert data["secret"].encode() not in stored  # encrypted at rest


def test_enrolment_needs_the_password(client, make_user, auth):
    user = make_user()

    response = _post(client, "/2fa/enroll", {"password": "Wrong1234"}, auth(user))

    assert response.status_code == 400
    assert response.json_body["message"] == "Invalid password"
    assert db.fetch_value("SELECT count(*) FROM two_factor") == 0


def test_two_factor_is_off_until_confirmed_with_a_good_code(client, make_user, auth, clock):
    user = make_user()
    headers = auth(user)
    secret = _post(client, "/2fa/enroll", {"password": user["password"]}, headers).json_body["data"]["secret"]

    wrong = _post(client, "/2fa/confirm", {"code": "000000" if clock.code(secret) != "000000" else "111111"}, headers)
    pending_login = _login(client, user)

    assert wrong.status_code == 400
    assert wrong.json_body["message"] == "Invalid two-factor code"
    assert "accessToken" in pending_login.json_body["data"]  # not enrolled yet: a login signs in at once
    assert client.get(f"{BASE}/current-user-details", headers=headers).json_body["data"]["twoFactorEnabled"] is False


def test_confirming_answers_ten_distinct_recovery_codes_stored_hashed(client, enrolled):
    user, headers, _, codes = enrolled

    assert len(codes) == len(set(codes)) == 10
    stored = [bytes(r["code_hash"]) for r in db.fetch_all("SELECT code_hash FROM two_factor_recovery_codes")]
    assert len(stored) == 10 and not any(code.encode() in blob for code in codes for blob in stored)
    me = client.get(f"{BASE}/current-user-details", headers=headers).json_body["data"]
    assert me["twoFactorEnabled"] is True  # at once, though the session check is cached


def test_the_secret_leaves_the_server_only_in_the_enrolment_answer(client, enrolled):
    user, headers, secret, _ = enrolled

    again = _post(client, "/2fa/enroll", {"password": user["password"]}, headers)
    answers = [again, client.get(f"{BASE}/current-user-details", headers=headers), _login(client, user)]

    assert again.status_code == 409
    for response in answers:
        assert secret not in json.dumps(response.json_body)


def test_a_login_of_an_enrolled_account_is_a_challenge_without_tokens_or_cookies(client, enrolled):
    user, _, _, _ = enrolled

    response = _login(client, user)

    assert response.status_code == 200
    assert response.json_body["data"]["otpRequired"] is True
    assert set(response.json_body["data"]) == {"otpRequired", "challenge"}
    assert "set-cookie" not in {k.lower() for k in response.headers}


def test_the_second_step_answers_exactly_like_a_login(client, enrolled, clock):
    user, _, secret, _ = enrolled
    challenge = _login(client, user).json_body["data"]["challenge"]

    response = _post(client, "/login/otp", {"challenge": challenge, "code": clock.code(secret)})

    assert response.status_code == 200
    assert response.json_body["message"] == "User logged in successfully"
    data = response.json_body["data"]
    assert set(data) == {"user", "accessToken", "refreshToken"} and data["user"]["username"] == "tfa"
    assert "accessToken=" in response.headers["Set-Cookie"] or "accessToken=" in str(response.headers)
    me = client.get(f"{BASE}/current-user-details", headers={"Authorization": f"Bearer {data['accessToken']}"})
    assert me.status_code == 200


def test_a_code_is_not_accepted_twice_within_its_window(client, enrolled, clock):
    user, _, secret, _ = enrolled
    code = clock.code(secret)
    first = _post(client, "/login/otp", {"challenge": _login(client, user).json_body["data"]["challenge"],
                                         "code": code})

    replay = _post(client, "/login/otp", {"challenge": _login(client, user).json_body["data"]["challenge"],
                                          "code": code})

    assert first.status_code == 200
    assert replay.status_code == 401
    assert replay.json_body["message"] == "Invalid two-factor code"


def test_the_code_confirming_enrolment_cannot_sign_in(client, make_user, auth, clock):
    user = make_user()
    headers = auth(user)
    secret = _post(client, "/2fa/enroll", {"password": user["password"]}, headers).json_body["data"]["secret"]
    code = clock.code(secret)
    _post(client, "/2fa/confirm", {"code": code}, headers)

    response = _post(client, "/login/otp", {"challenge": _login(client, user).json_body["data"]["challenge"],
                                            "code": code})

    assert response.status_code == 401


def test_wrong_codes_and_codes_outside_the_window_are_refused(client, enrolled, clock):
    user, _, secret, _ = enrolled
    challenge = _login(client, user).json_body["data"]["challenge"]

    too_old = _post(client, "/login/otp", {"challenge": challenge, "code": clock.code(secret, steps=-3)})
    too_new = _post(client, "/login/otp", {"challenge": challenge, "code": clock.code(secret, steps=3)})
    next_step = _post(client, "/login/otp", {"challenge": challenge, "code": clock.code(secret, steps=1)})

    assert too_old.status_code == too_new.status_code == 401
    assert next_step.status_code == 200  # one step of clock drift is accepted


def test_a_challenge_works_once_and_is_tied_to_nothing_else(client, enrolled, clock):
    user, _, secret, _ = enrolled
    challenge = _login(client, user).json_body["data"]["challenge"]
    _post(client, "/login/otp", {"challenge": challenge, "code": clock.code(secret)})
    clock.advance()

    reused = _post(client, "/login/otp", {"challenge": challenge, "code": clock.code(secret)})
    tampered = _post(client, "/login/otp", {"challenge": challenge[:-2] + "xx", "code": clock.code(secret)})

    assert reused.status_code == tampered.status_code == 401
    assert reused.json_body["message"] == "Invalid or expired two-factor challenge"


def test_an_expired_challenge_is_refused(client, enrolled, clock):
    user, _, secret, _ = enrolled
    challenge = _login(client, user).json_body["data"]["challenge"]
    db.execute("UPDATE login_challenges SET expires_at = now() - interval '1 second'")

    response = _post(client, "/login/otp", {"challenge": challenge, "code": clock.code(secret)})

    assert response.status_code == 401
    assert response.json_body["message"] == "Invalid or expired two-factor challenge"


def test_a_challenge_is_spent_after_five_wrong_codes(client, enrolled, clock):
    user, _, secret, _ = enrolled
    challenge = _login(client, user).json_body["data"]["challenge"]
    wrong = "000000" if clock.code(secret) != "000000" else "111111"

    answers = [_post(client, "/login/otp", {"challenge": challenge, "code": wrong}).status_code for _ in range(5)]
    good = _post(client, "/login/otp", {"challenge": challenge, "code": clock.code(secret)})

    assert answers == [401] * 5
    assert good.json_body["message"] == "Invalid or expired two-factor challenge"


def test_codes_are_rate_limited_per_account_across_challenges_and_ips(client, enrolled, clock, rate_limits):
    rate_limits(LOGIN_ACCOUNT="100/5minutes")  # the password step's own limit, out of the way
    user, _, secret, _ = enrolled
    wrong = "000000" if clock.code(secret) != "000000" else "111111"

    answers = []
    for attempt in range(11):
        challenge = _login(client, user).json_body["data"]["challenge"]
        ip = {"X-Forwarded-For": f"10.0.0.{attempt}"}  # not trusted, but a fresh client would not help either
        last = _post(client, "/login/otp", {"challenge": challenge, "code": wrong}, ip)
        answers.append(last.status_code)

    assert answers == [401] * 10 + [429]
    assert last.json_body["errors"] == ["two_factor: 10 per 5 minutes per account"]


def test_a_recovery_code_signs_in_once(client, enrolled):
    user, _, _, codes = enrolled

    first = _post(client, "/login/otp", {"challenge": _login(client, user).json_body["data"]["challenge"],
                                         "code": codes[0].upper().replace("-", " ")})
    again = _post(client, "/login/otp", {"challenge": _login(client, user).json_body["data"]["challenge"],
                                         "code": codes[0]})

    assert first.status_code == 200
    assert again.status_code == 401


def test_disabling_needs_the_password_and_a_code(client, enrolled, clock):
    user, headers, secret, _ = enrolled

    no_password = _post(client, "/2fa/disable", {"password": "Wrong1234", "code": clock.code(secret)}, headers)
    no_code = _post(client, "/2fa/disable", {"password": user["password"], "code": "12345"}, headers)
    missing = _post(client, "/2fa/disable", {"password": user["password"]}, headers)

    assert no_password.status_code == 400 and no_password.json_body["message"] == "Invalid password"
    assert no_code.status_code == 400 and no_code.json_body["message"] == "Invalid two-factor code"
    assert missing.status_code == 422 and "code is required" in missing.json_body["errors"]
    assert _login(client, user).json_body["data"]["otpRequired"] is True


def test_disabling_turns_the_second_step_off(client, enrolled, clock):
    user, headers, secret, _ = enrolled

    response = _post(client, "/2fa/disable", {"password": user["password"], "code": clock.code(secret)}, headers)

    assert response.status_code == 200
    assert response.json_body["message"] == "Two-factor sign-in disabled"
    assert "accessToken" in _login(client, user).json_body["data"]
    assert client.get(f"{BASE}/current-user-details", headers=headers).json_body["data"]["twoFactorEnabled"] is False
    assert db.fetch_value("SELECT count(*) FROM two_factor_recovery_codes") == 0


def test_disabling_when_not_enrolled_and_confirming_twice_are_refused(client, make_user, auth, enrolled, clock):
    other = make_user()
    _, headers, secret, _ = enrolled

    not_on = _post(client, "/2fa/disable", {"password": other["password"], "code": "123456"}, auth(other))
    twice = _post(client, "/2fa/confirm", {"code": clock.code(secret)}, headers)
    unstarted = _post(client, "/2fa/confirm", {"code": "123456"}, auth(other))

    assert not_on.status_code == 409 and not_on.json_body["message"] == "Two-factor sign-in is not enabled"
    assert twice.status_code == 409
    assert unstarted.status_code == 409


def test_the_routes_need_a_session(client):
    for path in ("/2fa/enroll", "/2fa/confirm", "/2fa/disable"):
        assert _post(client, path, {}).status_code == 401


def test_the_secret_does_not_decrypt_under_another_key(client, enrolled, monkeypatch):
    user, _, _, _ = enrolled
    monkeypatch.setenv("TWO_FACTOR_KEY", "another-key-entirely-0123456789abcdef")
    reset_settings()
    challenge = _login(client, user).json_body["data"]["challenge"]

    response = _post(client, "/login/otp", {"challenge": challenge, "code": "123456"})

    assert response.status_code == 500  # an operator's mistake, logged; never a sign-in


def test_of_concurrent_sign_ins_with_one_code_exactly_one_gets_in(client, enrolled, clock):
    import threading

    from shared import errors
    from shared.services import accounts

    user, _, secret, _ = enrolled
    code = clock.code(secret)
    challenges = [_login(client, user).json_body["data"]["challenge"] for _ in range(6)]
    barrier, results = threading.Barrier(len(challenges)), []

    def answer(challenge):
        barrier.wait()
        try:
            accounts.login_with_code(challenge=challenge, code=code, user_agent="pytest", ip="127.0.0.1")
            results.append("in")
        except errors.NotAuthenticated:
            results.append("refused")

    threads = [threading.Thread(target=answer, args=(c,)) for c in challenges]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == ["in"] + ["refused"] * 5
