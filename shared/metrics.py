"""Prometheus metrics: requests and latency per route template, the job queue's depth (read at scrape), and
how the cache and the rate limiter stand with Redis (counted here as it happens; their state is reported by
collectors shared.cache and shared.ratelimit register on REGISTRY)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from shared import errors
from shared.sql import jobs as jobs_sql

log = logging.getLogger(__name__)
REGISTRY = CollectorRegistry()
REQUESTS = Counter("viztube_http_requests", "HTTP requests served", ["method", "route", "status"], registry=REGISTRY)
LATENCY = Histogram("viztube_http_request_duration_seconds", "Time to answer an HTTP request", ["method", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=REGISTRY)


class _JobQueue(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
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

CACHE_ERRORS = Counter("viztube_cache_errors", "Cache calls to Redis that failed or timed out", registry=REGISTRY)
CACHE_BYPASSED = Counter("viztube_cache_bypassed",
                         "Cache reads sent to the database because Redis was down or not yet known fresh",
                         registry=REGISTRY)
CACHE_INVALIDATIONS_LOST = Counter("viztube_cache_invalidations_lost",
                                   "Invalidations that could not reach Redis (each raised the cache epoch)",
                                   registry=REGISTRY)
RATELIMIT_ERRORS = Counter("viztube_ratelimit_errors", "Rate-limit calls to Redis that failed or timed out",
                           registry=REGISTRY)




_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe(method: str, route: str, status: int, seconds: float) -> None:
    """`route` is the route template (/api/v2/videos/{video_id}), so label values stay few; their metric children
    are looked up once (prometheus_client's `labels()` was a tenth of a JSON 404's CPU)."""
    key = (method, route, status)
    found = _children.get(key)
    if found is None:
        found = _children[key] = (REQUESTS.labels(method, route, str(status)), LATENCY.labels(method, route))
    found[0].inc()
    found[1].observe(seconds)


def render() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
