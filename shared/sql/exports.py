"""Every SQL statement that touches data exports (the data_exports table), and the reads of one user's data that an
export's zip is made of."""

from __future__ import annotations

import uuid
from typing import Any

from shared import db
from shared.sql.videos import reachable_by

_COLUMNS = ("id, user_id, state, storage, media_node, public_id, size_bytes, error, created_at, ready_at, expires_at,"
            " expires_at IS NOT NULL AND expires_at <= now() AS expired")


# ------------------------------------------------------------------------------------ the export rows


def start(*, user_id: uuid.UUID) -> tuple[uuid.UUID, bool]:
    """A new pending export (True), or the user's pending one when there is one already (False). The partial unique
    index decides between two racing requests: the loser's INSERT does nothing and it reads the winner's row."""
    while True:
        created = db.fetch_value(
            "INSERT INTO data_exports (user_id) VALUES (:uid)"
            " ON CONFLICT (user_id) WHERE state = 'pending' DO NOTHING RETURNING id", uid=user_id)
        if created is not None:
            return created, True
        pending = db.fetch_value("SELECT id FROM data_exports WHERE user_id = :uid AND state = 'pending'", uid=user_id)
        if pending is not None:  # else it finished between the two statements: try again
            return pending, False


def get(*, export_id: uuid.UUID) -> dict[str, Any] | None:
    return db.fetch_one(f"SELECT {_COLUMNS} FROM data_exports WHERE id = :id", id=export_id)


def get_for_user(*, export_id: uuid.UUID, user_id: uuid.UUID) -> dict[str, Any] | None:
    """The export when it is this user's: another user's is as absent as one that never was."""
    return db.fetch_one(f"SELECT {_COLUMNS} FROM data_exports WHERE id = :id AND user_id = :uid",
                        id=export_id, uid=user_id)


def mark_ready(*, export_id: uuid.UUID, storage: str, media_node: str | None, public_id: str, size_bytes: int,
               ttl_seconds: int) -> dict[str, Any] | None:
    """The zip is stored: ready until now + ttl. None when the export is gone (its account was deleted meanwhile)."""
    return db.fetch_one(
        "UPDATE data_exports SET state = 'ready', storage = :storage, media_node = :node, public_id = :pid,"
        " size_bytes = :size, ready_at = now(), expires_at = now() + make_interval(secs => :ttl)"
        f" WHERE id = :id AND state = 'pending' RETURNING {_COLUMNS}",
        id=export_id, storage=storage, node=media_node, pid=public_id, size=size_bytes, ttl=ttl_seconds)


def mark_failed(*, export_id: uuid.UUID, error: str, ttl_seconds: int) -> None:
    """The build gave up: the row says why, and goes with the sweep like a ready one."""
    db.execute(
        "UPDATE data_exports SET state = 'failed', error = :error, expires_at = now() + make_interval(secs => :ttl)"
        " WHERE id = :id AND state = 'pending'",
        id=export_id, error=error[:500], ttl=ttl_seconds)


def take_expired(*, limit: int = 100) -> list[dict[str, Any]]:
    """Delete up to `limit` expired exports and answer where their zips are (inside the caller's transaction, which
    records their deletion): SKIP LOCKED, so two sweeping workers never take the same row."""
    return db.fetch_all(
        "DELETE FROM data_exports WHERE id IN (SELECT id FROM data_exports WHERE expires_at <= now()"
        " ORDER BY expires_at LIMIT :limit FOR UPDATE SKIP LOCKED) RETURNING id, public_id, storage, media_node",
        limit=limit)


# ------------------------------------------------------------------------------------ what a zip holds


def profile(*, user_id: uuid.UUID) -> dict[str, Any] | None:
    return db.fetch_one(
        "SELECT id, username, email, fullname, avatar, avatar_public_id, cover_image, cover_image_public_id,"
        " email_verified, created_at, updated_at FROM users WHERE id = :id", id=user_id)


def videos(*, user_id: uuid.UUID) -> list[dict[str, Any]]:
    return db.fetch_all(
        "SELECT id, title, description, privacy, publish_at, is_published, comment_policy, duration, width, height,"
        " views, video_mime, video_file_size, video_file_url, video_file_public_id, thumbnail_url,"
        " thumbnail_public_id, processing_status, created_at, updated_at,"
        " (SELECT count(*) FROM likes l WHERE l.video_id = v.id) AS likes_count"
        " FROM videos v WHERE user_id = :id ORDER BY created_at, id", id=user_id)


def comments(*, user_id: uuid.UUID) -> list[dict[str, Any]]:
    return db.fetch_all(
        "SELECT id, video_id, parent_id, content, status, created_at, updated_at FROM comments"
        " WHERE user_id = :id AND deleted_at IS NULL ORDER BY created_at, id", id=user_id)


def tweets(*, user_id: uuid.UUID) -> list[dict[str, Any]]:
    return db.fetch_all("SELECT id, content, created_at, updated_at FROM tweets WHERE user_id = :id"
                        " ORDER BY created_at, id", id=user_id)


def playlists(*, user_id: uuid.UUID) -> list[dict[str, Any]]:
    """Each playlist with its videos in order (ids, and titles of those the user may still open)."""
    return db.fetch_all(
        "SELECT p.id, p.name, p.description, p.created_at, p.updated_at,"
        " coalesce((SELECT json_agg(json_build_object('videoId', pv.video_id, 'addedAt', pv.added_at,"
        f"   'title', CASE WHEN {reachable_by(':id')} THEN v.title END)"
        "   ORDER BY pv.added_at, pv.id)"
        "  FROM playlist_videos pv JOIN videos v ON v.id = pv.video_id WHERE pv.playlist_id = p.id), '[]') AS videos"
        " FROM playlists p WHERE p.user_id = :id ORDER BY p.created_at, p.id", id=user_id)


# Someone else's video the user may no longer open (private now, or taken down): its id stays in the user's own
# lists, its title is not theirs to take. The rule is the one every list applies (shared/sql/videos.py).
_TITLE = f"CASE WHEN {reachable_by(':id')} THEN v.title END AS title"


def history(*, user_id: uuid.UUID) -> list[dict[str, Any]]:
    return db.fetch_all(
        f"SELECT h.video_id, {_TITLE}, h.watched_at FROM watch_history h JOIN videos v ON v.id = h.video_id"
        " WHERE h.user_id = :id ORDER BY h.watched_at DESC, h.id DESC", id=user_id)


def likes(*, user_id: uuid.UUID) -> list[dict[str, Any]]:
    return db.fetch_all(
        "SELECT CASE WHEN l.video_id IS NOT NULL THEN 'video' WHEN l.comment_id IS NOT NULL THEN 'comment'"
        " ELSE 'tweet' END AS target, coalesce(l.video_id, l.comment_id, l.tweet_id) AS target_id, l.created_at"
        " FROM likes l WHERE l.user_id = :id ORDER BY l.created_at, l.id", id=user_id)


def subscriptions(*, user_id: uuid.UUID) -> list[dict[str, Any]]:
    """The channels the user subscribes to (the subscribers of their own channel are other people's data: only their
    count goes in the profile)."""
    return db.fetch_all(
        "SELECT s.channel_id, u.username, s.created_at FROM subscriptions s JOIN users u ON u.id = s.channel_id"
        " WHERE s.subscriber_id = :id ORDER BY s.created_at, s.id", id=user_id)


def subscriber_count(*, user_id: uuid.UUID) -> int:
    return int(db.fetch_value("SELECT count(*) FROM subscriptions WHERE channel_id = :id", id=user_id) or 0)
