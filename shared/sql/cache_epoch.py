"""Every SQL statement about the cache epoch (the durable record that some cache invalidation was lost)."""

from __future__ import annotations

from shared import db


def current() -> int:
    """The epoch now: 0 until the first lost invalidation (a fresh sequence has no value yet)."""
    return int(db.fetch_value("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM cache_epoch"))


def bump() -> int:
    """Raise the epoch; the new value. Not transactional: it stays raised even if the caller's work rolls back."""
    return int(db.fetch_value("SELECT nextval('cache_epoch')"))
