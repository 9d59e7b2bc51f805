"""Observability (issue #6 item 5): request ids, JSON logs, Prometheus metrics."""

import json
import logging

from shared import jobs
from shared.logs import JsonFormatter


def test_metrics_count_requests_per_route_template_and_show_the_job_queue(client, make_user, auth):
    headers = auth(make_user())
    client.get("/api/v2/videos/0190a000-0000-7000-8000-000000000000", headers=headers)
    client.get("/api/v2/healthcheck")
    jobs.enqueue("delete_media", {"public_id": "x", "resource_type": "image", "storage": "local"})

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    text = response.body.decode()
    assert 'viztube_http_requests_total{method="GET",route="/api/v2/videos/{video_id}",status="404"}' in text
    assert 'viztube_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/api/v2/healthcheck"}' in text
    assert 'viztube_jobs{status="pending"} 1.0' in text


def test_metrics_can_require_a_token(client, monkeypatch):
    from shared.settings import reset_settings

    monkeypatch.setenv("METRICS_TOKEN", "scrape-secret")
    reset_settings()

    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"}).status_code == 200


def test_log_lines_are_json_with_the_request_id(client, caplog):
    caplog.set_level(logging.INFO, logger="viztube.http")

    response = client.get("/api/v2/healthcheck", headers={"X-Request-Id": "trace-1234-abcd"})

    record = next(r for r in caplog.records if r.name == "viztube.http")
    line = json.loads(JsonFormatter().format(record))
    assert response.headers["X-Request-Id"] == "trace-1234-abcd"
    assert line["requestId"] == "trace-1234-abcd"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/api/v2/healthcheck", 200)
    assert {"time", "level", "logger", "message", "durationMs"} <= set(line)
