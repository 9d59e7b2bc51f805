"""Rate limits with the `limits` library: in-process by default, Redis (shared by every process) with REDIS_URL."""

from __future__ import annotations

import logging
import math
import threading
import time

from limits import parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from shared import errors
from shared.settings import get_settings

log = logging.getLogger(__name__)
_limiter: MovingWindowRateLimiter | None = None
_lock = threading.Lock()


def _get() -> MovingWindowRateLimiter:
    global _limiter
    if _limiter is None:
        with _lock:
            if _limiter is None:
                url = get_settings().redis_url
                storage = storage_from_string(url, key_prefix="viztube-rl") if url else MemoryStorage()
                _limiter = MovingWindowRateLimiter(storage)
    return _limiter


def reset() -> None:
    global _limiter
    with _lock:
        _limiter = None


def hit(name: str, *keys: object) -> None:
    """Count one request against limit `name` for these keys; 429 with Retry-After and RateLimit-* when over."""
    settings = get_settings()
    if not settings.rate_limits_enabled:
        return
    item = parse(settings.rate_limits[name])
    identifiers = [name, *(str(k) for k in keys)]
    limiter = _get()
    try:
        allowed = limiter.hit(item, *identifiers)
        if allowed:
            return
        reset_at, remaining = limiter.get_window_stats(item, *identifiers)
    except Exception:  # noqa: BLE001 - a broken limiter store must not take the API down: fail open, loudly
        log.warning("rate limiter unavailable; request allowed", exc_info=True)
        return
    retry_after = max(1, math.ceil(reset_at - time.time()))
    raise errors.TooManyRequests("Too many requests, please try again later", headers={
        "Retry-After": str(retry_after),
        "RateLimit-Limit": str(item.amount),
        "RateLimit-Remaining": str(max(0, remaining)),
        "RateLimit-Reset": str(retry_after),
    })
