"""Rate limits with the `limits` library: in-process by default, Redis (shared by every process) with REDIS_URL.

When that Redis is unreachable (issue #10, point 5), limits are still enforced, per process: each process
counts in its own memory (logged once per outage, `viztube_ratelimit_fallback` is 1 in /metrics) and goes back
to the shared counts when Redis answers again (probed every few seconds; shared.breaker). Every Redis call
has a short timeout, so a hung Redis costs one request one timeout, not every request seconds.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterator

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from shared import errors, metrics
from shared.breaker import Breaker, redis_client_options
from shared.settings import get_settings

log = logging.getLogger(__name__)
FALLBACK = "rate limits are counted per process"
_shared: MovingWindowRateLimiter | None = None  # in Redis, with REDIS_URL
_local: MovingWindowRateLimiter | None = None  # in this process: without REDIS_URL, or while Redis is down
_breaker = Breaker("rate limits", FALLBACK)
_lock = threading.Lock()


def _limiters() -> tuple[MovingWindowRateLimiter | None, MovingWindowRateLimiter]:
    global _shared, _local
    if _local is None:
        with _lock:
            if _local is None:
                url = get_settings().redis_url
                if url:
                    _shared = MovingWindowRateLimiter(
                        storage_from_string(url, key_prefix="viztube-rl", **redis_client_options()))
                _local = MovingWindowRateLimiter(MemoryStorage())
    return _shared, _local


def reset() -> None:
    global _shared, _local, _breaker
    with _lock:
        _shared, _local = None, None
        _breaker = Breaker("rate limits", FALLBACK)


def falling_back() -> bool:
    """True while limits meant to be shared are counted per process because Redis is down."""
    return _breaker.down


def _check(limiter: MovingWindowRateLimiter, item: RateLimitItem, identifiers: list[str]) -> tuple[float, int] | None:
    """None when allowed; else (when the window resets, the requests remaining)."""
    if limiter.hit(item, *identifiers):
        return None
    return limiter.get_window_stats(item, *identifiers)


def enabled() -> bool:
    """Whether limits apply at all (RATE_LIMITS=off turns them off): callers skip working out their keys."""
    return get_settings().rate_limits_enabled


def hit(name: str, *keys: object) -> None:
    """Count one request against limit `name` for these keys; 429 with Retry-After and RateLimit-* when over."""
    settings = get_settings()
    if not settings.rate_limits_enabled:
        return
    item = parse(settings.rate_limits[name])
    identifiers = [name, *(str(k) for k in keys)]
    shared, local = _limiters()
    over: tuple[float, int] | None = None
    counted = False
    if shared is not None and _breaker.allow():
        try:
            over = _check(shared, item, identifiers)
            counted = True
            _breaker.succeeded()
        except Exception as exc:
            metrics.RATELIMIT_ERRORS.inc()
            _breaker.failed(exc)
    if not counted:
        over = _check(local, item, identifiers)  # no Redis, or Redis down: this process's own counts
    if over is None:
        return
    reset_at, remaining = over
    retry_after = max(1, math.ceil(reset_at - time.time()))
    raise errors.TooManyRequests("Too many requests, please try again later", headers={
        "Retry-After": str(retry_after),
        "RateLimit-Limit": str(item.amount),
        "RateLimit-Remaining": str(max(0, remaining)),
        "RateLimit-Reset": str(retry_after),
    })


class _Fallback(Collector):
    """/metrics: 1 while this process counts limits in its own memory because their Redis is unreachable."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily("viztube_ratelimit_fallback", "1 while rate limits are counted per process because"
                                " their Redis is unreachable", value=1 if falling_back() else 0)


metrics.REGISTRY.register(_Fallback())
