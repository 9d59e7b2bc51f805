"""Every SQL statement of a media move (shared.services.media_move): its bookkeeping (`media_moves`, one row per
object copied), the rows whose media it moves, and their rewrite."""

from __future__ import annotations

import uuid
from typing import Any

from shared import db

_MOVE_COLUMNS = ("source_id, kind, status, target_id, target_url, target_poster_id, sha256, bytes, files,"
                 " verified_at, source_removed_at")
# The columns of users holding a stored image, and the kind of file each one holds.
IMAGE_COLUMNS = {"avatar": "avatar", "cover_image": "coverImage"}


# ------------------------------------------------------------------ bookkeeping


def get(*, source_store: str, source_id: str, target_store: str) -> dict[str, Any] | None:
    return db.fetch_one(
        f"SELECT {_MOVE_COLUMNS} FROM media_moves"
        " WHERE source_store = :source AND source_id = :id AND target_store = :target",
        source=source_store, id=source_id, target=target_store)


def begin(*, source_store: str, source_id: str, target_store: str, kind: str) -> None:
    """A copy starts (again): the row says so until the copy is recorded."""
    db.execute(
        "INSERT INTO media_moves (source_store, source_id, target_store, kind) VALUES (:source, :id, :target, :kind)"
        " ON CONFLICT (source_store, source_id, target_store) DO UPDATE SET status = 'copying', target_id = NULL,"
        " target_url = NULL, target_poster_id = NULL, sha256 = NULL, bytes = NULL, files = 1, started_at = now(),"
        " verified_at = NULL",
        source=source_store, id=source_id, target=target_store, kind=kind)


def record_copy(*, source_store: str, source_id: str, target_store: str, target_id: str, target_url: str | None,
                target_poster_id: str | None, sha256: str, size: int, files: int) -> None:
    """The copy is stored (not yet verified): a later run knows the object's name and verifies it before use."""
    db.execute(
        "UPDATE media_moves SET status = 'copied', target_id = :tid, target_url = :url, target_poster_id = :poster,"
        " sha256 = :sha, bytes = :size, files = :files"
        " WHERE source_store = :source AND source_id = :id AND target_store = :target",
        source=source_store, id=source_id, target=target_store, tid=target_id, url=target_url,
        poster=target_poster_id, sha=sha256, size=size, files=files)


def mark_verified(*, source_store: str, source_id: str, target_store: str) -> None:
    db.execute(
        "UPDATE media_moves SET status = 'verified', verified_at = now()"
        " WHERE source_store = :source AND source_id = :id AND target_store = :target",
        source=source_store, id=source_id, target=target_store)


def forget(*, source_store: str, source_id: str, target_store: str) -> None:
    """A copy that failed its check (and was removed from the target): as if it had never started."""
    db.execute("DELETE FROM media_moves WHERE source_store = :source AND source_id = :id AND target_store = :target",
               source=source_store, id=source_id, target=target_store)


def interrupted(*, source_store: str, target_store: str) -> int:
    """Copies an earlier run started and never recorded (killed during an upload)."""
    return int(db.fetch_value(
        "SELECT count(*) FROM media_moves WHERE source_store = :source AND target_store = :target"
        " AND status = 'copying'", source=source_store, target=target_store))


def removable(*, source_store: str, target_store: str, after: str = "", limit: int = 500) -> list[dict[str, Any]]:
    """A page (in source id order, after `after`) of the verified copies whose source file is still there and no
    row refers to any more (every reference was rewritten, or the row is gone): what --delete-local removes."""
    return db.fetch_all(
        f"SELECT {_MOVE_COLUMNS} FROM media_moves m"
        " WHERE m.source_store = :source AND m.target_store = :target AND m.status = 'verified'"
        " AND m.source_removed_at IS NULL AND m.source_id > :after"
        " AND NOT EXISTS (SELECT 1 FROM videos v WHERE v.storage = :source AND (v.video_file_public_id = m.source_id"
        "   OR v.thumbnail_public_id = m.source_id OR starts_with(v.hls_master_public_id, m.source_id || '/')))"
        " AND NOT EXISTS (SELECT 1 FROM users u WHERE u.avatar_public_id = m.source_id"
        "   OR u.cover_image_public_id = m.source_id)"
        " ORDER BY m.source_id LIMIT :limit",
        source=source_store, target=target_store, after=after, limit=limit)


def mark_removed(*, source_store: str, source_id: str, target_store: str) -> None:
    db.execute(
        "UPDATE media_moves SET source_removed_at = now()"
        " WHERE source_store = :source AND source_id = :id AND target_store = :target",
        source=source_store, id=source_id, target=target_store)


# ------------------------------------------------------------------ what is moved, and the rewrite


def videos_on(*, store: str, after: uuid.UUID | None, limit: int = 100) -> list[dict[str, Any]]:
    """A page of the videos whose media are in `store`, in id order after `after`."""
    return db.fetch_all(
        "SELECT id, is_published, video_file_public_id, video_file_url, thumbnail_public_id, thumbnail_url,"
        " hls_master_public_id, poster_public_id, media_node FROM videos"
        " WHERE storage = :store AND (CAST(:after AS uuid) IS NULL OR id > :after) ORDER BY id LIMIT :limit",
        store=store, after=after, limit=limit)


def rewrite_video(*, video_id: uuid.UUID, store: str, old: dict[str, Any], new: dict[str, Any],
                  target_store: str, media_node: str | None) -> bool:
    """Point a video at its moved media, in one statement, only if it still holds what was moved (`old`, published
    or not as it was, since its copies were told who may read them): False when it changed (or went) meanwhile, and
    nothing was written."""
    return db.execute(
        "UPDATE videos SET video_file_public_id = :vid, video_file_url = :vurl, thumbnail_public_id = :tid,"
        " thumbnail_url = :turl, hls_master_public_id = :hls, poster_public_id = :poster, storage = :target,"
        " media_node = :node"
        " WHERE id = :id AND storage = :store AND video_file_public_id = :old_vid AND thumbnail_public_id = :old_tid"
        " AND hls_master_public_id IS NOT DISTINCT FROM CAST(:old_hls AS text) AND is_published = :was_published",
        id=video_id, store=store, target=target_store, node=media_node,
        vid=new["video_file_public_id"], vurl=new["video_file_url"], tid=new["thumbnail_public_id"],
        turl=new["thumbnail_url"], hls=new["hls_master_public_id"], poster=new["poster_public_id"],
        old_vid=old["video_file_public_id"], old_tid=old["thumbnail_public_id"],
        old_hls=old["hls_master_public_id"], was_published=old["is_published"]) == 1


def users_with_images(*, after: uuid.UUID | None, limit: int = 200) -> list[dict[str, Any]]:
    """A page of the users with a stored avatar or cover image, in id order after `after`."""
    return db.fetch_all(
        "SELECT id, username, avatar, avatar_public_id, cover_image, cover_image_public_id FROM users"
        " WHERE (avatar_public_id IS NOT NULL OR cover_image_public_id IS NOT NULL)"
        " AND (CAST(:after AS uuid) IS NULL OR id > :after) ORDER BY id LIMIT :limit",
        after=after, limit=limit)


def rewrite_user_image(*, user_id: uuid.UUID, column: str, old_public_id: str, public_id: str, url: str) -> bool:
    """Point a user's avatar / cover image at its moved file, only if it still is the file moved."""
    if column not in IMAGE_COLUMNS:
        raise ValueError(column)
    return db.execute(
        f"UPDATE users SET {column} = :url, {column}_public_id = :pid WHERE id = :id AND {column}_public_id = :old",
        id=user_id, url=url, pid=public_id, old=old_public_id) == 1


def unregistered_uploads(*, store: str) -> int:
    """Direct or resumable uploads to `store` not registered yet: they stay there and expire (UPLOAD_TTL)."""
    return int(db.fetch_value(
        "SELECT count(*) FROM uploads WHERE storage = :store AND status <> 'consumed'", store=store))


def pending_cleanups(*, store: str) -> int:
    """Recorded deletions of files in `store` not done yet: only a process using that store runs them."""
    return int(db.fetch_value(
        "SELECT count(*) FROM jobs WHERE kind = 'delete_media' AND status IN ('pending', 'running')"
        " AND payload->>'storage' = :store", store=store))


def unpin_jobs(*, video_id: uuid.UUID) -> int:
    """A moved video's unfinished jobs (processing, transcoding) were pinned to the node whose disk held it: any
    worker reaches the target store, so any node may run them now."""
    return db.execute(
        "UPDATE jobs SET node = NULL WHERE payload->>'video_id' = :vid AND status IN ('pending', 'running')"
        " AND node IS NOT NULL", vid=str(video_id))
