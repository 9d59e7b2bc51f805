"""Every SQL statement that touches likes (one sparse target column per kind: video, comment or tweet)."""

from __future__ import annotations

import uuid
from typing import Any

from shared import db
from shared.sql.paging import fetch_page, with_total
from shared.sql.videos import EXTRA_COLUMNS_V, OWNER_COLUMNS_U, VIDEO_COLUMNS_V, reachable_by

TARGET_COLUMNS = {"video": "video_id", "comment": "comment_id", "tweet": "tweet_id"}
_LOCK_NAMESPACE = 0x4C696B65  # "Like": advisory-lock namespace for toggles


def toggle(*, user_id: uuid.UUID, target: str, target_id: uuid.UUID) -> bool:
    """Flip the caller's like on a target; return whether it is liked now.

    A transaction-level advisory lock on (user, target) serialises concurrent toggles of the same pair
    (and only those): each one flips the stored state exactly once and reports what it left behind.
    """
    column = TARGET_COLUMNS[target]  # a column name from the fixed map, never from input
    with db.transaction() as tx:
        tx.execute("SELECT pg_advisory_xact_lock(:ns, hashtext(:key))", ns=_LOCK_NAMESPACE,
                   key=f"{user_id}:{target}:{target_id}")
        removed = tx.execute(f"DELETE FROM likes WHERE user_id = :uid AND {column} = :tid", uid=user_id, tid=target_id)
        if removed:
            return False
        tx.execute(f"INSERT INTO likes (user_id, {column}) VALUES (:uid, :tid)", uid=user_id, tid=target_id)
        return True


# The caller's own list: what they may open (someone else's unlisted video they liked included).
_MAY_OPEN = reachable_by(":uid")
_COUNT_LIKED = ("SELECT count(*) FROM likes l JOIN videos v ON v.id = l.video_id"
                f" WHERE l.user_id = :uid AND l.video_id IS NOT NULL AND {_MAY_OPEN}")


def liked_videos(*, user_id: uuid.UUID, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Newest like first, and how many there are; another user's video that is now private is hidden."""
    return fetch_page(
        f"SELECT {VIDEO_COLUMNS_V}, {EXTRA_COLUMNS_V}, {OWNER_COLUMNS_U}, {with_total(_COUNT_LIKED)}"
        " FROM likes l JOIN videos v ON v.id = l.video_id JOIN users u ON u.id = v.user_id"
        f" WHERE l.user_id = :uid AND l.video_id IS NOT NULL AND {_MAY_OPEN}"
        " ORDER BY l.created_at DESC, l.id DESC LIMIT :limit OFFSET :offset",
        _COUNT_LIKED, uid=user_id, limit=limit, offset=offset)
