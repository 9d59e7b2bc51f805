"""Sending a webhook delivery: the `webhook_deliver` job. One POST of the delivery's JSON body, signed, to its
endpoint; the attempt recorded; on failure the next attempt queued with exponential backoff, up to MAX_ATTEMPTS.

The signature is Stripe's scheme under our own header: `VizTube-Signature: t=<unix seconds>,v1=<hex
HMAC-SHA256(secret, "<t>." + raw body)>`; a receiver recomputes it over the raw bytes it got and refuses a `t` too
far from its clock (replays). Every attempt signs anew with its own `t`; the body (and its event `id`, which a
receiver de-duplicates on) never changes.

What is sent is bounded: a short timeout (and an overall deadline, against a receiver that answers one byte at a
time), no redirect followed (a 3xx is a failed attempt), at most RESPONSE_CAP bytes of the answer read and kept. In
`prod` the address connected to is the one checked public just now (shared.services.webhook_urls), never a second
resolution of the name."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import logging
import random
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from shared import db, jobs
from shared.jobs import handler
from shared.services.webhook_urls import Target, UnsafeTarget, resolve_target
from shared.sql import webhooks as webhooks_sql

log = logging.getLogger(__name__)
JOB_KIND = "webhook_deliver"
MAX_ATTEMPTS = 8  # the first try and seven retries, spread over about fifteen hours
RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 6 * 3600
TIMEOUT_SECONDS = 10.0  # connecting, and each read
DEADLINE_SECONDS = 20.0  # the whole attempt
RESPONSE_CAP = 1024  # bytes of the receiver's answer read and kept
SIGNATURE_HEADER = "VizTube-Signature"
USER_AGENT = "VizTube-Webhooks/1.0"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header's value for `body` sent at `timestamp` (unix seconds)."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def retry_delay(attempts: int) -> float:
    """Seconds before the next attempt once `attempts` have failed: 30 s, 2 min, 8 min, 32 min, ~2 h, then 6 h,
    each stretched by up to a tenth at random so that an endpoint back from an outage is not hit by every retry
    at once."""
    base = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 4 ** (attempts - 1))
    return base * (1 + random.uniform(0, 0.1))


@dataclass(frozen=True)
class Outcome:
    status_code: int | None  # None: no HTTP answer (refused, unreachable, timed out)
    error: str | None
    duration_ms: int
    response_body: str | None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _readable(raw: bytes) -> str:
    """The answer's first bytes as storable text (PostgreSQL's text holds no NUL)."""
    return raw.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


def _connection(target: Target) -> http.client.HTTPConnection:
    conn: http.client.HTTPConnection
    if target.scheme == "https":
        conn = http.client.HTTPSConnection(target.host, target.port, timeout=TIMEOUT_SECONDS)
    else:
        conn = http.client.HTTPConnection(target.host, target.port, timeout=TIMEOUT_SECONDS)
    if target.address is not None:
        pinned = target.address

        # http.client connects through this attribute; TLS still verifies the certificate against the URL's host
        # name (server_hostname), only the address is the one checked.
        def connect(address: tuple[str, int], timeout: Any = None, source: Any = None) -> socket.socket:
            return socket.create_connection((pinned, address[1]), timeout, source)

        conn._create_connection = connect  # type: ignore[attr-defined]
    return conn


def post(url: str, secret: str, body: bytes, *, headers: dict[str, str] | None = None) -> Outcome:
    """One signed POST of `body` to `url`; never raises for what the network or the receiver does."""
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = resolve_target(url)
    except UnsafeTarget as exc:
        return Outcome(None, f"Refused: {exc}", took(), None)
    conn = _connection(target)

    def cut() -> None:  # the overall deadline: unblocks a read waiting on a receiver that trickles
        sock = conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    watchdog = threading.Timer(DEADLINE_SECONDS, cut)
    watchdog.daemon = True
    watchdog.start()
    try:
        conn.request("POST", target.path, body=body, headers={
            "Content-Type": "application/json", "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: sign(secret, body, int(time.time())), **(headers or {})})
        response = conn.getresponse()
        raw = response.read(RESPONSE_CAP)
        status = response.status
        return Outcome(status, None if 200 <= status < 300 else f"HTTP {status} {response.reason}"[:200], took(),
                       _readable(raw))
    except Exception as exc:  # whatever the network or a misbehaving receiver does is a failed attempt
        message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if time.monotonic() - started >= DEADLINE_SECONDS:
            message = f"Timed out after {DEADLINE_SECONDS:.0f} s ({message})"
        return Outcome(None, _readable(message.encode())[:500], took(), None)
    finally:
        watchdog.cancel()
        conn.close()


def queue(delivery_id: uuid.UUID, *, seq: int, delay_seconds: float = 0) -> None:
    """Queue an attempt at the delivery's round `seq` (inside the caller's transaction)."""
    jobs.enqueue(JOB_KIND, {"delivery_id": str(delivery_id), "seq": seq}, delay_seconds=delay_seconds)


@handler(JOB_KIND)
def deliver(payload: dict[str, Any]) -> None:
    """One attempt. Not this round's (a resend started another), already done, or its endpoint deleted: nothing.

    The network is used outside any transaction; the attempt, the delivery's state, the endpoint's last status and
    the next attempt's job are then written together. A crash between sending and recording leaves the job to be
    run again: the receiver may get the same event twice, which its `id` lets it see (at-least-once)."""
    delivery_id = uuid.UUID(payload["delivery_id"])
    seq = int(payload.get("seq", 0))
    row = webhooks_sql.for_sending(delivery_id=delivery_id)
    if row is None or row["status"] != "pending" or row["seq"] != seq:
        return
    outcome = post(row["url"], row["secret"], row["body"].encode(),
                   headers={"VizTube-Delivery": str(delivery_id)})
    attempts = row["attempts"] + 1
    retry = None if outcome.succeeded or attempts >= MAX_ATTEMPTS else retry_delay(attempts)
    with db.transaction():
        recorded = webhooks_sql.record_attempt(
            delivery_id=delivery_id, seq=seq, succeeded=outcome.succeeded, status_code=outcome.status_code,
            error=outcome.error, duration_ms=outcome.duration_ms, response_body=outcome.response_body,
            retry_in_seconds=retry)
        if recorded is not None and retry is not None:
            queue(delivery_id, seq=seq, delay_seconds=retry)
    if recorded is not None and not outcome.succeeded:
        log.info("webhook delivery %s attempt %d failed (%s)%s", delivery_id, attempts, outcome.error,
                 f", next in {retry:.0f} s" if retry is not None else ", giving up")
