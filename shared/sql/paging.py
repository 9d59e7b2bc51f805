"""A list's page and its total from one statement (one snapshot, one round trip), the way the feed does it: the
page's own SQL carries `(<count>) AS total_count`, an uncorrelated scalar subquery PostgreSQL computes once, from
the same index the page is read through."""

from __future__ import annotations

import re
from typing import Any

from shared import db

TOTAL = "total_count"
_PARAM = re.compile(r"(?<!:):(\w+)")  # `:name`, not a `::type` cast


def with_total(count_sql: str) -> str:
    """The select-list item that puts the total on every row of a page."""
    return f"({count_sql}) AS {TOTAL}"


def fetch_page(sql: str, count_sql: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """(rows, total) of a page whose `sql` selects `with_total(count_sql)`. A page past the end has no row to carry
    the total: then (and only then, and not for a first page, which is empty only when the total is 0) the count
    runs alone."""
    rows = db.fetch_all(sql, **params)
    if rows:
        total = int(rows[0][TOTAL])
        for row in rows:
            del row[TOTAL]
        return rows, total
    if not params.get("offset"):
        return [], 0
    wanted = set(_PARAM.findall(count_sql))
    return [], int(db.fetch_value(count_sql, **{name: value for name, value in params.items() if name in wanted}))
