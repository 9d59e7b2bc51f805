"""What the server says at start about the state it shares with other instances (issue #10, point 6).

The cache and the rate limits are shared only through Redis (REDIS_URL). Without it they live in one
process's memory, which is right only if that process is the whole deployment: a second node or worker
would let a client through once per process, and (with an in-process cache) keep serving sessions and
profiles the other process has already changed. Nothing can detect another node, so the server says plainly
at start which backends it uses and, without Redis, that it assumes it is the only instance.
"""

from __future__ import annotations

import logging

from shared.settings import Settings


def start_messages(settings: Settings) -> list[tuple[int, str]]:
    """(log level, message) pairs describing the cache and rate-limit backends, and what they assume."""
    cache = {"redis": "redis (shared by every process)", "memory": "in-process (this process only)",
             "off": "off"}.get(settings.cache_backend, settings.cache_backend)
    if not settings.rate_limits_enabled:
        limits = "off"
    elif settings.redis_url:
        limits = "redis (shared by every process; counted per process while Redis is unreachable)"
    else:
        limits = "in-process (this process only)"
    if settings.redis_url:
        return [(logging.INFO, f"cache: {cache}; rate limits: {limits}")]
    messages = [(logging.WARNING if settings.stage == "prod" else logging.INFO,
                 f"cache: {cache}; rate limits: {limits}. No REDIS_URL: this server assumes it is the only"
                 " instance; a second one (another node, or WEB_CONCURRENCY > 1) needs REDIS_URL")]
    if settings.web_concurrency > 1:  # prod refuses this outright (settings); elsewhere it is allowed, loudly
        messages.append((logging.WARNING,
                         f"WEB_CONCURRENCY={settings.web_concurrency} without REDIS_URL: each of the"
                         f" {settings.web_concurrency} processes counts rate limits on its own (together they let"
                         " each limit through that many times) and the cache is off unless CACHE=memory, when a"
                         " change made in one process stays unseen by the others for up to CACHE_TTL"))
    return messages


def log_start(settings: Settings, log: logging.Logger) -> None:
    for level, message in start_messages(settings):
        log.log(level, message)
