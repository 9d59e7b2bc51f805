"""Rate limits with the `limits` library: in-process by default, Redis (shared by every process) with REDIS_URL.

A refused request is a 429 whose message names the limit and the setting that changes it ("register allows 5 per
hour per IP (set RATE_LIMIT_REGISTER to change it)"); the server logs it once per limit and key per window.

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
# What each limit counts per (the keys its callers pass), for the 429's message.
COUNTED_PER = {"login_account": "IP and account", "login_ip": "IP", "register": "IP", "refresh": "IP",
               "uploads": "user", "global": "IP", "verify_email": "user", "forgot_password": "account",
               "two_factor": "account", "delete_account": "user", "data_export": "user", "reports": "user"}
_logged: dict[tuple[str, ...], float] = {}  # (limit, keys...) -> until when its refusals are not logged again
_logged_lock = threading.Lock()


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
    with _logged_lock:
        _logged.clear()


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
    rule = describe(name, item)
    setting = f"RATE_LIMIT_{name.upper()}"
    _log_once(identifiers, item, f"rate limit {rule} reached by {keys[0] if keys else '?'}: refusing for {retry_after} s "
                                 f"({setting} changes it)")
    raise errors.TooManyRequests(f"Too many requests: {name} allows {rule.split(': ', 1)[1]} (set {setting} to change "
                                 f"it); try again in {retry_after} s", errors=[rule], headers={
        "Retry-After": str(retry_after),
        "RateLimit-Limit": str(item.amount),
        "RateLimit-Remaining": str(max(0, remaining)),
        "RateLimit-Reset": str(retry_after),
    })


def describe(name: str, item: RateLimitItem) -> str:
    """A limit as people say it: "register: 5 per hour per IP", "login_ip: 30 per 5 minutes per IP"."""
    unit = item.GRANULARITY.name
    window = unit if item.multiples == 1 else f"{item.multiples} {unit}s"
    return f"{name}: {item.amount} per {window} per {COUNTED_PER.get(name, 'client')}"


def _log_once(identifiers: list[str], item: RateLimitItem, line: str) -> None:
    """Log a limit's refusals of one key once per window of that limit (a client retrying in a loop is one line)."""
    key, now = tuple(identifiers), time.monotonic()
    with _logged_lock:
        if _logged.get(key, 0.0) > now:
            return
        if len(_logged) > 10_000:  # forget keys whose window is over, so a crowd of clients cannot grow it for ever
            for stale in [k for k, until in _logged.items() if until <= now]:
                del _logged[stale]
        _logged[key] = now + item.get_expiry()
    log.warning(line)


class _Fallback(Collector):
    """/metrics: 1 while this process counts limits in its own memory because their Redis is unreachable."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily("viztube_ratelimit_fallback", "1 while rate limits are counted per process because"
                                " their Redis is unreachable", value=1 if falling_back() else 0)


metrics.REGISTRY.register(_Fallback())
