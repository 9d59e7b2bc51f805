"""EXPLAIN the hot queries as the API runs them, on a seeded database, and report sequential scans.

Each hot path is called through its real `shared.sql` function while the statements it runs are
recorded; every recorded SELECT is then EXPLAINed with the same parameters.

    .venv/bin/python -m infra.bench.explain_hot_queries [--scale 10]   # default dataset x10
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from shared import db
from shared.sql import comments as comments_sql
from shared.sql import dashboard as dashboard_sql
from shared.sql import likes as likes_sql
from shared.sql import subscriptions as subscriptions_sql
from shared.sql import tweets as tweets_sql
from shared.sql import users as users_sql
from shared.sql import videos as videos_sql
from shared.sql import view_stats as view_stats_sql

BIG_TABLES = {"videos", "likes", "comments", "subscriptions", "users", "watch_history", "tweets", "video_views_daily",
              "video_views_hourly", "channel_views_daily", "channel_views_hourly"}


@contextmanager
def recording() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Record every statement run through shared.db while the block runs."""
    statements: list[tuple[str, dict[str, Any]]] = []
    original = db.Tx._run

    def run(self: db.Tx, sql: str, params: dict[str, Any]) -> Any:
        statements.append((sql, dict(params)))
        return original(self, sql, params)

    db.Tx._run = run  # type: ignore[method-assign]
    try:
        yield statements
    finally:
        db.Tx._run = original  # type: ignore[method-assign]


def _scans(plan: dict[str, Any], out: list[tuple[str, str, str]], relation: str = "") -> None:
    """Collect (table, node type, index); a bitmap index scan is credited to its heap scan's table."""
    table = plan.get("Relation Name", relation if plan["Node Type"] == "Bitmap Index Scan" else "")
    if table:
        out.append((table, plan["Node Type"], plan.get("Index Name", "")))
    for child in plan.get("Plans", []):
        _scans(child, out, plan.get("Relation Name", ""))


def plan_of(call: Callable[[], Any]) -> list[tuple[str, str, str]]:
    """(table, scan type, index) of every relation the SELECTs of `call` read."""
    with recording() as statements:
        call()
    scans: list[tuple[str, str, str]] = []
    for sql, params in statements:
        if not sql.lstrip().upper().startswith(("SELECT", "WITH")) or "pg_advisory" in sql:
            continue
        with db.transaction() as tx:
            if "search @@" in sql and params.get("q"):
                tx.execute("SET LOCAL enable_seqscan = off")  # as list_published does for a search
            raw = tx.fetch_value("EXPLAIN (FORMAT JSON) " + sql, **params)
        plan = raw if isinstance(raw, list) else json.loads(raw)
        _scans(plan[0]["Plan"], scans)
    return scans


HOT_QUERIES = ("feed (page 1, newest)", "feed sorted by views", "feed search", "video detail", "comments page",
               "channel profile counts", "dashboard stats", "dashboard videos", "liked videos", "subscribers",
               "subscribed channels", "user tweets", "subscriptions feed", "subscriptions feed (next page)",
               "comment replies", "held comments", "feed by a rare tag", "feed by a common tag, by views",
               "feed sorted by trending", "views by day: channel", "views by day: video", "views by hour: channel",
               "views by hour: video")


def hot_queries() -> dict[str, Callable[[], Any]]:
    """The hot read paths, aimed at the busiest rows of the seeded data."""
    busiest_video = db.fetch_value("SELECT video_id FROM comments GROUP BY video_id ORDER BY count(*) DESC LIMIT 1")
    busiest_channel = db.fetch_one(
        "SELECT u.id, u.username FROM users u JOIN subscriptions s ON s.channel_id = u.id"
        " GROUP BY u.id ORDER BY count(*) DESC LIMIT 1")
    creator = db.fetch_value("SELECT user_id FROM videos GROUP BY user_id ORDER BY count(*) DESC LIMIT 1")
    liker = db.fetch_value("SELECT user_id FROM likes GROUP BY user_id ORDER BY count(*) DESC LIMIT 1")
    viewer = db.fetch_value("SELECT id FROM users LIMIT 1")
    follower = db.fetch_value("SELECT subscriber_id FROM subscriptions GROUP BY subscriber_id"
                              " ORDER BY count(*) DESC LIMIT 1")
    busiest_comment = db.fetch_value("SELECT id FROM comments WHERE video_id = :v ORDER BY created_at DESC LIMIT 1",
                                     v=busiest_video)
    assert busiest_video and busiest_channel and creator and liker and follower
    page = {"limit": 10, "offset": 0}
    # The feed's second page starts after the first page's last video (the cursor's (created_at, id)).
    first = subscriptions_sql.feed(subscriber_id=follower, limit=20, after=None)
    after = (first[-1]["created_at"], first[-1]["id"]) if first else None
    charted = db.fetch_value("SELECT video_id FROM video_views_hourly ORDER BY views DESC LIMIT 1")
    today = db.fetch_value("SELECT CAST(now() AT TIME ZONE 'UTC' AS date)")
    hour = db.fetch_value("SELECT date_trunc('hour', now(), 'UTC')")
    year, two_days = {"start": today - timedelta(days=365), "end": today}, {"start": hour - timedelta(hours=47),
                                                                            "end": hour + timedelta(hours=1)}
    return {
        "feed (page 1, newest)": lambda: videos_sql.list_published(sort_by="createdAt", ascending=False,
                                                                   user_id=None, query=None, **page),
        "feed sorted by views": lambda: videos_sql.list_published(sort_by="views", ascending=False, user_id=None,
                                                                  query=None, **page),
        "feed search": lambda: videos_sql.list_published(sort_by="createdAt", ascending=False, user_id=None,
                                                         query="guitar", **page),
        "video detail": lambda: (videos_sql.get(video_id=busiest_video),
                                 users_sql.channel_stats(user_id=videos_sql.get(video_id=busiest_video)["user_id"])),
        # As a signed-in reader asks (the lists hide the comments and posts of users the reader blocks).
        "comments page": lambda: comments_sql.list_for_video(video_id=busiest_video, viewer_id=viewer, **page),
        "channel profile counts": lambda: (users_sql.id_by_username(username=busiest_channel["username"]),
                                           users_sql.channel_stats(user_id=busiest_channel["id"]),
                                           subscriptions_sql.is_subscribed(subscriber_id=viewer,
                                                                           channel_id=busiest_channel["id"])),
        "dashboard stats": lambda: dashboard_sql.stats(user_id=creator),
        "dashboard videos": lambda: dashboard_sql.videos(user_id=creator, **page),
        "liked videos": lambda: likes_sql.liked_videos(user_id=liker, **page),
        "subscribers": lambda: subscriptions_sql.subscribers_of(channel_id=busiest_channel["id"], **page),
        "subscribed channels": lambda: subscriptions_sql.channels_of(subscriber_id=viewer, **page),
        "user tweets": lambda: tweets_sql.list_for_user(user_id=creator, viewer_id=viewer, **page),
        "subscriptions feed": lambda: subscriptions_sql.feed(subscriber_id=follower, limit=21, after=None),
        "subscriptions feed (next page)": lambda: subscriptions_sql.feed(subscriber_id=follower, limit=21,
                                                                         after=after),
        "comment replies": lambda: comments_sql.list_replies(parent_id=busiest_comment, viewer_id=viewer, **page),
        "held comments": lambda: comments_sql.list_held(video_id=busiest_video, **page),
        # Issue #15, point 7: a tag 1 video in 5,000 has (GIN videos_tags_idx), one 1 in 20 has, sorted by views.
        "feed by a rare tag": lambda: videos_sql.list_published(sort_by="createdAt", ascending=False, user_id=None,
                                                                query=None, tag="tag42", **page),
        "feed by a common tag, by views": lambda: videos_sql.list_published(sort_by="views", ascending=False,
                                                                            user_id=None, query=None, tag="guitar",
                                                                            **page),
        "feed sorted by trending": lambda: videos_sql.list_published(sort_by="trending", ascending=False,
                                                                     user_id=None, query=None, **page),
        # Issue #17, point 5: a year by day and 48 hours by hour, for the busiest channel and a charted video.
        "views by day: channel": lambda: view_stats_sql.daily(user_id=creator, **year),
        "views by day: video": lambda: view_stats_sql.daily(video_id=charted, **year),
        "views by hour: channel": lambda: view_stats_sql.hourly(user_id=creator, **two_days),
        "views by hour: video": lambda: view_stats_sql.hourly(video_id=charted, **two_days),
    }


def report() -> tuple[list[str], bool]:
    lines, clean = [], True
    for name, call in hot_queries().items():
        scans = plan_of(call)
        seq = sorted({table for table, node, _ in scans if node == "Seq Scan" and table in BIG_TABLES})
        clean &= not seq
        used = sorted({index for _, _, index in scans if index})
        lines.append(f"{name:<24} {'SEQ SCAN on ' + ', '.join(seq) if seq else 'no seq scan':<28} {', '.join(used)}")
    return lines, clean


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=10.0)
    args = parser.parse_args()
    from infra.bench.seed import Scale, seed
    from shared.migrate import migrate

    migrate()
    if not db.fetch_value("SELECT count(*) FROM videos"):
        scale = Scale().times(args.scale)
        print(f"seeding {scale} ...")
        seed(scale)
    counts = {t: db.fetch_value(f"SELECT count(*) FROM {t}") for t in ("users", "videos", "comments", "likes",
                                                                         "subscriptions")}
    print("rows: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    lines, clean = report()
    print("\n".join(lines))
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
