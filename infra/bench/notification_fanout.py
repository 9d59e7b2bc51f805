"""Time the fan-out of a new public video to a channel's subscribers (issue #15, point 4): from the commit that makes
the video public to the commit of the last subscriber's `video.published` notification.

The channel, its subscribers and their subscriptions are seeded in SQL (INSERT ... SELECT over generate_series); the
video is made public as the API does it (its privacy written and the fan-out queued in one transaction), then the job
worker's own loop (shared.jobs.run_one) runs the fan-out's chunk jobs until none is left.

    .venv/bin/python -m infra.bench.notification_fanout [--subscribers 100000]   (DATABASE_URL or embedded)
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from dataclasses import dataclass

from shared import db, jobs
from shared.services import notifications

_SEED_CHUNK = 20_000  # rows per statement, as infra.bench.seed does


@dataclass(frozen=True)
class FanOut:
    subscribers: int
    notified: int
    jobs: int
    seconds: float  # publish committed -> last subscriber's notification committed

    def __str__(self) -> str:
        rate = self.notified / self.seconds if self.seconds else 0.0
        return (f"fan-out to {self.subscribers:,} subscribers: {self.notified:,} notifications in {self.jobs} jobs, "
                f"{self.seconds:.2f} s from publish to the last one ({rate:,.0f}/s)")


def seed_channel(subscribers: int) -> tuple[uuid.UUID, uuid.UUID]:
    """A channel with `subscribers` subscribers and one private video of its own: (channel id, video id)."""
    tag = uuid.uuid4().hex[:8]  # unique names, whatever else the database holds
    channel = db.fetch_value(
        "INSERT INTO users (username, email, fullname, password_hash) VALUES (:u, :e, 'Big Channel', 'x') RETURNING id",
        u=f"chan{tag}", e=f"chan{tag}@example.com")
    for low in range(1, subscribers + 1, _SEED_CHUNK):
        high = min(low + _SEED_CHUNK, subscribers + 1) - 1
        with db.transaction(wait_for_disk=False) as tx:
            tx.execute(
                "WITH fans AS (INSERT INTO users (username, email, fullname, password_hash)"
                "  SELECT 'fan' || :tag || '_' || g, 'fan' || :tag || '_' || g || '@example.com', 'Fan ' || g, 'x'"
                "  FROM generate_series(CAST(:low AS bigint), :high) g RETURNING id)"
                " INSERT INTO subscriptions (subscriber_id, channel_id) SELECT id, :channel FROM fans",
                tag=tag, low=low, high=high, channel=channel)
    video = db.fetch_value(
        "INSERT INTO videos (user_id, title, description, video_file_url, video_file_public_id, thumbnail_url,"
        " thumbnail_public_id, duration, is_published, processing_status)"
        " VALUES (:c, 'Premiere', 'd', 'http://127.0.0.1/v.mp4', :vp, 'http://127.0.0.1/t.jpg', :tp, 60, false,"
        " 'COMPLETED') RETURNING id", c=channel, vp=f"videos/{tag}", tp=f"thumbnails/{tag}")
    db.execute("ANALYZE subscriptions")
    return channel, video


def measure(subscribers: int) -> FanOut:
    """Seed a channel of `subscribers`, publish its video, run the fan-out; the figures."""
    _, video = seed_channel(subscribers)
    before = int(db.fetch_value("SELECT count(*) FROM jobs WHERE kind = :k", k=notifications.FANOUT_JOB))
    with db.transaction():  # as PATCH /videos/{id} {privacy: public} does
        db.execute("UPDATE videos SET privacy = 'public' WHERE id = :id", id=video)
        notifications.visibility_changed(video, was_public=False, is_public=True)
    started = time.monotonic()
    while jobs.run_one(kinds=[notifications.FANOUT_JOB]):
        pass
    seconds = time.monotonic() - started
    notified = int(db.fetch_value("SELECT count(*) FROM notifications WHERE video_id = :v AND type = :t", v=video,
                                  t=notifications.VIDEO_PUBLISHED))
    ran = int(db.fetch_value("SELECT count(*) FROM jobs WHERE kind = :k", k=notifications.FANOUT_JOB)) - before
    return FanOut(subscribers=subscribers, notified=notified, jobs=ran, seconds=seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=100_000)
    args = parser.parse_args()
    from shared.migrate import migrate

    migrate()
    result = measure(args.subscribers)
    print(result)
    return 0 if result.notified == args.subscribers else 1


if __name__ == "__main__":
    sys.exit(main())
