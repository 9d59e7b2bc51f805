"""Every SQL statement that touches watch_progress: where each viewer stopped in each video."""

from __future__ import annotations

import uuid
from typing import Any

from shared import db
from shared.sql.paging import fetch_page, with_total
from shared.sql.videos import EXTRA_COLUMNS_V, OWNER_COLUMNS_U, VIDEO_COLUMNS_V, reachable_by

_MAY_OPEN = reachable_by(":viewer")
# Past the probed duration by this much is still "the end" (players report the last frame's time, containers round).
END_SLACK_SECONDS = 5
# Finished: within 5 s of the end or past 95% of the video (closing credits), whichever comes first, but never before
# 90% of it (a 4 s clip is not finished at its first frame).
_FINISHED = ("(v.duration > 0 AND CAST(:pos AS float8) >= greatest(least(v.duration - 5, v.duration * 0.95),"
             " v.duration * 0.9))")


def record(*, viewer_id: uuid.UUID, video_id: uuid.UUID, position: float, interval_seconds: int) -> dict[str, Any]:
    """Store the viewer's position in one statement (one round trip), unless one was written for this pair within
    `interval_seconds` (the throttle is the UPSERT's own WHERE: a throttled report costs an index probe, no write);
    the one report that first marks the video finished always goes through, so the end of a video is never lost.

    Returns `found` (the video exists and the viewer may open it: reachable_by), `duration`, `too_far` (a position
    past the end: nothing written), `saved`, and the position now stored (`position_seconds`, `position_finished`:
    the new one when saved, else the one kept).
    """
    row = db.fetch_one(
        f"WITH target AS (SELECT v.id, v.duration, {_FINISHED} AS finished,"
        "  (v.duration > 0 AND CAST(:pos AS float8) > v.duration + :slack) AS too_far"
        f" FROM videos v WHERE v.id = :video AND {_MAY_OPEN}"
        "), up AS ("
        " INSERT INTO watch_progress AS p (user_id, video_id, position_seconds, finished, updated_at)"
        " SELECT :viewer, t.id, CAST(:pos AS float8), t.finished, statement_timestamp() FROM target t"
        " WHERE NOT t.too_far"
        " ON CONFLICT (user_id, video_id) DO UPDATE SET position_seconds = EXCLUDED.position_seconds,"
        "  finished = EXCLUDED.finished, updated_at = EXCLUDED.updated_at"
        " WHERE p.updated_at <= statement_timestamp() - make_interval(secs => :interval)"
        "  OR (EXCLUDED.finished AND NOT p.finished)"
        " RETURNING position_seconds, finished"
        ")"
        # `kept` reads the snapshot from before this statement: the position stored when the write was throttled
        " SELECT t.id IS NOT NULL AS found, t.duration, coalesce(t.too_far, false) AS too_far,"
        "  up.position_seconds IS NOT NULL AS saved,"
        "  coalesce(up.position_seconds, kept.position_seconds) AS position_seconds,"
        "  coalesce(up.finished, kept.finished) AS position_finished"
        " FROM (SELECT 1) one LEFT JOIN target t ON true LEFT JOIN up ON true"
        " LEFT JOIN watch_progress kept ON kept.user_id = :viewer AND kept.video_id = :video",
        viewer=viewer_id, video=video_id, pos=position, slack=END_SLACK_SECONDS, interval=interval_seconds)
    assert row is not None  # `one` is one row
    return row


_CONTINUE_WHERE = f"p.user_id = :viewer AND NOT p.finished AND p.position_seconds > 0 AND {_MAY_OPEN}"
_COUNT_CONTINUE = f"SELECT count(*) FROM watch_progress p JOIN videos v ON v.id = p.video_id WHERE {_CONTINUE_WHERE}"


def continue_watching(*, viewer_id: uuid.UUID, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """The viewer's videos started and not finished, the most recently watched first (watch_progress_continue_idx),
    and how many there are; another user's video that is now private or taken down is left out."""
    return fetch_page(
        f"SELECT {VIDEO_COLUMNS_V}, {EXTRA_COLUMNS_V}, {OWNER_COLUMNS_U}, {with_total(_COUNT_CONTINUE)},"
        " p.position_seconds, p.finished AS position_finished"
        " FROM watch_progress p JOIN videos v ON v.id = p.video_id JOIN users u ON u.id = v.user_id"
        f" WHERE {_CONTINUE_WHERE}"
        " ORDER BY p.updated_at DESC, p.video_id DESC LIMIT :limit OFFSET :offset",
        _COUNT_CONTINUE, viewer=viewer_id, limit=limit, offset=offset,
    )
