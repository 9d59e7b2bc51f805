"""Prometheus metrics: requests and latency per route template, and the job queue's depth (read at scrape)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)
REGISTRY = CollectorRegistry()
REQUESTS = Counter("viztube_http_requests", "HTTP requests served", ["method", "route", "status"], registry=REGISTRY)
LATENCY = Histogram("viztube_http_request_duration_seconds", "Time to answer an HTTP request", ["method", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=REGISTRY)


class _JobQueue(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        from shared import errors
        from shared.sql import jobs as jobs_sql

        gauge = GaugeMetricFamily("viztube_jobs", "Background jobs not finished yet", labels=["status"])
        try:
            depth = jobs_sql.depth()
        except errors.AppError:
            log.warning("could not read the job queue for /metrics")
            return
        for status in ("pending", "running"):
            gauge.add_metric([status], depth.get(status, 0))
        yield gauge


REGISTRY.register(_JobQueue())


def observe(method: str, route: str, status: int, seconds: float) -> None:
    """`route` is the route template (/api/v2/videos/{video_id}), so label values stay few."""
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


def render() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
