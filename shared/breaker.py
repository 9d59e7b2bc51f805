"""How VizTube talks to Redis so that Redis can never slow a request down by more than one short timeout:
the client options every Redis client uses (short socket and connect timeouts, no retries), and the circuit
breaker each user of Redis (the cache, the rate limiter) keeps, so that once Redis has failed, requests
stop asking it for a while instead of each paying the timeout again (issue #10, point 5).

A frozen Redis (say, SIGSTOP, or a stalled network) accepts connections and never answers: without a socket
timeout every call hangs for as long as the OS lets it, and redis-py's default retries multiply that.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

log = logging.getLogger(__name__)

# Redis answers in well under a millisecond on the same host or VPC; a quarter of a second is a stall.
REDIS_TIMEOUT_SECONDS = 0.25
# After a failure, Redis is left alone this long; then one request probes it (the others keep going around).
RETRY_AFTER_SECONDS = 5.0


def redis_client_options() -> dict[str, Any]:
    """Keyword arguments for redis.Redis / redis.from_url (also through limits' RedisStorage, which passes them on).

    No retries: redis-py retries connection errors three times with backoff by default, which turns one
    short timeout into several; the breaker decides when Redis is worth asking again."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return {"socket_timeout": REDIS_TIMEOUT_SECONDS, "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
            "retry": Retry(NoBackoff(), 0)}


class Breaker:
    """A circuit breaker around one use of Redis.

    `allow()` says whether to call Redis now; report the outcome with `succeeded()` / `failed()`. After a
    failure the circuit is open for RETRY_AFTER_SECONDS: `allow()` is False at no cost. Then exactly one
    caller is let through as a probe (the others still go around until it reports), so a Redis that is still
    hung costs one request one timeout per interval, not every request. Each outage is logged once, when it
    starts and when it ends, with what the caller does meanwhile (`fallback`).
    """

    def __init__(self, name: str, fallback: str) -> None:
        self.name = name
        self.fallback = fallback
        self._lock = threading.Lock()
        self._down = False
        self._next_probe = 0.0

    @property
    def down(self) -> bool:
        """True from a failure until a call succeeds again."""
        return self._down

    def allow(self) -> bool:
        if not self._down:
            return True
        with self._lock:
            now = time.monotonic()
            if not self._down:
                return True
            if now < self._next_probe:
                return False
            self._next_probe = now + RETRY_AFTER_SECONDS  # this caller probes; the rest wait for the next turn
            return True

    def failed(self, exc: BaseException) -> bool:
        """Open the circuit; True when this failure starts an outage (the caller may have more to do then)."""
        with self._lock:
            started = not self._down
            self._down = True
            self._next_probe = time.monotonic() + RETRY_AFTER_SECONDS
        if started:
            log.warning("%s: Redis is unreachable (%s: %s); %s until it answers (retried every %.0f s)",
                        self.name, type(exc).__name__, exc, self.fallback, RETRY_AFTER_SECONDS)
        return started

    def succeeded(self) -> bool:
        """Close the circuit; True when this success ends an outage."""
        if not self._down:
            return False
        with self._lock:
            ended, self._down = self._down, False
        if ended:
            log.warning("%s: Redis answers again; back to using it", self.name)
        return ended
