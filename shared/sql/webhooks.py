"""Every SQL statement that touches webhook endpoints, their deliveries and the attempts at sending them."""

from __future__ import annotations

import uuid
from typing import Any

from shared import db

_LOCK_NAMESPACE = 0x486F6F6B  # "Hook": serialises one user's endpoint creations (the per-user cap)
_ENDPOINT = ("id, url, events, created_at, last_status, last_status_code, last_error, last_attempt_at")
_DELIVERY = ("id, endpoint_id, event_id, event_type, body, status, attempts, next_attempt_at, last_status_code,"
             " last_error, created_at, updated_at")


def create_endpoint(*, user_id: uuid.UUID, url: str, events: list[str], secret: str,
                    max_per_user: int) -> dict[str, Any] | None:
    """A new endpoint; None when the user already has `max_per_user` (counted under a per-user lock, so two
    concurrent creations cannot both pass the cap)."""
    with db.transaction() as tx:
        tx.execute("SELECT pg_advisory_xact_lock(:ns, hashtext(CAST(:uid AS text)))", ns=_LOCK_NAMESPACE, uid=user_id)
        return tx.fetch_one(
            "INSERT INTO webhook_endpoints (user_id, url, events, secret)"
            " SELECT :uid, :url, CAST(:events AS text[]), :secret"
            " WHERE (SELECT count(*) FROM webhook_endpoints WHERE user_id = :uid) < :cap"
            f" RETURNING {_ENDPOINT}",
            uid=user_id, url=url, events=events, secret=secret, cap=max_per_user)


def endpoints_of(*, user_id: uuid.UUID) -> list[dict[str, Any]]:
    """A user's endpoints, newest first (a handful: the count is capped)."""
    return db.fetch_all(f"SELECT {_ENDPOINT} FROM webhook_endpoints WHERE user_id = :uid ORDER BY id DESC",
                        uid=user_id)


def owns_endpoint(*, user_id: uuid.UUID, endpoint_id: uuid.UUID) -> bool:
    return bool(db.fetch_value(
        "SELECT EXISTS (SELECT 1 FROM webhook_endpoints WHERE id = :id AND user_id = :uid)", id=endpoint_id,
        uid=user_id))


def delete_endpoint(*, user_id: uuid.UUID, endpoint_id: uuid.UUID) -> bool:
    """Its deliveries and their attempts go with it; a retry still queued finds nothing and does nothing."""
    return db.execute("DELETE FROM webhook_endpoints WHERE id = :id AND user_id = :uid", id=endpoint_id,
                      uid=user_id) == 1


def create_deliveries(*, user_id: uuid.UUID, event_type: str, event_id: uuid.UUID,
                      body: str) -> list[uuid.UUID]:
    """One pending delivery of the event per endpoint of the user subscribed to its type (none for most users: one
    index lookup on webhook_endpoints_user_idx)."""
    rows = db.fetch_all(
        "INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, body)"
        " SELECT id, :eid, :type, :body FROM webhook_endpoints WHERE user_id = :uid AND :type = ANY(events)"
        " RETURNING id",
        uid=user_id, type=event_type, eid=event_id, body=body)
    return [r["id"] for r in rows]


def for_sending(*, delivery_id: uuid.UUID) -> dict[str, Any] | None:
    """What a delivery job needs: the delivery's state and body, its endpoint's URL and secret."""
    return db.fetch_one(
        "SELECT d.id, d.status, d.seq, d.attempts, d.body, e.id AS endpoint_id, e.url, e.secret"
        " FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.id = :id",
        id=delivery_id)


def record_attempt(*, delivery_id: uuid.UUID, seq: int, succeeded: bool, status_code: int | None,
                   error: str | None, duration_ms: int, response_body: str | None,
                   retry_in_seconds: float | None) -> int | None:
    """Record one attempt: the attempt row, the delivery's count and last answer, its endpoint's last status, and,
    when the attempt belongs to the delivery's current round (`seq`, still pending), the delivery's new state:
    succeeded, pending again in `retry_in_seconds`, or failed when that is None.

    Returns the delivery's attempt count when the round was current (the caller may then queue the retry, in this
    same transaction); None when a resend started another round meanwhile (the attempt is still recorded, the new
    round decides the state) or the delivery is gone with its endpoint (nothing to record)."""
    state = "succeeded" if succeeded else ("pending" if retry_in_seconds is not None else "failed")
    with db.transaction() as tx:
        # Locked: a resend of this delivery waits for this transaction, then starts its round from what it wrote.
        row = tx.fetch_one("SELECT seq, status, endpoint_id FROM webhook_deliveries WHERE id = :id FOR UPDATE",
                           id=delivery_id)
        if row is None:
            return None
        current = row["seq"] == seq and row["status"] == "pending"
        if current:
            attempts = tx.fetch_value(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, status = :state, last_status_code = :code,"
                " last_error = :error, updated_at = now(),"
                " next_attempt_at = CASE WHEN :state = 'pending'"
                "   THEN now() + make_interval(secs => CAST(:retry AS double precision)) END"
                " WHERE id = :id RETURNING attempts",
                id=delivery_id, state=state, code=status_code, error=error, retry=retry_in_seconds or 0)
        else:
            tx.execute("UPDATE webhook_deliveries SET attempts = attempts + 1, last_status_code = :code,"
                       " last_error = :error, updated_at = now() WHERE id = :id",
                       id=delivery_id, code=status_code, error=error)
        tx.execute(
            "INSERT INTO webhook_attempts (delivery_id, status_code, error, duration_ms, response_body)"
            " VALUES (:id, :code, :error, :ms, :body)",
            id=delivery_id, code=status_code, error=error, ms=duration_ms, body=response_body)
        tx.execute(
            "UPDATE webhook_endpoints SET last_status = :last, last_status_code = :code, last_error = :error,"
            " last_attempt_at = now() WHERE id = :eid",
            eid=row["endpoint_id"], last="succeeded" if succeeded else "failed", code=status_code, error=error)
        return int(attempts) if current else None


def restart(*, user_id: uuid.UUID, delivery_id: uuid.UUID) -> int | None:
    """Make the user's delivery pending again under a new round; the round's number (None: not theirs, or gone).
    The round bump retires any retry of the previous round still queued."""
    return db.fetch_value(
        "UPDATE webhook_deliveries d SET status = 'pending', seq = d.seq + 1, next_attempt_at = now(),"
        " updated_at = now() FROM webhook_endpoints e"
        " WHERE d.id = :id AND e.id = d.endpoint_id AND e.user_id = :uid RETURNING d.seq",
        id=delivery_id, uid=user_id)


def get_delivery(*, delivery_id: uuid.UUID) -> dict[str, Any] | None:
    return db.fetch_one(f"SELECT {_DELIVERY} FROM webhook_deliveries WHERE id = :id", id=delivery_id)


def deliveries_of(*, endpoint_id: uuid.UUID, before: uuid.UUID | None, limit: int) -> list[dict[str, Any]]:
    """An endpoint's deliveries newest first, older than the delivery `before` (the cursor), up to `limit`: a range
    of webhook_deliveries_endpoint_idx."""
    if before is None:
        return db.fetch_all(f"SELECT {_DELIVERY} FROM webhook_deliveries WHERE endpoint_id = :eid"
                            " ORDER BY id DESC LIMIT :limit", eid=endpoint_id, limit=limit)
    return db.fetch_all(f"SELECT {_DELIVERY} FROM webhook_deliveries WHERE endpoint_id = :eid AND id < :before"
                        " ORDER BY id DESC LIMIT :limit", eid=endpoint_id, before=before, limit=limit)


def recent_attempts(*, delivery_ids: list[uuid.UUID], per_delivery: int) -> list[dict[str, Any]]:
    """The newest `per_delivery` attempts of each delivery, newest first (each a range of
    webhook_attempts_delivery_idx)."""
    return db.fetch_all(
        "SELECT a.delivery_id, a.attempted_at, a.status_code, a.error, a.duration_ms, a.response_body"
        " FROM unnest(CAST(:ids AS uuid[])) AS d(id) CROSS JOIN LATERAL ("
        "  SELECT * FROM webhook_attempts WHERE delivery_id = d.id ORDER BY id DESC LIMIT :n) a"
        " ORDER BY a.delivery_id, a.id DESC",
        ids=[str(i) for i in delivery_ids], n=per_delivery)
