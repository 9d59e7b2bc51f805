"""Seed a realistic dataset fast, in SQL (INSERT … SELECT over generate_series), for benchmarks and plan checks.

    .venv/bin/python -m infra.bench.seed --videos 100000 --likes 1000000 ...   (DATABASE_URL or embedded)
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

from shared import db

# Rows per INSERT statement: well inside the 30 s statement and socket timeouts even on a slow, loaded CI box
# (100k comments once took over 30 s there while the rest of the suite ran: ~0.3 ms a row for the foreign-key
# checks). The same ids are picked whatever the chunking.
CHUNK_ROWS = 20_000

WORDS = ["cat", "dog", "guitar", "lesson", "travel", "cooking", "python", "review", "music", "live", "game",
         "news", "vlog", "tutorial", "unboxing", "piano", "soccer", "art", "science", "history"]


@dataclass(frozen=True)
class Scale:
    users: int = 1_000
    videos: int = 10_000
    comments: int = 50_000
    likes: int = 100_000
    subscriptions: int = 20_000
    tweets: int = 5_000

    def times(self, factor: float) -> Scale:
        return Scale(*(int(v * factor) for v in (self.users, self.videos, self.comments, self.likes,
                                                 self.subscriptions, self.tweets)))


def seed(scale: Scale, *, password_hash: str = "x", log: bool = True) -> dict[str, float]:
    """Insert `scale` rows of each kind; return seconds per table. Ids and times are spread realistically."""
    timings: dict[str, float] = {}

    def step(name: str, sql: str, *, n: int, first: int = 1, **params: object) -> None:
        """Run `sql` for g in first .. first + n - 1, in chunks: each statement stays far below the API's
        statement and socket timeouts even at --scale 100 (10M likes). g is a bigint, as the stride
        arithmetic (g * 7919 over 1M videos) passes 2^31."""
        started = time.monotonic()
        for low in range(first, first + n, CHUNK_ROWS):
            high = min(low + CHUNK_ROWS, first + n) - 1
            with db.transaction(wait_for_disk=False) as tx:
                tx.execute(sql, low=low, high=high, **params)
        timings[name] = time.monotonic() - started
        if log:
            print(f"  {name:<14} {timings[name]:6.1f}s", flush=True)

    step("users", "INSERT INTO users (username, email, fullname, password_hash, avatar)"
         " SELECT 'user' || g, 'user' || g || '@example.com', 'User ' || g, :hash,"
         " 'http://127.0.0.1/avatar/' || g || '.png' FROM generate_series(CAST(:low AS bigint), :high) g",
         n=scale.users, hash=password_hash)
    step("videos",
         "INSERT INTO videos (user_id, title, description, video_file_url, video_file_public_id, thumbnail_url,"
         " thumbnail_public_id, duration, views, is_published, processing_status, created_at, tags, trending_views)"
         " SELECT u.ids[1 + (g * 7919) % cardinality(u.ids)],"
         "  initcap(w.words[1 + g % 20]) || ' ' || w.words[1 + (g / 20) % 20] || ' #' || g,"
         "  'Episode ' || g || ' about ' || w.words[1 + (g / 400) % 20] || ' and ' || w.words[1 + (g / 7) % 20],"
         "  'http://127.0.0.1/v/' || g || '.mp4', 'videos/seed' || g, 'http://127.0.0.1/t/' || g || '.jpg',"
         "  'thumbnails/seed' || g, 30 + g % 900, (g * 2654435761) % 100000, g % 25 <> 0, 'COMPLETED',"
         "  now() - make_interval(secs => g * 37),"
         # two common tags (1 video in 20 each) and a rare one (videos / 5000 each), as tags spread on a real site
         "  ARRAY[w.words[1 + g % 20], w.words[1 + (g / 20) % 20] || 's', 'tag' || g % 5000], (g * 7919) % 1000"
         " FROM generate_series(CAST(:low AS bigint), :high) g, (SELECT array_agg(id ORDER BY id) AS ids FROM users) u,"
         " (SELECT CAST(:words AS text[]) AS words) w", n=scale.videos, words=WORDS)
    step("comments",
         "INSERT INTO comments (content, user_id, video_id, created_at)"
         " SELECT 'Comment ' || g || ': nice ' || (CAST(:words AS text[]))[1 + g % 20],"
         "  u.ids[1 + (g * 31) % cardinality(u.ids)], v.ids[1 + (g * 17) % cardinality(v.ids)],"
         "  now() - make_interval(secs => g * 11)"
         " FROM generate_series(CAST(:low AS bigint), :high) g, (SELECT array_agg(id ORDER BY id) AS ids FROM users) u,"
         " (SELECT array_agg(id ORDER BY id) AS ids FROM videos) v", n=scale.comments, words=WORDS)
    # Likes: distinct (user, video) pairs, walking users × videos with a stride so the pairs never repeat.
    step("likes",
         "INSERT INTO likes (user_id, video_id, created_at)"
         " SELECT u.ids[1 + g % cardinality(u.ids)], v.ids[1 + (g / cardinality(u.ids) + g * 13) % cardinality(v.ids)],"
         "  now() - make_interval(secs => g)"
         " FROM generate_series(CAST(:low AS bigint), :high) g, (SELECT array_agg(id ORDER BY id) AS ids FROM users) u,"
         " (SELECT array_agg(id ORDER BY id) AS ids FROM videos) v ON CONFLICT DO NOTHING", n=scale.likes, first=0)
    step("subscriptions",
         "INSERT INTO subscriptions (subscriber_id, channel_id, created_at)"
         " SELECT u.ids[1 + g % cardinality(u.ids)],"
         "  u.ids[1 + (g % cardinality(u.ids) + 1 + g / cardinality(u.ids)) % cardinality(u.ids)],"
         "  now() - make_interval(secs => g)"
         " FROM generate_series(CAST(:low AS bigint), :high) g, (SELECT array_agg(id ORDER BY id) AS ids FROM users) u"
         " ON CONFLICT DO NOTHING", n=scale.subscriptions, first=0)
    step("tweets",
         "INSERT INTO tweets (content, user_id, created_at)"
         " SELECT 'Post ' || g, u.ids[1 + g % cardinality(u.ids)], now() - make_interval(secs => g)"
         " FROM generate_series(CAST(:low AS bigint), :high) g, (SELECT array_agg(id ORDER BY id) AS ids FROM users) u",
         n=scale.tweets)
    # View buckets (issue #17): one video in 20 with 4 days and 2 hours of views, a fifth of the channels with 10 days
    # and 5 hours. A series reads one key range; these sizes only have to make its index worth reading (every bucket
    # row costs a foreign-key check, and the whole seed runs in `make test`).
    sampled = max(1, scale.videos // 20)
    for table, unit, per in (("video_views_daily", "day", 4), ("video_views_hourly", "hour", 2)):
        at = ("CAST(now() AT TIME ZONE 'UTC' AS date) - CAST(g / :sampled AS int)" if unit == "day" else
              "date_trunc('hour', now(), 'UTC') - make_interval(hours => CAST(g / :sampled AS int))")
        step(table, f"INSERT INTO {table} (video_id, {unit}, user_id, views)"
             f" SELECT v.ids[1 + (g % :sampled) * 20], {at}, v.owners[1 + (g % :sampled) * 20], 1 + g % 97"
             " FROM generate_series(CAST(:low AS bigint), :high) g,"
             " (SELECT array_agg(id ORDER BY id) AS ids, array_agg(user_id ORDER BY id) AS owners FROM videos) v"
             " WHERE (g % :sampled) * 20 < cardinality(v.ids) ON CONFLICT DO NOTHING",
             n=sampled * per, first=0, sampled=sampled)
    channels = max(1, scale.users // 5)
    for table, unit, per in (("channel_views_daily", "day", 10), ("channel_views_hourly", "hour", 5)):
        at = ("CAST(now() AT TIME ZONE 'UTC' AS date) - CAST(g / :users AS int)" if unit == "day" else
              "date_trunc('hour', now(), 'UTC') - make_interval(hours => CAST(g / :users AS int))")
        step(table, f"INSERT INTO {table} (user_id, {unit}, views)"
             f" SELECT u.ids[1 + g % :users], {at}, 1 + g % 997"
             " FROM generate_series(CAST(:low AS bigint), :high) g, (SELECT array_agg(id ORDER BY id) AS ids FROM users) u"
             " ON CONFLICT DO NOTHING", n=channels * per, first=0, users=channels)
    started = time.monotonic()
    db.execute("ANALYZE")
    timings["analyze"] = time.monotonic() - started
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the default dataset (1k users, 10k videos,"
                                                                  " 50k comments, 100k likes, 20k subscriptions)")
    args = parser.parse_args()
    from shared.migrate import migrate

    migrate()
    scale = Scale().times(args.scale)
    print(f"seeding {scale} ...")
    seed(scale)
    return 0


if __name__ == "__main__":
    sys.exit(main())
