"""Read-through cache for the hottest reads (who is signed in, channel profiles, video details, the feed's
first page).

In-process where one process serves everything, Redis (shared by every process and Lambda) with
REDIS_URL, off otherwise (settings.cache_backend). Values are JSON. Writers invalidate after their
transaction commits (`forget_*`), so a concurrent reader cannot re-cache the old value. A cache that
fails is a miss, never an error.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from shared import db
from shared.http import to_json
from shared.settings import get_settings

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


class RedisBackend:
    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

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


_backend: Backend | None = None
_backend_name: str | None = None
_lock = threading.Lock()


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
    global _backend, _backend_name
    with _lock:
        _backend, _backend_name = None, None


def _safely(action: Callable[[Backend], Any], default: Any = None) -> Any:
    backend = _get()
    if backend is None:
        return default
    try:
        return action(backend)
    except Exception:  # noqa: BLE001 - a cache outage degrades to the database, never to an error
        log.warning("cache unavailable", exc_info=True)
        return default


def read_through(key: str, load: Callable[[], Any], *, ttl: int | None = None,
                 keep: Callable[[Any], bool] = lambda value: value is not None) -> Any:
    """The cached value, or `load()` stored for `ttl` seconds when `keep(value)` (misses are not cached)."""
    raw = _safely(lambda b: b.get(key))
    if raw is not None:
        return json.loads(raw)
    value = json.loads(to_json(load()))  # the same JSON-native shape on a hit and on a miss
    if keep(value):
        _safely(lambda b: b.set(key, to_json(value), ttl or get_settings().cache_ttl_seconds))
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
    found = _safely(lambda b: b.get_many(guard, key))
    if found is None:  # no cache
        return json.loads(to_json(load()))
    stamp, raw = found
    if raw is not None:
        entry = json.loads(raw)
        if stamp is not None and entry["guard"] == stamp and fresh(entry["value"]):
            return entry["value"]
    if stamp is None:
        stamp = secrets.token_hex(8)
        if not _safely(lambda b: b.add(guard, stamp, GUARD_TTL_SECONDS)):
            stamp = None  # another request made the guard first: load, but do not store under a stamp not kept
    value = json.loads(to_json(load()))
    if value is not None and stamp is not None:
        _safely(lambda b: b.set(key, to_json({"guard": stamp, "value": value}), ttl))
    return value


def feed_generation() -> int:
    return int(_safely(lambda b: b.get("feed:gen"), None) or 0)


# ------------------------------------------------------------------ invalidation (after commit)


def _after_commit(action: Callable[[Backend], Any]) -> None:
    db.on_commit(lambda: _safely(action))


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
