"""Keeping the trending sort (issue #15, point 7) and the view buckets (issue #17, point 5) current without a request
ever summing views: a counted view adds itself to videos.trending_views and to its buckets at once (the statement that
counts it); this sweep takes each hour off trending_views once it is more than 7 days old and prunes hourly buckets
older than 15 days (shared/sql/view_stats.py).

How fresh `sortBy=trending` is: a view counts the moment it is counted; it stops counting between 7 days and 7 days +
1 hour + one sweep period later (the window moves by whole UTC hours). The feed's cached first page (kept
feed_cache_ttl_seconds) may lag a counted view by that long, as it does for sortBy=views; a moved window retires it.
The sweep runs on every worker's housekeeping pass (shared.jobs, throttled here to once per SWEEP_SECONDS per process)
and, on serverless, on the one-minute schedule (functions/jobs.py), so an hour leaves the window within about a minute
of its time. Concurrent sweeps on other processes or nodes wait for each other on the window's row and never take an
hour off twice."""

from __future__ import annotations

import logging

from shared import cached, jobs
from shared.sql import view_stats as view_stats_sql

log = logging.getLogger(__name__)
SWEEP_SECONDS = 60.0
PACE = jobs.Every(SWEEP_SECONDS)


def advance() -> int:
    """Move the trending window to now (catching up on every hour missed) and prune old hourly buckets; the hours
    the window moved."""
    moved = 0
    while True:
        step = view_stats_sql.advance_trending_window()
        moved += step
        if step == 0:
            break
    while view_stats_sql.prune_hourly():
        pass
    if moved:
        cached.forget_feed()  # the cached first pages sorted by trending (or showing its counts) are stale now
        log.info("trending window moved %d hour(s)", moved)
    return moved


def sweep() -> None:
    """The housekeeping entry: at most once per SWEEP_SECONDS in this process."""
    if PACE.due():
        advance()
