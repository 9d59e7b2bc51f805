"""Read-through cache for the hottest reads (who is signed in, channel profiles, video details, the feed's
first page).

In-process where one process serves everything, Redis (shared by every process and Lambda) with
REDIS_URL, off otherwise (settings.cache_backend). Values are JSON. Writers invalidate after their
transaction commits (`forget_*`), so a concurrent reader cannot re-cache the old value. A cache that
fails is a miss, never an error.

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

import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from shared import db, metrics
from shared.breaker import REDIS_TIMEOUT_SECONDS, Breaker, redis_client_options
from shared.http import to_json
from shared.settings import get_settings
from shared.sql import cache_epoch as cache_epoch_sql

log = logging.getLogger(__name__)
MAX_MEMORY_ENTRIES = 20_000


class Backend(Protocol):
    def get(self, key: str) -> str | None: ...
    def get_many(self, *keys: str) -> list[str | None]: ...
    def set(self, key: str, value: str, ttl: int) -> None: ...
    def add(self, key: str, value: str, ttl: int) -> bool: ...
    def delete(self, *keys: str) -> None: ...
    def incr(self, key: str) -> int: ...


class MemoryBackend:
    def __init__(self) -> None:
        self._data: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def _live(self, key: str, now: float) -> str | None:
        item = self._data.get(key)
        if item is None or item[0] < now:
            self._data.pop(key, None)
            return None
        return item[1]

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._live(key, time.monotonic())

    def get_many(self, *keys: str) -> list[str | None]:
        with self._lock:
            now = time.monotonic()
            return [self._live(key, now) for key in keys]

    def _store(self, key: str, value: str, ttl: int) -> None:
        if len(self._data) >= MAX_MEMORY_ENTRIES:  # bounded: drop expired entries, then the oldest
            now = time.monotonic()
            for stale in [k for k, (exp, _) in self._data.items() if exp < now] or list(self._data)[:1000]:
                self._data.pop(stale, None)
        self._data[key] = (time.monotonic() + ttl, value)

    def set(self, key: str, value: str, ttl: int) -> None:
        with self._lock:
            self._store(key, value, ttl)

    def add(self, key: str, value: str, ttl: int) -> bool:
        with self._lock:
            if self._live(key, time.monotonic()) is not None:
                return False
            self._store(key, value, ttl)
            return True

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._data.pop(key, None)

    def incr(self, key: str) -> int:
        with self._lock:
            _, value = self._data.get(key, (0.0, "0"))
            self._data[key] = (float("inf"), str(int(value) + 1))
            return int(value) + 1


# Sets the epoch lease to the higher of what Redis holds and what the caller read from PostgreSQL (a slower
# caller holding an older epoch must never lower it), renews its expiry, and answers the epoch now in force.
_RAISE_EPOCH = """
local held = tonumber(redis.call('GET', KEYS[1]) or '-1')
local wanted = tonumber(ARGV[1])
if held > wanted then wanted = held end
redis.call('SET', KEYS[1], wanted, 'PX', ARGV[2])
return wanted
"""


class RedisBackend:
    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, **redis_client_options())
        self._raise_epoch = self._redis.register_script(_RAISE_EPOCH)

    def raise_epoch(self, epoch: int, lease_ms: int) -> int:
        return int(self._raise_epoch(keys=[f"viztube:{EPOCH_KEY}"], args=[epoch, lease_ms]))

    def get(self, key: str) -> str | None:
        value = self._redis.get(f"viztube:{key}")
        return value.decode() if value is not None else None

    def get_many(self, *keys: str) -> list[str | None]:
        return [v.decode() if v is not None else None for v in self._redis.mget([f"viztube:{k}" for k in keys])]

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
    except Exception as exc:  # noqa: BLE001 - a cache outage degrades to the database, never to an error
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
    except Exception:  # noqa: BLE001 - the database is down: the caller's own load will report it
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
    except Exception as exc:  # noqa: BLE001 - a cache outage degrades to the database, never to an error
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
    entry = json.loads(raw)
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
    value = json.loads(to_json(load()))  # the same JSON-native shape on a hit and on a miss
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
        return json.loads(to_json(load()))
    epoch, (stamp, raw) = found
    entry = _entry(raw, epoch)
    if entry is not None and stamp is not None and entry["guard"] == stamp and fresh(entry["value"]):
        return entry["value"]
    if stamp is None:
        stamp = secrets.token_hex(8)
        done, added = _call(lambda b: b.add(guard, stamp, GUARD_TTL_SECONDS))
        if not (done and added):
            stamp = None  # another request made the guard first: load, but do not store under a stamp not kept
    value = json.loads(to_json(load()))
    if value is not None and stamp is not None:
        stored = to_json({"epoch": epoch, "guard": stamp, "value": value})
        _call(lambda b: b.set(key, stored, ttl))
    return value


def feed_generation() -> int:
    done, value = _call(lambda b: b.get("feed:gen"))
    return int(value or 0) if done else 0


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
    except Exception:  # noqa: BLE001 - nothing shared can be told; protect what this process serves
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


def forget_channel(user_id: object, *usernames: str) -> None:
    """A user's profile, counts or name changed: their profile, and everything showing their brief."""
    _after_commit(lambda b: b.delete(f"channel:{user_id}", *(f"uid:{name}" for name in usernames)))
    forget_feed()


def forget_channel_counts(*user_ids: object) -> None:
    _after_commit(lambda b: b.delete(*(f"channel:{uid}" for uid in user_ids)))


def forget_video(video_id: object) -> None:
    _after_commit(lambda b: b.delete(f"video:{video_id}"))
    forget_feed()


def forget_feed() -> None:
    """The feed's first pages are keyed by a generation number: bumping it retires them all at once."""
    _after_commit(lambda b: b.incr("feed:gen"))


def retire(guard: str) -> None:
    """Invalidate every `read_guarded` entry under `guard`, once the current transaction commits."""
    _after_commit(lambda b: b.set(guard, secrets.token_hex(8), GUARD_TTL_SECONDS))


def forget_sign_ins(user_id: object) -> None:
    """A user's sessions or profile changed: every cached "who is this token" answer for them is retired."""
    retire(f"auth:{user_id}")
