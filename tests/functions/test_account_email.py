"""Email (SMTP through jobs, .eml files without SMTP_URL), email verification and password reset (issue #16, points
1-3), against a real SMTP server in-process (aiosmtpd) whose mails the tests read."""

from __future__ import annotations

import json
import re
import socket
import ssl
import statistics
import subprocess
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from shared import db, jobs, ratelimit
from shared.services import account_mail
from shared.settings import reset_settings
from tests.conftest import TEST_HOME, register_form

JSON = {"Content-Type": "application/json"}
APP_URL = "https://app.example.com"
TOKEN_RE = re.compile(r"token=([A-Za-z0-9_\-.]+)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Inbox:
    """aiosmtpd's handler: keeps every mail it is given, with the session it came on (TLS, login)."""

    def __init__(self) -> None:
        self.mails: list[EmailMessage] = []
        self.sessions: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        message["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
        self.mails.append(message)
        self.sessions.append(session)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.mails if m["X-Envelope-To"] == address]


def _start(inbox: Inbox, **options: Any) -> tuple[Controller, int]:
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    return controller, port


@pytest.fixture
def inbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    """A real SMTP server on a free port, SMTP_URL pointing at it (plain SMTP), links opening APP_URL."""
    box = Inbox()
    controller, port = _start(box)
    monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{port}")
    monkeypatch.setenv("MAIL_FROM", "VizTube <no-reply@viztube.test>")
    monkeypatch.setenv("APP_URL", APP_URL)
    reset_settings()
    yield box
    controller.stop()


def _text(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def _html(mail: EmailMessage) -> str:
    part = mail.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def _token(mail: EmailMessage) -> str:
    found = TOKEN_RE.search(_text(mail))
    assert found, _text(mail)
    return found.group(1)


def _post(client: Any, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    return client.post(f"/api/v2/user/{path}", body=json.dumps(body), headers={**JSON, **(headers or {})})


def _me(client: Any, headers: dict[str, str]) -> Any:
    return client.get("/api/v2/user/current-user-details", headers=headers)


def _login(client: Any, username: str, password: str) -> Any:
    return _post(client, "login", {"username": username, "password": password})


# ------------------------------------------------------------------------------------ verification


def test_register_mails_a_verification_link_that_verifies_the_email_once(client, inbox):
    body, headers = register_form()
    registered = client.post("/api/v2/user/register", body=body, headers=headers)
    assert registered.status_code == 201 and registered.json_body["data"]["emailVerified"] is False
    assert inbox.mails == []  # sent by a job, never within the request

    jobs.run_pending()

    [mail] = inbox.mails
    assert (mail["To"], mail["From"], mail["Subject"]) == ("ada@example.com", "VizTube <no-reply@viztube.test>",
                                                           "Confirm your email address for VizTube")
    assert mail.get_content_type() == "multipart/alternative"
    link = f"{APP_URL}/verify-email?token={_token(mail)}"
    assert link in _text(mail) and f'href="{link}"' in _html(mail) and "Ada Lovelace" in _html(mail)
    session = {"Authorization": f"Bearer {_login(client, 'ada', 'Passw0rdX').json_body['data']['accessToken']}"}
    assert _me(client, session).json_body["data"]["emailVerified"] is False

    verified = _post(client, "verify-email", {"token": _token(mail)})
    again = _post(client, "verify-email", {"token": _token(mail)})

    assert verified.status_code == 200, verified.json_body
    assert verified.json_body["data"] == {"email": "ada@example.com", "emailVerified": True}
    assert _me(client, session).json_body["data"]["emailVerified"] is True  # the cached sign-in was retired
    assert again.status_code == 410 and "already used" in again.json_body["message"]


def _link_for(user: dict[str, Any], inbox: Inbox) -> str:
    account_mail.send_verification(user["id"])
    jobs.run_pending()
    return _token(inbox.to(user["email"])[-1])


def test_tampered_made_up_wrong_purpose_and_expired_verification_links_are_refused(client, make_user, inbox, auth):
    user = make_user()
    token = _link_for(user, inbox)
    raw, signature = token.split(".")
    tampered = ("A" if raw[0] != "A" else "B") + raw[1:] + "." + signature

    answers = {name: _post(client, "verify-email", {"token": value}) for name, value in {
        "tampered": tampered, "unsigned": raw, "made up": account_mail.new_token(account_mail.VERIFY),
        "reset token": account_mail.new_token(account_mail.RESET)}.items()}
    db.execute("UPDATE account_tokens SET expires_at = now() - interval '1 second'")
    expired = _post(client, "verify-email", {"token": token})
    blank = _post(client, "verify-email", {"token": " "})

    refusals = {name: (a.status_code, a.json_body["message"]) for name, a in answers.items()}
    assert refusals == dict.fromkeys(answers, (404, "Invalid verification link"))
    assert expired.status_code == 410 and "expired" in expired.json_body["message"]
    assert blank.status_code == 422 and blank.json_body["errors"] == ["Token is required"]
    assert _me(client, auth(user)).json_body["data"]["emailVerified"] is False


def test_a_verification_link_lasts_24_hours(client, make_user, inbox):
    user = make_user()
    _link_for(user, inbox)

    hours = db.fetch_value("SELECT extract(epoch FROM expires_at - created_at) / 3600 FROM account_tokens")

    assert round(float(hours)) == 24


def test_an_email_change_unverifies_the_account_and_only_the_new_address_can_verify_it(client, make_user, inbox,
                                                                                        auth):
    user = make_user(username="grace", email="grace@example.com")
    old_link = _link_for(user, inbox)
    first = _post(client, "verify-email", {"token": old_link})
    assert first.status_code == 200
    headers = auth(user)

    changed = client.patch("/api/v2/user/update-account", body=json.dumps({"email": "grace@new.example"}),
                           headers={**JSON, **headers})
    jobs.run_pending()

    assert changed.status_code == 200 and changed.json_body["data"]["emailVerified"] is False
    assert _me(client, headers).json_body["data"]["emailVerified"] is False
    [new_mail] = inbox.to("grace@new.example")
    assert len(inbox.to("grace@example.com")) == 1  # only the first link ever went to the old address
    assert _post(client, "verify-email", {"token": old_link}).status_code == 410
    verified = _post(client, "verify-email", {"token": _token(new_mail)})
    assert verified.json_body["data"] == {"email": "grace@new.example", "emailVerified": True}


def test_a_link_sent_before_an_email_change_cannot_verify_the_new_address(client, make_user, inbox, auth):
    user = make_user(username="alan", email="alan@example.com")
    old_link = _link_for(user, inbox)

    client.patch("/api/v2/user/update-account", body=json.dumps({"email": "alan@new.example"}),
                 headers={**JSON, **auth(user)})
    answer = _post(client, "verify-email", {"token": old_link})

    assert answer.status_code == 410 and "replaced" in answer.json_body["message"]
    assert _me(client, auth(user)).json_body["data"]["emailVerified"] is False


def test_an_unchanged_email_keeps_the_account_verified(client, make_user, inbox, auth):
    user = make_user(username="kay", email="kay@example.com")
    _post(client, "verify-email", {"token": _link_for(user, inbox)})

    changed = client.patch("/api/v2/user/update-account", body=json.dumps({"fullname": "Kay J"}),
                           headers={**JSON, **auth(user)})

    assert changed.json_body["data"]["emailVerified"] is True


def test_resend_needs_a_sign_in_sends_only_the_newest_working_link_and_is_rate_limited(client, make_user, auth,
                                                                                      inbox, rate_limits):
    rate_limits(VERIFY_EMAIL="2/hour")
    user = make_user()
    headers = auth(user)

    anonymous = _post(client, "verify-email/request", {})
    statuses = [_post(client, "verify-email/request", {}, headers).status_code for _ in range(3)]
    jobs.run_pending()
    first, second = inbox.to(user["email"])

    assert anonymous.status_code == 401
    assert statuses == [200, 200, 429]
    assert _post(client, "verify-email", {"token": _token(first)}).status_code == 410  # replaced by the newer one
    assert _post(client, "verify-email", {"token": _token(second)}).status_code == 200
    ratelimit.reset()
    verified_already = _post(client, "verify-email/request", {}, auth(user))
    assert verified_already.status_code == 409 and verified_already.json_body["message"] == "Email is already verified"


def test_require_verified_email_keeps_unverified_accounts_from_uploading_and_commenting(client, make_user, make_video,
                                                                                       auth, inbox, monkeypatch):
    monkeypatch.setenv("REQUIRE_VERIFIED_EMAIL", "on")
    reset_settings()
    owner, user = make_user(), make_user()
    video = make_video(owner)
    upload = json.dumps({"kind": "thumbnail", "contentType": "image/png", "size": 100})
    comment = json.dumps({"content": "first"})

    def attempts() -> tuple[int, int]:
        headers = {**auth(user), **JSON}
        return (client.post("/api/v2/uploads", headers=headers, body=upload).status_code,
                client.post(f"/api/v2/comments/{video['id']}", headers=headers, body=comment).status_code)

    unverified = attempts()
    refused = client.post(f"/api/v2/comments/{video['id']}", headers={**auth(user), **JSON}, body=comment)
    _post(client, "verify-email", {"token": _link_for(user, inbox)})
    verified = attempts()

    assert unverified == (403, 403)
    assert "Verify your email address first" in refused.json_body["message"]
    assert verified == (201, 201)


def test_unverified_accounts_may_upload_and_comment_where_verification_is_not_required(client, make_user, make_video,
                                                                                      auth, monkeypatch):
    monkeypatch.setenv("REQUIRE_VERIFIED_EMAIL", "off")
    reset_settings()
    user, video = make_user(), make_video(make_user())

    answer = client.post(f"/api/v2/comments/{video['id']}", headers={**auth(user), **JSON},
                         body=json.dumps({"content": "hi"}))

    assert answer.status_code == 201


# ------------------------------------------------------------------------------------ password reset


@pytest.mark.parametrize("by", ["email", "username"])
def test_a_reset_link_sets_the_password_once_signs_every_device_out_and_sends_a_notice(client, make_user, sign_in,
                                                                                      inbox, by):
    user = make_user(username="linus", email="linus@example.com")
    device_one, device_two = sign_in(user), sign_in(user)

    asked = _post(client, "forgot-password", {by: user[by].upper()})
    jobs.run_pending()
    [mail] = inbox.mails
    token = _token(mail)
    reset = _post(client, "reset-password", {"token": token, "newPassword": "Brand9New"})
    jobs.run_pending()

    assert asked.status_code == 200
    assert mail["To"] == "linus@example.com" and mail["Subject"] == "Reset your VizTube password"
    assert f"{APP_URL}/reset-password?token={token}" in _text(mail) and "linus" in _html(mail)
    assert reset.status_code == 200, reset.json_body
    for device in (device_one, device_two):
        assert _me(client, {"Authorization": device["Authorization"]}).status_code == 401
        refreshed = client.post("/api/v2/user/refresh-token", headers=JSON,
                                body=json.dumps({"refreshToken": device["X-Refresh-Token"]}))
        assert refreshed.status_code == 401
    assert _login(client, "linus", user["password"]).status_code == 401
    assert _login(client, "linus", "Brand9New").status_code == 200
    notice = inbox.mails[-1]
    assert notice["Subject"] == "Your VizTube password was reset" and notice["To"] == "linus@example.com"
    assert "token=" not in _text(notice)
    reused = _post(client, "reset-password", {"token": token, "newPassword": "Other9Pass"})
    assert reused.status_code == 410 and "already used" in reused.json_body["message"]
    assert _login(client, "linus", "Brand9New").status_code == 200


def test_a_reset_token_is_stored_only_as_its_hash_and_lasts_one_hour(client, make_user, inbox):
    user = make_user()
    _post(client, "forgot-password", {"email": user["email"]})
    jobs.run_pending()
    token = _token(inbox.mails[0])

    row = db.fetch_one("SELECT token_hash, extract(epoch FROM expires_at - created_at) AS ttl FROM account_tokens")
    payloads = json.dumps([r["payload"] for r in db.fetch_all("SELECT payload FROM jobs")])

    assert row is not None and round(float(row["ttl"])) == 3600
    assert bytes(row["token_hash"]) != token.encode() and len(bytes(row["token_hash"])) == 32
    assert token not in payloads and token.split(".")[0] not in payloads


def test_tampered_expired_and_replaced_reset_links_and_weak_passwords_are_refused(client, make_user, inbox):
    user = make_user()
    _post(client, "forgot-password", {"email": user["email"]})
    _post(client, "forgot-password", {"email": user["email"]})
    jobs.run_pending()
    older, newer = (_token(m) for m in inbox.mails)
    raw, signature = newer.split(".")

    tampered = _post(client, "reset-password", {"token": raw[:-1] + ("x" if raw[-1] != "x" else "y") + "." + signature,
                                                "newPassword": "Brand9New"})
    verify_token = _post(client, "reset-password", {"token": account_mail.new_token(account_mail.VERIFY),
                                                    "newPassword": "Brand9New"})
    replaced = _post(client, "reset-password", {"token": older, "newPassword": "Brand9New"})
    weak = _post(client, "reset-password", {"token": newer, "newPassword": "short"})
    missing = _post(client, "reset-password", {})
    db.execute("UPDATE account_tokens SET expires_at = now() - interval '1 second' WHERE used_at IS NULL")
    expired = _post(client, "reset-password", {"token": newer, "newPassword": "Brand9New"})

    assert (tampered.status_code, tampered.json_body["message"]) == (404, "Invalid password reset link")
    assert (verify_token.status_code, verify_token.json_body["message"]) == (404, "Invalid password reset link")
    assert replaced.status_code == 410 and "replaced" in replaced.json_body["message"]
    assert weak.status_code == 422 and "Password must be between 8 and 72 characters" in weak.json_body["errors"]
    assert missing.status_code == 422 and "Token is required" in missing.json_body["errors"]
    assert expired.status_code == 410 and "expired" in expired.json_body["message"]
    assert _login(client, user["username"], user["password"]).status_code == 200  # nothing changed


def test_forgot_password_needs_an_email_or_a_username(client):
    answer = _post(client, "forgot-password", {})

    assert answer.status_code == 422 and answer.json_body["errors"][0] == "Email or username is required"


def test_forgot_password_answers_an_unknown_account_exactly_as_a_known_one(client, make_user, inbox,
                                                                          sent_statements):
    user = make_user()

    def ask(body: dict[str, str]) -> tuple[int, Any, list[str]]:
        sent_statements.clear()
        answer = _post(client, "forgot-password", body)
        return answer.status_code, answer.json_body, list(sent_statements)

    known = {"email": ask({"email": user["email"]}), "username": ask({"username": user["username"]})}
    unknown = {"email": ask({"email": "nobody@example.com"}), "username": ask({"username": "nobody"})}
    jobs.run_pending()

    for by in ("email", "username"):
        assert known[by][:2] == unknown[by][:2]
        assert known[by][2] == unknown[by][2]  # the very same statements: the account is looked up by the job
    assert known["email"][1]["message"] == ("If an account matches, a link to reset its password has been sent to "
                                            "its email address")
    assert [m["To"] for m in inbox.mails] == [user["email"], user["email"]]  # nobody@ got nothing


def test_forgot_password_takes_about_as_long_for_unknown_accounts(client, make_user, monkeypatch):
    monkeypatch.setenv("SMTP_URL", "smtp://127.0.0.1:9")  # nothing is sent within the request either way
    reset_settings()
    user = make_user()

    def median(body: dict[str, str]) -> float:
        took = []
        for _ in range(25):
            start = time.perf_counter()
            assert _post(client, "forgot-password", body).status_code == 200
            took.append(time.perf_counter() - start)
        return statistics.median(took)

    median({"email": "warm@example.com"})
    known, unknown = median({"email": user["email"]}), median({"email": "nobody@example.com"})

    assert max(known, unknown) / min(known, unknown) < 2.5, (known, unknown)


def test_forgot_password_is_rate_limited_per_account_named(client, make_user, rate_limits):
    rate_limits(FORGOT_PASSWORD="2/hour")

    known = [_post(client, "forgot-password", {"email": make_user(email="x@example.com")["email"]}).status_code]
    known += [_post(client, "forgot-password", {"email": "X@example.com"}).status_code for _ in range(2)]
    unknown = [_post(client, "forgot-password", {"email": "ghost@example.com"}).status_code for _ in range(3)]

    assert known == unknown == [200, 200, 429]


# ------------------------------------------------------------------------------------ delivery


def test_a_failed_send_never_fails_the_request_and_is_retried_with_a_fresh_link(client, make_user, monkeypatch):
    monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{_free_port()}")  # nobody listens there
    monkeypatch.setenv("APP_URL", APP_URL)
    reset_settings()
    user = make_user()

    asked = _post(client, "forgot-password", {"email": user["email"]})
    jobs.run_pending()
    job = db.fetch_one("SELECT status, attempts, last_error FROM jobs WHERE kind = 'mail_password_reset'")
    tokens_after_failure = db.fetch_value("SELECT count(*) FROM account_tokens")
    box = Inbox()
    controller, port = _start(box)
    try:
        monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{port}")
        reset_settings()
        db.execute("UPDATE jobs SET run_after = now()")
        jobs.run_pending()
    finally:
        controller.stop()

    assert asked.status_code == 200
    assert job is not None and (job["status"], job["attempts"]) == ("pending", 1) and "not sent" in job["last_error"]
    assert tokens_after_failure == 0  # the undelivered link was discarded
    [mail] = box.mails
    assert db.fetch_value("SELECT status FROM jobs WHERE kind = 'mail_password_reset'") == "done"
    assert _post(client, "reset-password", {"token": _token(mail), "newPassword": "Brand9New"}).status_code == 200


def test_without_smtp_url_mails_are_eml_files_and_their_links_are_logged(client, make_user, monkeypatch, caplog):
    monkeypatch.delenv("SMTP_URL", raising=False)
    reset_settings()
    user = make_user()
    caplog.set_level("WARNING", logger="shared.mail")

    _post(client, "forgot-password", {"username": user["username"]})
    jobs.run_pending()

    [path] = sorted((TEST_HOME / "mail").glob("*.eml"))
    mail = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(mail, EmailMessage)
    assert mail["To"] == user["email"] and mail["From"] == "VizTube <no-reply@localhost>"
    token = _token(mail)
    assert any(str(path) in r.getMessage() and f"token={token}" in r.getMessage() for r in caplog.records)
    assert not list((TEST_HOME / "mail").glob("*.part"))


def _certificate(directory: Path) -> tuple[Path, Path]:
    key, cert = directory / "key.pem", directory / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return key, cert


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = getattr(auth_data, "login", None) == b"mailer" and getattr(auth_data, "password", None) == b"s3cr:et"
    return AuthResult(success=ok)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("mode", ["starttls", "smtps"])
def test_tls_and_a_login_come_from_smtp_url(client, make_user, monkeypatch, tmp_path, mode):
    key, cert = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    box = Inbox()
    options: dict[str, Any] = {"authenticator": _authenticator, "auth_required": True}
    if mode == "starttls":
        options.update(tls_context=context, require_starttls=True)
    else:
        options.update(ssl_context=context, auth_require_tls=False)  # TLS from the start: aiosmtpd cannot tell
    controller, port = _start(box, **options)
    scheme, query = ("smtp", "?starttls") if mode == "starttls" else ("smtps", "")
    monkeypatch.setenv("SMTP_URL", f"{scheme}://mailer:s3cr%3Aet@127.0.0.1:{port}{query}")
    monkeypatch.setenv("SMTP_CA_FILE", str(cert))
    reset_settings()
    try:
        user = make_user()
        _post(client, "forgot-password", {"email": user["email"]})
        jobs.run_pending()
    finally:
        controller.stop()

    [mail] = box.mails
    [session] = box.sessions
    assert mail["To"] == user["email"]
    assert session.authenticated
    # STARTTLS shows on the session; on an smtps port nothing but TLS is spoken, so the mail's arrival shows it.
    assert session.ssl is not None or mode == "smtps"
