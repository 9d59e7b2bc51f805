"""Healthcheck, the envelope, and the error paths every route shares (unknown route, wrong method, bad bodies)."""

import json


def test_healthcheck_keeps_the_original_shape_and_reports_the_database(client):
    response = client.get("/api/v2/healthcheck")

    assert response.status_code == 200
    body = response.json_body
    assert {k: body[k] for k in ("statusCode", "data", "message", "success")} == {
        "statusCode": 200, "data": "Health check passed!", "message": "Success", "success": True}
    assert body["checks"] == {"database": "ok"}


def test_healthcheck_tolerates_a_trailing_slash(client):
    assert client.get("/api/v2/healthcheck/").status_code == 200


def test_unknown_route_is_a_json_404_in_the_envelope(client):
    response = client.get("/api/v2/no/such/thing")

    assert response.status_code == 404
    assert response.json_body == {"statusCode": 404, "data": None, "success": False, "errors": [],
                                  "message": "Route not found: GET /api/v2/no/such/thing"}


def test_unknown_route_with_any_method_or_content_type_is_404(client):
    response = client.post("/api/v2/nothing", body=b"x", headers={"Content-Type": "text/plain"})

    assert response.status_code == 404


def test_wrong_method_on_a_known_path_is_405_in_the_envelope(client):
    response = client.delete("/api/v2/user/login")

    assert response.status_code == 405
    assert response.json_body["message"] == "Method not allowed"
    assert response.json_body["success"] is False


def test_every_response_carries_a_request_id(client):
    response = client.get("/api/v2/healthcheck", headers={"X-Request-Id": "abc12345-trace"})

    assert response.headers["X-Request-Id"] == "abc12345-trace"
    assert len(client.get("/api/v2/nope").headers["X-Request-Id"]) == 32


def test_malformed_json_is_400_not_500(client):
    response = client.post("/api/v2/user/login", body=b'{"email": ', headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.json_body["message"] == "Malformed JSON body"


def test_a_json_array_body_is_400(client):
    response = client.post("/api/v2/user/login", body=b"[1, 2]", headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.json_body["message"] == "Request body must be a JSON object"


def test_an_unsupported_content_type_is_415(client):
    response = client.post("/api/v2/user/login", body=b"hello", headers={"Content-Type": "text/plain"})

    assert response.status_code == 415
    assert response.json_body["success"] is False


def test_a_body_over_one_megabyte_on_a_json_route_is_413(client):
    big = json.dumps({"email": "a" * (1024 * 1024 + 10), "password": "x"}).encode()

    response = client.post("/api/v2/user/login", body=big, headers={"Content-Type": "application/json"})

    assert response.status_code == 413


def test_cors_allows_only_listed_origins(client):
    allowed = client.get("/api/v2/healthcheck", headers={"Origin": "https://app.example.com"})
    other = client.get("/api/v2/healthcheck", headers={"Origin": "https://evil.example"})

    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert allowed.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Access-Control-Allow-Origin" not in other.headers


def test_an_internal_error_is_a_generic_500_with_the_request_id_logged(client, monkeypatch, caplog):
    from shared.sql import users as users_sql

    def explode(**_kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(users_sql, "find_for_login", explode)
    response = client.post("/api/v2/user/login", body=json.dumps({"email": "a@b.co", "password": "x"}),
                           headers={"Content-Type": "application/json", "X-Request-Id": "req-0000-boom"})

    assert response.status_code == 500
    assert response.json_body["message"] == "Internal server error"
    assert "secret internals" not in response.body.decode()
    assert any("secret internals" in (r.exc_text or "") or "secret internals" in str(r.exc_info)
               for r in caplog.records)
