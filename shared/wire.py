"""JSON on the wire: one encoder (UUIDs, timestamps, decimals, models) and the original's timestamp format.

orjson (in C) encodes and decodes: the stdlib's json was a tenth of a listed page's CPU. Datetimes pass through
to `_json_default`, because the wire format is the original's (milliseconds, Z), not orjson's own RFC 3339."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

import orjson


def iso_timestamp(value: dt.datetime) -> str:
    """ISO-8601 UTC with milliseconds, as the original serialises: 2026-06-14T08:42:08.123Z."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    elif value.utcoffset():
        value = value.astimezone(dt.UTC)
    # isoformat is C; strftime plus an f-string cost a third more, twice per listed row.
    return value.isoformat(timespec="milliseconds")[:23] + "Z"


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return iso_timestamp(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", by_alias=True)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def to_json_bytes(value: Any) -> bytes:
    """Compact UTF-8 JSON."""
    return orjson.dumps(value, default=_json_default, option=_OPTIONS)


def to_json(value: Any) -> str:
    return to_json_bytes(value).decode()


def from_json(text: str | bytes) -> Any:
    """Parse JSON (raises ValueError on anything else)."""
    return orjson.loads(text)


