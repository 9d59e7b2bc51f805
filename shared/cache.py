"""Read-through cache for the hottest reads (who is signed in, channel profiles, video details, the feed's
first page).

In-process where one process serves everything, Redis (shared by every process and Lambda) with
REDIS_URL, off otherwise (settings.cache_backend). Values are JSON. Writers invalidate after their
transaction commits (`forget`, `bump`, `retire`), so a concurrent reader cannot re-cache the old value. A cache
that fails is a miss, never an error. What is cached under which key, and what forgets it: shared.cached.

When Redis fails (issue #10, point 5), the cache fails closed:
* every Redis call has a short timeout, and a circuit breaker (shared.breaker) sends reads straight to the
  database while Redis is down, at no cost after the first failure;
* an invalidation that cannot reach Redis is not dropped: it raises the cache epoch, a PostgreSQL sequence.
  Every entry in Redis records the epoch it was cached under, and is trusted only while that is still the
  epoch. Readers learn the epoch from a Redis key that lives EPOCH_LEASE_MS and is renewed from PostgreSQL
  (and always after this process saw Redis fail), so once Redis answers again no process serves an entry
  cached before the lost invalidation. The process that lost it never does; the others not once the lease
  they hold has lapsed, and the lease is no longer than the Redis timeout: a Redis frozen long enough to make
  a client give up has outlived every lease granted before it froze. (Only a Redis that one process cannot
  reach while others can leaves the others up to one lease, a quarter of a second, of trust in old entries.)
"""

from __future__ import annotations

import logging
import math
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from typing import Any, NamedTuple, Protocol

from cachetools import TLRUCache
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from shared import db, metrics
from shared.breaker import REDIS_TIMEOUT_SECONDS, Breaker, redis_client_options
from shared.settings import get_settings
from shared.sql import cache_epoch as cache_epoch_sql
from shared.wire import from_json, to_json, to_json_bytes

log = logging.getLogger(__name__)
MAX_MEMORY_ENTRIES = 20_000


class Backend(Protocol):
    def get(self, key: str) -> str | None: ...
    def get_many(self, *keys: str) -> list[str | None]: ...
    def set(self, key: str, value: str, ttl: int) -> None: ...
    def add(self, key: str, value: str, ttl: int) -> bool: ...
    def delete(self, *keys: str) -> None: ...
    def incr(self, key: str) -> int: ...


class _Entry(NamedTuple):
    value: str
    ttl: float  # seconds it lives once stored (infinite for counters, which never expire)


def _expires(_key: str, entry: _Entry, now: float) -> float:
    """TLRUCache asks when each entry expires as it is stored: each lives its own TTL."""
    return now + entry.ttl


class MemoryBackend:
    """The cache of a process that serves everything: entries in memory, each living its own TTL, and at most
    MAX_MEMORY_ENTRIES of them (when full, expired entries go first, then the least recently used)."""

    def __init__(self) -> None:
        self._data: TLRUCache[str, _Entry] = TLRUCache(MAX_MEMORY_ENTRIES, _expires)
        self._lock = threading.Lock()  # cachetools' caches are not thread-safe, and even reads reorder them

    def _live(self, key: str) -> str | None:
        # Indexing (not `in` then `get`): one look at the clock, so an entry expiring in between cannot raise.
        try:
            return self._data[key].value
        except KeyError:  # absent or expired
            return None

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._live(key)

    def get_many(self, *keys: str) -> list[str | None]:
        with self._lock:
            return [self._live(key) for key in keys]

    def set(self, key: str, value: str, ttl: int) -> None:
        with self._lock:
            self._data[key] = _Entry(value, ttl)

    def add(self, key: str, value: str, ttl: int) -> bool:
        with self._lock:
            if self._live(key) is not None:
                return False
            self._data[key] = _Entry(value, ttl)
            return True

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                # `del`, not `pop`: pop looks twice at the clock, and raises if the entry expires in between.
                with suppress(KeyError):  # absent, or expired (which `del` removes all the same)
                    del self._data[key]

    def incr(self, key: str) -> int:
        with self._lock:
            count = int(self._live(key) or 0) + 1
            self._data[key] = _Entry(str(count), math.inf)
            return count


# Sets the epoch lease to the higher of what Redis holds and what the caller read from PostgreSQL (a slower
# caller holding an older epoch must never lower it), renews its expiry, and answers the epoch now in force.
_RAISE_EPOCH = """
local held = tonumber(redis.call('GET', KEYS[1]) or '-1')
local wanted = tonumber(ARGV[1])
if held > wanted then wanted = held end
redis.call('SET', KEYS[1], wanted, 'PX', ARGV[2])
return wanted
"""


def _text(value: bytes | str | None) -> str | None:
    """redis-py answers bytes (no decode_responses): the text stored."""
    return value.decode() if isinstance(value, bytes) else value


class RedisBackend:
    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, **redis_client_options())
        self._raise_epoch = self._redis.register_script(_RAISE_EPOCH)

    def raise_epoch(self, epoch: int, lease_ms: int) -> int:
        return int(self._raise_epoch(keys=[f"viztube:{EPOCH_KEY}"], args=[epoch, lease_ms]))

    def get(self, key: str) -> str | None:
        return _text(self._redis.get(f"viztube:{key}"))

    def get_many(self, *keys: str) -> list[str | None]:
        return [_text(v) for v in self._redis.mget([f"viztube:{k}" for k in keys])]

    def set(self, key: str, value: str, ttl: int) -> None:
        self._redis.set(f"viztube:{key}", value, ex=ttl)

    def add(self, key: str, value: str, ttl: int) -> bool:
        return bool(self._redis.set(f"viztube:{key}", value, ex=ttl, nx=True))

    def delete(self, *keys: str) -> None:
        self._redis.delete(*(f"viztube:{k}" for k in keys))

    def incr(self, key: str) -> int:
        return int(self._redis.incr(f"viztube:{key}"))


EPOCH_KEY = "epoch"  # the cache epoch readers trust, renewed from PostgreSQL (cache_epoch) when it lapses
# How long a process may go on trusting entries after another lost an invalidation: the Redis timeout, so
# a freeze that made any call time out has also outlived every lease (one PostgreSQL read per lease, cluster-wide).
EPOCH_LEASE_MS = int(REDIS_TIMEOUT_SECONDS * 1000)

_backend: Backend | None = None
_backend_name: str | None = None
_lock = threading.Lock()
_breaker = Breaker("cache", "every read goes to the database")
_known_epoch = 0  # the highest epoch this process has read from PostgreSQL or raised itself
_recheck_epoch = False  # read the epoch from PostgreSQL before trusting Redis again (set when Redis failed)
_untrusted_until = 0.0  # monotonic time until which this process ignores the cache (see _lost_invalidation)


def _get() -> Backend | None:
    global _backend, _backend_name
    settings = get_settings()
    if _backend_name != settings.cache_backend:
        with _lock:
            _backend_name = settings.cache_backend
            _backend = (RedisBackend(settings.redis_url or "") if _backend_name == "redis"
                        else MemoryBackend() if _backend_name == "memory" else None)
    return _backend


def reset() -> None:
    global _backend, _backend_name, _breaker, _known_epoch, _recheck_epoch, _untrusted_until
    with _lock:
        _backend, _backend_name = None, None
        _breaker = Breaker("cache", "every read goes to the database")
        _known_epoch, _recheck_epoch, _untrusted_until = 0, False, 0.0


def status() -> str:
    """For /metrics: "up" (in use), "down" (Redis unreachable: reads go to the database) or "off" (no cache)."""
    if _get() is None:
        return "off"
    return "down" if _breaker.down else "up"


def _redis_failed(exc: BaseException) -> None:
    global _recheck_epoch
    metrics.CACHE_ERRORS.inc()
    # Another process may have lost an invalidation while this one could not see Redis either.
    _recheck_epoch = True
    _breaker.failed(exc)


def _call(action: Callable[[Backend], Any]) -> tuple[bool, Any]:
    """Run one cache operation: (done, its result). Not done when Redis is down (the breaker is open) or the
    call fails (which opens it); a cache that is off has nothing to do, which counts as done."""
    backend = _get()
    if backend is None:
        return True, None
    if not isinstance(backend, RedisBackend):
        return True, action(backend)
    if not _breaker.allow():
        return False, None
    try:
        result = action(backend)
    except Exception as exc:
        _redis_failed(exc)
        return False, None
    _breaker.succeeded()
    return True, result


def _confirm_epoch(backend: RedisBackend) -> int | None:
    """The epoch read from PostgreSQL, made the lease in Redis; None when PostgreSQL cannot say (no trust)."""
    global _known_epoch, _recheck_epoch
    _recheck_epoch = False  # cleared first: a failure while we look sets it again
    try:
        durable = cache_epoch_sql.current()
    except Exception:
        log.warning("cannot read the cache epoch; reading from the database", exc_info=True)
        _recheck_epoch = True
        return None
    with _lock:
        _known_epoch = max(_known_epoch, durable)
        wanted = _known_epoch
    epoch = backend.raise_epoch(wanted, EPOCH_LEASE_MS)
    with _lock:
        _known_epoch = max(_known_epoch, epoch)
    return epoch


def _read(*keys: str) -> tuple[int, list[str | None]] | None:
    """(the epoch an entry must carry to be trusted, the raw values of `keys`), or None: do not use the cache."""
    backend = _get()
    if backend is None:
        return None
    if not isinstance(backend, RedisBackend):
        return 0, backend.get_many(*keys)  # one process: nothing it misses can be lost
    if time.monotonic() < _untrusted_until or not _breaker.allow():
        metrics.CACHE_BYPASSED.inc()
        return None
    try:
        lease, *values = backend.get_many(EPOCH_KEY, *keys)
        epoch = int(lease) if lease is not None else None
        if _recheck_epoch or epoch is None or epoch < _known_epoch:  # lapsed, behind us, or after an outage
            epoch = _confirm_epoch(backend)
    except Exception as exc:
        _redis_failed(exc)
        metrics.CACHE_BYPASSED.inc()
        return None
    _breaker.succeeded()
    if epoch is None:
        metrics.CACHE_BYPASSED.inc()
        return None
    return epoch, values


def _entry(raw: str | None, epoch: int) -> dict[str, Any] | None:
    """A stored entry, if it was cached under `epoch` (entries from before a lost invalidation are not)."""
    if raw is None:
        return None
    entry = from_json(raw)
    return entry if isinstance(entry, dict) and entry.get("epoch") == epoch else None


def read_through(key: str, load: Callable[[], Any], *, ttl: int | None = None,
                 keep: Callable[[Any], bool] = lambda value: value is not None) -> Any:
    """The cached value, or `load()` stored for `ttl` seconds when `keep(value)` (misses are not cached)."""
    found = _read(key)
    if found is not None:
        epoch, (raw,) = found
        entry = _entry(raw, epoch)
        if entry is not None:
            return entry["value"]
    value = from_json(to_json_bytes(load()))  # the same JSON-native shape on a hit and on a miss
    if found is not None and keep(value):
        stored = to_json({"epoch": epoch, "value": value})
        _call(lambda b: b.set(key, stored, ttl or get_settings().cache_ttl_seconds))
    return value


GUARD_TTL_SECONDS = 24 * 3600  # longer than any guarded entry lives; a guard that is gone anyway only costs misses


def read_guarded(key: str, guard: str, load: Callable[[], Any], *, ttl: int,
                 fresh: Callable[[Any], bool] = lambda value: True) -> Any:
    """read_through for values that must never outlive their invalidation (whether a session is live).

    The entry records the value its `guard` held before `load()` ran; `retire(guard)` (after commit) gives the
    guard a new random value, so an entry loaded before the write, even one stored after it by a slower
    request, no longer matches. Guards are random rather than counters: one evicted and made again can never
    match an old entry. `fresh(value)` is checked on every hit (say, the session's expiry). None is not cached.
    """
    found = _read(guard, key)
    if found is None:  # no cache, or none to be trusted now
        return from_json(to_json_bytes(load()))
    epoch, (stamp, raw) = found
    entry = _entry(raw, epoch)
    if entry is not None and stamp is not None and entry["guard"] == stamp and fresh(entry["value"]):
        return entry["value"]
    if stamp is None:
        new_stamp = stamp = secrets.token_hex(8)
        done, added = _call(lambda b: b.add(guard, new_stamp, GUARD_TTL_SECONDS))
        if not (done and added):
            stamp = None  # another request made the guard first: load, but do not store under a stamp not kept
    value = from_json(to_json_bytes(load()))
    if value is not None and stamp is not None:
        stored = to_json({"epoch": epoch, "guard": stamp, "value": value})
        _call(lambda b: b.set(key, stored, ttl))
    return value


# ------------------------------------------------------------------ invalidation (after commit)


def _lost_invalidation() -> None:
    """An invalidation did not reach Redis: make every entry cached so far untrusted, in every process.

    The epoch is raised in PostgreSQL, which this process trusts at once (its next reads want the new epoch)
    and the others as soon as their lease of the old one lapses. If even that fails, this process ignores
    the cache for as long as any stale entry can live: at least it never serves one itself."""
    global _known_epoch, _untrusted_until
    metrics.CACHE_INVALIDATIONS_LOST.inc()
    try:
        raised = cache_epoch_sql.bump()
    except Exception:
        settings = get_settings()
        longest = max(settings.cache_ttl_seconds, settings.feed_cache_ttl_seconds)
        _untrusted_until = time.monotonic() + longest
        log.error("a cache invalidation was lost and the cache epoch could not be raised; this process ignores"
                  " the cache for %d s", longest, exc_info=True)
        return
    with _lock:
        _known_epoch = max(_known_epoch, raised)
    log.warning("a cache invalidation could not reach Redis; cache epoch raised to %d: no process trusts"
                " entries cached before it", raised)


def _after_commit(action: Callable[[Backend], Any]) -> None:
    def invalidate() -> None:
        done, _ = _call(action)
        if not done:
            _lost_invalidation()

    db.on_commit(invalidate)


def forget(*keys: str) -> None:
    """Remove these entries once the current transaction commits (a lost removal raises the epoch)."""
    _after_commit(lambda b: b.delete(*keys))


def bump(counter: str) -> None:
    """Increment a generation counter once the current transaction commits (see shared.cached's feed)."""
    _after_commit(lambda b: b.incr(counter))


def generation(counter: str) -> int:
    """A generation counter's value (0 when unset or the cache is down: nothing cached under it is trusted then)."""
    done, value = _call(lambda b: b.get(counter))
    return int(value or 0) if done else 0


def retire(guard: str) -> None:
    """Invalidate every `read_guarded` entry under `guard`, once the current transaction commits."""
    _after_commit(lambda b: b.set(guard, secrets.token_hex(8), GUARD_TTL_SECONDS))


class _CacheState(Collector):
    """/metrics: whether this process's cache is in use, bypassed because Redis is down, or off."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        state = GaugeMetricFamily("viztube_cache_state", "The cache: up (in use), down (Redis unreachable, every"
                                  " read goes to the database) or off (none configured)", labels=["state"])
        now = status()
        for name in ("up", "down", "off"):
            state.add_metric([name], 1 if name == now else 0)
        yield state


metrics.REGISTRY.register(_CacheState())
