"""Webhooks for API clients (issue #15, points 5, 8 and 9): endpoints registered, listed and deleted; events delivered
by jobs to a real HTTP receiver (http.server in a thread) that checks the Stripe-style signature; retries with
backoff, every attempt recorded; re-sending; another user's endpoint or delivery is a 404; in `prod`, URLs that are
not https or that lead to private, loopback, link-local, multicast or reserved addresses are refused, at
registration and again at delivery (DNS rebinding)."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from collections.abc import Callable
from typing import Any

import pytest

from shared import db, jobs
from shared.services import webhook_delivery, webhook_events, webhook_urls
from shared.settings import get_settings, reset_settings
from tests.fakes.webhook_receiver import Receiver

JSON = {"Content-Type": "application/json"}
DELIVER = webhook_delivery.JOB_KIND


@pytest.fixture
def register(client: Any) -> Callable[..., Any]:
    def create(headers: dict[str, str], url: str, events: Any, expect: int = 201) -> dict[str, Any]:
        response = client.post("/api/v2/webhooks/endpoints", headers={**headers, **JSON},
                               body=json.dumps({"url": url, "events": events}))
        assert response.status_code == expect, response.json_body
        return response.json_body

    return create


def _due_now() -> None:
    """Make queued retries runnable at once (the backoff itself is asserted from the recorded times)."""
    db.execute("UPDATE jobs SET run_after = now() WHERE kind = :k AND status = 'pending'", k=DELIVER)


def _deliveries(client: Any, headers: dict[str, str], endpoint_id: str, query: str = "") -> dict[str, Any]:
    response = client.get(f"/api/v2/webhooks/endpoints/{endpoint_id}/deliveries{query}", headers=headers)
    assert response.status_code == 200, response.json_body
    return response.json_body["data"]


@pytest.fixture
def prod(monkeypatch: pytest.MonkeyPatch) -> None:
    """The prod stage, with the secrets the tokens already handed out were signed with."""
    settings = get_settings()
    monkeypatch.setenv("VIZTUBE_STAGE", "prod")
    for name in ("ACCESS_TOKEN_SECRET", "REFRESH_TOKEN_SECRET", "MEDIA_URL_SECRET"):
        monkeypatch.setenv(name, getattr(settings, name.lower()))
    reset_settings()
    assert get_settings().stage == "prod"


def test_an_endpoint_is_created_with_its_secret_once_listed_without_it_and_deleted(client, make_user, auth,
                                                                                  register):
    headers = auth(make_user())

    created = register(headers, "https://hooks.example.com/v", ["video.processed", "comment.created",
                                                                 "video.processed"])

    endpoint = created["data"]
    assert created["statusCode"] == 201 and created["success"] is True
    assert set(endpoint) >= {"id", "url", "events", "secret"}
    assert endpoint["url"] == "https://hooks.example.com/v"
    assert endpoint["events"] == ["video.processed", "comment.created"]  # each once
    assert endpoint["secret"].startswith("whsec_") and len(endpoint["secret"]) >= 40
    listed = client.get("/api/v2/webhooks/endpoints", headers=headers).json_body["data"]
    assert [e["id"] for e in listed] == [endpoint["id"]]
    assert "secret" not in listed[0] and endpoint["secret"] not in json.dumps(listed)
    assert listed[0]["lastStatus"] is None

    assert client.delete(f"/api/v2/webhooks/endpoints/{endpoint['id']}", headers=headers).status_code == 200
    assert client.get("/api/v2/webhooks/endpoints", headers=headers).json_body["data"] == []
    assert client.delete(f"/api/v2/webhooks/endpoints/{endpoint['id']}", headers=headers).status_code == 404


BAD_BODIES = [
    ({"events": ["video.processed"]}, 422, "url is required"),
    ({"url": "https://h.example.com"}, 422, "events is required"),
    ({"url": "https://h.example.com", "events": []}, 422, "events is required"),
    ({"url": "https://h.example.com", "events": ["video.deleted"]}, 422, "unknown event 'video.deleted'"),
    ({"url": "https://h.example.com", "events": [7]}, 422, "events.0"),
    ({"url": "https://h.example.com", "events": "video.processed"}, 201, None),  # a form's comma-separated text too
    ({"url": "ftp://h.example.com/x", "events": ["video.failed"]}, 400, "https"),
    ({"url": "https://u:p@h.example.com/x", "events": ["video.failed"]}, 400, "user name or password"),
    ({"url": "https://h.example.com/" + "x" * 2048, "events": ["video.failed"]}, 422, "at most 2048"),
    ({"url": "https://h.example.com:99999/", "events": ["video.failed"]}, 400, "not a valid URL"),
    ({"url": 5, "events": ["video.failed"]}, 422, "url must be a string"),
]


def test_bad_bodies_are_refused_naming_the_problem(client, make_user, auth):
    headers = auth(make_user())

    for body, status, named in BAD_BODIES:
        response = client.post("/api/v2/webhooks/endpoints", headers={**headers, **JSON}, body=json.dumps(body))

        assert response.status_code == status, (body, response.json_body)
        if named:
            said = response.json_body["message"] + " ".join(response.json_body["errors"])
            assert named in said, (body, response.json_body)


def test_a_form_registers_comma_separated_events_and_a_user_has_at_most_ten_endpoints(client, make_user, auth):
    headers = auth(make_user())
    form = {**headers, "Content-Type": "application/x-www-form-urlencoded"}

    first = client.post("/api/v2/webhooks/endpoints", headers=form,
                        body="url=https%3A%2F%2Fh.example.com%2F1&events=video.processed%2Csubscription.created")
    assert first.status_code == 201 and first.json_body["data"]["events"] == ["video.processed",
                                                                              "subscription.created"]
    for n in range(2, 11):
        assert client.post("/api/v2/webhooks/endpoints", headers={**headers, **JSON}, body=json.dumps(
            {"url": f"https://h.example.com/{n}", "events": ["video.failed"]})).status_code == 201
    eleventh = client.post("/api/v2/webhooks/endpoints", headers={**headers, **JSON},
                           body=json.dumps({"url": "https://h.example.com/11", "events": ["video.failed"]}))
    assert eleventh.status_code == 409 and "10" in eleventh.json_body["message"]


def test_the_cap_holds_when_endpoints_are_created_at_the_same_time(make_user):
    """The tenth endpoint's transaction is still open when another creation comes: that one waits for it, then
    counts ten and is refused (without the per-user lock both would see nine and pass)."""
    from shared.sql import webhooks as webhooks_sql

    user = make_user()
    for n in range(9):
        webhooks_sql.create_endpoint(user_id=user["id"], url=f"https://h.example.com/{n}", events=["video.failed"],
                                     secret="s", max_per_user=10)
    inserted, release = threading.Event(), threading.Event()
    made: dict[str, Any] = {}

    def slow_tenth() -> None:
        with db.transaction():
            made["tenth"] = webhooks_sql.create_endpoint(user_id=user["id"], url="https://h.example.com/10",
                                                         events=["video.failed"], secret="s", max_per_user=10)
            inserted.set()
            release.wait(5)

    def eleventh() -> None:
        made["eleventh"] = webhooks_sql.create_endpoint(user_id=user["id"], url="https://h.example.com/11",
                                                        events=["video.failed"], secret="s", max_per_user=10)

    first = threading.Thread(target=slow_tenth)
    first.start()
    assert inserted.wait(5)
    second = threading.Thread(target=eleventh)
    second.start()
    second.join(0.5)
    release.set()
    first.join()
    second.join()

    assert made["tenth"] is not None and made["eleventh"] is None
    assert db.fetch_value("SELECT count(*) FROM webhook_endpoints WHERE user_id = :u", u=user["id"]) == 10


def test_a_comment_on_my_video_is_delivered_signed_by_a_job_after_the_request(client, make_user, make_video, auth,
                                                                              register, receiver):
    owner, fan = make_user(), make_user()
    video = make_video(owner, title="my clip")
    endpoint = register(auth(owner), receiver.url, ["comment.created"])["data"]
    other = Receiver()  # the owner's second endpoint listens to other events only
    register(auth(owner), other.url, ["video.processed", "subscription.created"])

    posted = client.post(f"/api/v2/comments/{video['id']}", headers={**auth(fan), **JSON},
                         body=json.dumps({"content": "great video"}))

    assert posted.status_code in (200, 201)
    assert receiver.requests == []  # the request did not wait for the delivery: a job sends it
    assert jobs.run_pending() >= 1
    [event] = receiver.verified(endpoint["secret"])
    assert set(event) == {"id", "type", "createdAt", "data"}
    assert event["type"] == "comment.created"
    assert dt.datetime.fromisoformat(event["createdAt"].replace("Z", "+00:00")) <= dt.datetime.now(dt.UTC)
    assert event["data"]["comment"]["content"] == "great video"
    assert event["data"]["comment"]["id"] == posted.json_body["data"]["id"]
    assert event["data"]["video"] == {"id": str(video["id"]), "title": "my clip"}
    assert event["data"]["author"]["username"] == fan["username"] and "email" not in event["data"]["author"]
    assert receiver.requests[0]["path"] == "/hook"
    assert other.requests == []
    other.server.shutdown()
    other.server.server_close()
    page = _deliveries(client, auth(owner), endpoint["id"])
    [delivery] = page["docs"]
    assert page["nextCursor"] is None
    assert delivery["status"] == "succeeded" and delivery["attempts"] == 1 and delivery["type"] == "comment.created"
    assert delivery["eventId"] == event["id"] and delivery["payload"] == event
    [attempt] = delivery["recentAttempts"]
    assert attempt["statusCode"] == 200 and attempt["error"] is None and attempt["durationMs"] >= 0
    assert attempt["responseBody"] == "ok"
    listed = {e["id"]: e for e in client.get("/api/v2/webhooks/endpoints", headers=auth(owner)).json_body["data"]}
    assert listed[endpoint["id"]]["lastStatus"] == "succeeded" and listed[endpoint["id"]]["lastStatusCode"] == 200
    assert [e["lastStatus"] for i, e in listed.items() if i != endpoint["id"]] == [None]


def test_nothing_is_delivered_when_the_cause_rolls_back(make_user, make_video, register, auth, receiver):
    owner = make_user()
    register(auth(owner), receiver.url, ["subscription.created"])

    with pytest.raises(RuntimeError), db.transaction():
        webhook_events.subscription_created(owner["id"], make_user())
        raise RuntimeError("the subscription failed after the event was emitted")

    assert db.fetch_value("SELECT count(*) FROM webhook_deliveries") == 0
    assert db.fetch_value("SELECT count(*) FROM jobs WHERE kind = :k", k=DELIVER) == 0


def test_failed_attempts_are_retried_with_growing_backoff_and_each_is_recorded(client, make_user, auth, register,
                                                                               receiver):
    owner, fan = make_user(), make_user()
    endpoint = register(auth(owner), receiver.url, ["subscription.created"])["data"]
    receiver.answers = [500, 503]
    receiver.answer_body = b"x" * 5000  # more than is kept

    assert client.post(f"/api/v2/subscriptions/c/{owner['id']}", headers=auth(fan)).json_body["data"] == {
        "subscribed": True}
    delays = []
    for _ in range(3):
        jobs.run_pending()
        row = db.fetch_one("SELECT status, next_attempt_at - updated_at AS wait FROM webhook_deliveries")
        if row["status"] == "pending":
            delays.append(row["wait"].total_seconds())
        _due_now()

    events = receiver.verified(endpoint["secret"])
    assert len(events) == 3 and len({e["id"] for e in events}) == 1  # the same event, signed anew each time
    assert events[0]["type"] == "subscription.created"
    assert events[0]["data"]["subscriber"]["username"] == fan["username"]
    assert 30 <= delays[0] <= 33 and 120 <= delays[1] <= 132  # 30 s, then four times longer
    [delivery] = _deliveries(client, auth(owner), endpoint["id"])["docs"]
    assert delivery["status"] == "succeeded" and delivery["attempts"] == 3 and delivery["nextAttemptAt"] is None
    assert [a["statusCode"] for a in delivery["recentAttempts"]] == [200, 503, 500]  # newest first
    assert "HTTP 500" in delivery["recentAttempts"][2]["error"]
    assert all(len(a["responseBody"]) == webhook_delivery.RESPONSE_CAP for a in delivery["recentAttempts"])
    # unsubscribing announces nothing
    client.post(f"/api/v2/subscriptions/c/{owner['id']}", headers=auth(fan))
    assert db.fetch_value("SELECT count(*) FROM webhook_deliveries") == 1


def test_a_delivery_gives_up_after_its_attempts_and_can_be_resent(client, make_user, auth, register, receiver):
    owner = make_user()
    endpoint = register(auth(owner), receiver.url, ["subscription.created"])["data"]
    receiver.answers = [500] * webhook_delivery.MAX_ATTEMPTS
    client.post(f"/api/v2/subscriptions/c/{owner['id']}", headers=auth(make_user()))

    for _ in range(webhook_delivery.MAX_ATTEMPTS + 1):
        jobs.run_pending()
        _due_now()

    assert len(receiver.requests) == webhook_delivery.MAX_ATTEMPTS
    [delivery] = _deliveries(client, auth(owner), endpoint["id"])["docs"]
    assert delivery["status"] == "failed" and delivery["attempts"] == webhook_delivery.MAX_ATTEMPTS
    assert db.fetch_value("SELECT count(*) FROM jobs WHERE kind = :k AND status = 'pending'", k=DELIVER) == 0
    assert client.get("/api/v2/webhooks/endpoints", headers=auth(owner)).json_body["data"][0]["lastStatus"] == "failed"

    resent = client.post(f"/api/v2/webhooks/deliveries/{delivery['id']}/resend", headers=auth(owner))

    assert resent.status_code == 202 and resent.json_body["data"]["status"] == "pending"
    jobs.run_pending()
    events = receiver.verified(endpoint["secret"])
    assert len(events) == webhook_delivery.MAX_ATTEMPTS + 1 and events[-1] == events[0]
    [delivery] = _deliveries(client, auth(owner), endpoint["id"])["docs"]
    assert delivery["status"] == "succeeded" and delivery["attempts"] == webhook_delivery.MAX_ATTEMPTS + 1


def test_a_resend_retires_the_retry_already_queued(client, make_user, auth, register, receiver):
    owner = make_user()
    register(auth(owner), receiver.url, ["subscription.created"])
    receiver.answers = [500]
    client.post(f"/api/v2/subscriptions/c/{owner['id']}", headers=auth(make_user()))
    jobs.run_pending()  # fails; a retry is queued for later
    delivery_id = db.fetch_value("SELECT id FROM webhook_deliveries")

    for _ in range(2):  # twice in a row: still one send
        assert client.post(f"/api/v2/webhooks/deliveries/{delivery_id}/resend", headers=auth(owner)).status_code == 202
    _due_now()
    jobs.run_pending()

    assert len(receiver.requests) == 2  # the first attempt and one resend, not the queued retry as well


def test_another_users_endpoints_and_deliveries_are_not_found(client, make_user, auth, register, receiver):
    owner, stranger = make_user(), make_user()
    endpoint = register(auth(owner), receiver.url, ["subscription.created"])["data"]
    client.post(f"/api/v2/subscriptions/c/{owner['id']}", headers=auth(stranger))
    jobs.run_pending()
    delivery_id = db.fetch_value("SELECT id FROM webhook_deliveries")
    theirs = auth(stranger)

    assert client.get("/api/v2/webhooks/endpoints", headers=theirs).json_body["data"] == []
    assert client.get(f"/api/v2/webhooks/endpoints/{endpoint['id']}/deliveries", headers=theirs).status_code == 404
    assert client.post(f"/api/v2/webhooks/deliveries/{delivery_id}/resend", headers=theirs).status_code == 404
    assert client.delete(f"/api/v2/webhooks/endpoints/{endpoint['id']}", headers=theirs).status_code == 404
    assert client.get("/api/v2/webhooks/endpoints/nope/deliveries", headers=theirs).status_code == 400
    assert client.post("/api/v2/webhooks/deliveries/nope/resend", headers=theirs).status_code == 400
    assert client.get(f"/api/v2/webhooks/endpoints/{endpoint['id']}/deliveries?cursor=zz",
                      headers=auth(owner)).status_code == 400
    assert client.get("/api/v2/webhooks/endpoints").status_code == 401
    assert len(receiver.requests) == 1  # the stranger's resend sent nothing
    # deleting the endpoint takes its deliveries; a retry still queued then sends nothing
    receiver.answers = [500]
    client.post(f"/api/v2/webhooks/deliveries/{delivery_id}/resend", headers=auth(owner))
    jobs.run_pending()
    assert client.delete(f"/api/v2/webhooks/endpoints/{endpoint['id']}", headers=auth(owner)).status_code == 200
    _due_now()
    jobs.run_pending()
    assert len(receiver.requests) == 2 and db.fetch_value("SELECT count(*) FROM webhook_deliveries") == 0


def test_deliveries_are_paged_newest_first_by_cursor(client, make_user, auth, register, receiver):
    owner = make_user()
    endpoint = register(auth(owner), receiver.url, ["subscription.created"])["data"]
    fans = [make_user() for _ in range(5)]
    for fan in fans:
        client.post(f"/api/v2/subscriptions/c/{owner['id']}", headers=auth(fan))

    first = _deliveries(client, auth(owner), endpoint["id"], "?limit=2")
    second = _deliveries(client, auth(owner), endpoint["id"], f"?limit=2&cursor={first['nextCursor']}")
    third = _deliveries(client, auth(owner), endpoint["id"], f"?limit=2&cursor={second['nextCursor']}")

    seen = [d["payload"]["data"]["subscriber"]["username"] for d in first["docs"] + second["docs"] + third["docs"]]
    assert seen == [f["username"] for f in reversed(fans)]
    assert third["nextCursor"] is None and all(d["status"] == "pending" for d in first["docs"])


def test_processing_finished_and_failed_are_delivered_to_the_owner(client, make_user, make_video, auth, register,
                                                                   receiver):
    from shared.services import job_handlers

    owner = make_user()
    endpoint = register(auth(owner), receiver.url, ["video.processed", "video.failed"])["data"]
    done, broken = make_video(owner, title="done"), make_video(owner, title="broken")

    assert job_handlers.stream_ready(video_public_id=done["video_file_public_id"], ok=True)
    job_handlers._processing_failed({"video_id": str(broken["id"])}, "ffmpeg could not read the file")
    jobs.run_pending()

    events = {e["type"]: e["data"] for e in receiver.verified(endpoint["secret"])}
    assert events["video.processed"]["video"]["id"] == str(done["id"])
    assert events["video.processed"]["video"]["processingStatus"] == "COMPLETED"
    assert events["video.failed"]["video"]["title"] == "broken"
    assert events["video.failed"]["reason"] == "ffmpeg could not read the file"


def test_a_receiver_that_does_not_answer_in_time_or_redirects_is_a_failed_attempt(make_user, register, auth,
                                                                                   receiver, monkeypatch):
    owner = make_user()
    register(auth(owner), receiver.url, ["subscription.created"])
    monkeypatch.setattr(webhook_delivery, "TIMEOUT_SECONDS", 0.3)
    receiver.delay = 1.0
    webhook_events.subscription_created(owner["id"], make_user())

    jobs.run_pending()

    attempt = db.fetch_one("SELECT status_code, error, duration_ms FROM webhook_attempts")
    assert attempt["status_code"] is None and "timed out" in attempt["error"].lower()
    assert attempt["duration_ms"] < 1000
    receiver.delay = 0
    receiver.answers = [302]
    _due_now()
    jobs.run_pending()
    assert [r["path"] for r in receiver.requests] == ["/hook", "/hook"]  # the Location was not followed
    assert db.fetch_value("SELECT status FROM webhook_deliveries") == "pending"
    assert db.fetch_value("SELECT error FROM webhook_attempts WHERE status_code = 302").startswith("HTTP 302")


REFUSED_IN_PROD = [
    ("http://hooks.example.com/x", "must use https"),
    ("https://127.0.0.1/x", "127.0.0.1"),
    ("https://localhost:8443/x", "not a public internet address"),
    ("https://10.1.2.3/x", "10.1.2.3"),
    ("https://192.168.0.10/x", "192.168.0.10"),
    ("https://169.254.169.254/latest/meta-data", "169.254.169.254"),
    ("https://[::1]/x", "::1"),
    ("https://[::ffff:127.0.0.1]/x", "::ffff:127.0.0.1"),
    ("https://[fd00::1]/x", "fd00::1"),
    ("https://224.0.0.1/x", "224.0.0.1"),
    ("https://240.0.0.1/x", "240.0.0.1"),
    ("https://0.0.0.0/x", "0.0.0.0"),
    ("https://100.64.0.1/x", "100.64.0.1"),
    ("https://[64:ff9b::a9fe:a9fe]/x", "64:ff9b::a9fe:a9fe"),  # NAT64 of 169.254.169.254
]


def test_prod_refuses_urls_that_are_not_https_or_not_public(client, make_user, auth, prod):
    headers = {**auth(make_user()), **JSON}

    for url, named in REFUSED_IN_PROD:
        response = client.post("/api/v2/webhooks/endpoints", headers=headers,
                               body=json.dumps({"url": url, "events": ["video.processed"]}))

        assert response.status_code == 400, (url, response.json_body)
        assert named in response.json_body["message"], (url, response.json_body)
    assert db.fetch_value("SELECT count(*) FROM webhook_endpoints") == 0


def test_prod_takes_a_public_https_url_and_outside_prod_loopback_is_allowed(client, make_user, auth, register,
                                                                            receiver, monkeypatch):
    user = make_user()
    assert register(auth(user), receiver.url, ["video.failed"])["data"]["url"].startswith("http://127.0.0.1:")

    settings = get_settings()
    monkeypatch.setenv("VIZTUBE_STAGE", "prod")
    for name in ("ACCESS_TOKEN_SECRET", "REFRESH_TOKEN_SECRET", "MEDIA_URL_SECRET"):
        monkeypatch.setenv(name, getattr(settings, name.lower()))
    reset_settings()

    assert register(auth(user), "https://93.184.215.14/hooks", ["video.failed"])["statusCode"] == 201
    register(auth(user), receiver.url, ["video.failed"], expect=400)


def test_prod_checks_the_address_again_at_delivery_and_connects_to_the_one_it_checked(make_user, auth, register,
                                                                                      receiver, prod, monkeypatch):
    """DNS rebinding: the name answered a public address at registration and answers loopback now."""
    answers = {"rebind.example": "93.184.215.14"}
    real = socket.getaddrinfo

    def fake_getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(webhook_urls.socket, "getaddrinfo", fake_getaddrinfo)
    owner = make_user()
    register(auth(owner), "https://rebind.example/hook", ["video.failed"])
    answers["rebind.example"] = "127.0.0.1"
    webhook_events.emit("video.failed", owner["id"], {"video": None})

    jobs.run_pending()

    attempt = db.fetch_one("SELECT status_code, error FROM webhook_attempts")
    assert attempt["status_code"] is None and attempt["error"].startswith("Refused:") and "127.0.0.1" in attempt["error"]
    assert db.fetch_value("SELECT status FROM webhook_deliveries") == "pending"  # retried later, re-checked then
    assert receiver.requests == []

    # And a name that checks out is connected to at the address checked, never resolved a second time.
    port = receiver.server.server_address[1]
    pinned = webhook_urls.Target("http", "unresolvable.invalid", port, "/hook?x=1", "127.0.0.1")
    monkeypatch.setattr(webhook_delivery, "resolve_target", lambda url: pinned)
    outcome = webhook_delivery.post("http://unresolvable.invalid/hook", "whsec_x", b"{}")
    assert outcome.succeeded, outcome
    assert receiver.requests[-1]["path"] == "/hook?x=1"
    assert receiver.requests[-1]["headers"]["Host"] == f"unresolvable.invalid:{port}"


def test_every_answer_is_the_shape_the_spec_documents(client, make_user, auth, register, receiver):
    import copy

    from jsonschema import Draft202012Validator

    owner = make_user()
    headers = auth(owner)
    spec = client.get("/api/v2/openapi.json").json_body
    components = copy.deepcopy(spec["components"])
    for name, shape in components["schemas"].items():
        if name not in ("Envelope", "Error") and "properties" in shape:
            shape["additionalProperties"] = False  # every key answered is documented
    endpoint = register(headers, receiver.url, ["subscription.created"])["data"]
    receiver.answers = [500]
    client.post(f"/api/v2/subscriptions/c/{owner['id']}", headers=auth(make_user()))
    jobs.run_pending()
    delivery_id = db.fetch_value("SELECT id FROM webhook_deliveries")
    body = json.dumps({"url": "https://h.example.com/x", "events": ["video.failed"]})
    calls = [
        ("post", "/api/v2/webhooks/endpoints", "/api/v2/webhooks/endpoints", body),
        ("get", "/api/v2/webhooks/endpoints", "/api/v2/webhooks/endpoints", None),
        ("get", "/api/v2/webhooks/endpoints/{endpoint_id}/deliveries",
         f"/api/v2/webhooks/endpoints/{endpoint['id']}/deliveries", None),
        ("post", "/api/v2/webhooks/deliveries/{delivery_id}/resend",
         f"/api/v2/webhooks/deliveries/{delivery_id}/resend", None),
        ("delete", "/api/v2/webhooks/endpoints/{endpoint_id}", f"/api/v2/webhooks/endpoints/{endpoint['id']}", None),
        ("delete", "/api/v2/webhooks/endpoints/{endpoint_id}", f"/api/v2/webhooks/endpoints/{endpoint['id']}", None),
    ]

    for method, documented, path, payload in calls:
        response = client.request(method.upper(), path, headers={**headers, **JSON}, body=payload or "")
        answer = spec["paths"][documented][method]["responses"][str(response.status_code)]
        schema = answer["content"]["application/json"]["schema"]
        problems = [e.message for e in Draft202012Validator({**schema, "components": components})
                    .iter_errors(response.json_body)]
        assert not problems, (method, path, problems)
    assert spec["components"]["schemas"]["EndpointIn"]["required"] == ["url", "events"]


def test_an_attempt_overtaken_by_a_resend_is_recorded_and_the_resend_decides(client, make_user, auth, register,
                                                                             receiver, monkeypatch):
    owner = make_user()
    register(auth(owner), receiver.url, ["subscription.created"])
    webhook_events.subscription_created(owner["id"], make_user())
    delivery_id = db.fetch_value("SELECT id FROM webhook_deliveries")
    receiver.answers = [500]
    send = webhook_delivery.post
    resent: list[int] = []

    def send_while_the_owner_resends(*args: Any, **kwargs: Any) -> webhook_delivery.Outcome:
        outcome = send(*args, **kwargs)
        if not resent:  # the owner presses "resend" while the first attempt is in flight
            resent.append(client.post(f"/api/v2/webhooks/deliveries/{delivery_id}/resend",
                                      headers=auth(owner)).status_code)
        return outcome

    monkeypatch.setattr(webhook_delivery, "post", send_while_the_owner_resends)
    jobs.run_pending()

    assert resent == [202] and len(receiver.requests) == 2
    row = db.fetch_one("SELECT status, attempts FROM webhook_deliveries")
    assert row == {"status": "succeeded", "attempts": 2}  # the resend's round decided; the first attempt counted
    assert [r["status_code"] for r in db.fetch_all("SELECT status_code FROM webhook_attempts ORDER BY id")] == [500,
                                                                                                              200]
    assert db.fetch_value("SELECT count(*) FROM jobs WHERE kind = :k AND status = 'pending'", k=DELIVER) == 0


def test_the_hot_statements_read_their_indexes_at_scale():
    """The statement every comment and subscription runs (finding the owner's endpoints), an endpoint's deliveries
    page and its attempts: index reads, never a scan of the tables, with 2,000 users' endpoints, 20k deliveries and
    20k attempts."""
    from infra.bench.explain_hot_queries import _scans

    db.execute("INSERT INTO users (username, email, fullname, password_hash)"
               " SELECT 'hook' || n, 'hook' || n || '@example.com', 'H', 'x' FROM generate_series(1, 2000) n")
    db.execute("INSERT INTO webhook_endpoints (user_id, url, events, secret)"
               " SELECT id, 'https://h.example.com/', ARRAY['comment.created', 'subscription.created'], 's' FROM users")
    db.execute("INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, body)"
               " SELECT e.id, gen_random_uuid(), 'comment.created', '{}' FROM webhook_endpoints e,"
               " generate_series(1, 10) n")
    db.execute("INSERT INTO webhook_attempts (delivery_id, status_code, duration_ms) SELECT id, 200, 5"
               " FROM webhook_deliveries")
    for table in ("users", "webhook_endpoints", "webhook_deliveries", "webhook_attempts"):
        db.execute(f"ANALYZE {table}")
    endpoint = db.fetch_one("SELECT id, user_id FROM webhook_endpoints ORDER BY id LIMIT 1 OFFSET 1000")
    newest = db.fetch_value("SELECT id FROM webhook_deliveries WHERE endpoint_id = :e ORDER BY id DESC LIMIT 1",
                            e=endpoint["id"])
    statements = [
        ("INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, body)"
         " SELECT id, :eid, :type, :body FROM webhook_endpoints WHERE user_id = :uid AND :type = ANY(events)",
         {"uid": endpoint["user_id"], "type": "comment.created", "eid": uuid_of(), "body": "{}"}),
        ("SELECT id FROM webhook_deliveries WHERE endpoint_id = :eid AND id < :before ORDER BY id DESC LIMIT 21",
         {"eid": endpoint["id"], "before": newest}),
        ("SELECT a.delivery_id FROM unnest(CAST(:ids AS uuid[])) AS d(id) CROSS JOIN LATERAL ("
         " SELECT * FROM webhook_attempts WHERE delivery_id = d.id ORDER BY id DESC LIMIT 10) a",
         {"ids": [str(newest)]}),
    ]

    for sql, params in statements:
        plan = db.fetch_value("EXPLAIN (FORMAT JSON) " + sql, **params)
        scans: list[tuple[str, str, str]] = []
        _scans((plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"], scans)
        assert scans and not [s for s in scans if s[1] == "Seq Scan" and s[0].startswith("webhook_")], (sql, scans)


def uuid_of() -> str:
    import uuid

    return str(uuid.uuid4())
