"""Every SQL statement that touches playlists and their entries."""

from __future__ import annotations

import uuid
from typing import Any

from shared import db
from shared.sql.paging import fetch_page, with_total
from shared.sql.videos import EXTRA_COLUMNS_V, OWNER_COLUMNS_U, VIDEO_COLUMNS_V, listed_for

_COLUMNS = "id, name, description, user_id, created_at, updated_at"
_COLUMNS_P = "p.id, p.name, p.description, p.user_id, p.created_at, p.updated_at"
# A playlist's videos (and their counts) as a viewer sees them: someone else's private video is left out, and so is
# an unlisted one unless the viewer owns the playlist.
_VISIBLE = listed_for(":viewer", "p.user_id")
_VISIBLE_PV = listed_for(":viewer", "(SELECT pl.user_id FROM playlists pl WHERE pl.id = pv.playlist_id)")


def insert(*, user_id: uuid.UUID, name: str, description: str) -> dict[str, Any]:
    row = db.fetch_one(
        f"INSERT INTO playlists (user_id, name, description) VALUES (:uid, :name, :d) RETURNING {_COLUMNS}",
        uid=user_id, name=name, d=description)
    assert row is not None
    return row


def get(*, playlist_id: uuid.UUID) -> dict[str, Any] | None:
    return db.fetch_one(f"SELECT {_COLUMNS} FROM playlists WHERE id = :id", id=playlist_id)


_COUNT_FOR_USER = "SELECT count(*) FROM playlists WHERE user_id = :uid"


def list_for_user(*, user_id: uuid.UUID, viewer_id: uuid.UUID, limit: int,
                  offset: int) -> tuple[list[dict[str, Any]], int]:
    """Newest first, each with its visible video count and the first-added visible video's thumbnail, and how many
    playlists the user has."""
    return fetch_page(
        f"SELECT {_COLUMNS_P}, {with_total(_COUNT_FOR_USER)},"
        f" (SELECT count(*) FROM playlist_videos pv JOIN videos v ON v.id = pv.video_id"
        f"   WHERE pv.playlist_id = p.id AND {_VISIBLE}) AS total_videos,"
        f" (SELECT v.thumbnail_url FROM playlist_videos pv JOIN videos v ON v.id = pv.video_id"
        f"   WHERE pv.playlist_id = p.id AND {_VISIBLE} ORDER BY pv.added_at, pv.id LIMIT 1) AS thumbnail"
        " FROM playlists p WHERE p.user_id = :uid ORDER BY p.created_at DESC, p.id DESC LIMIT :limit OFFSET :offset",
        _COUNT_FOR_USER, uid=user_id, viewer=viewer_id, limit=limit, offset=offset)


def get_with_owner_and_totals(*, playlist_id: uuid.UUID, viewer_id: uuid.UUID) -> dict[str, Any] | None:
    return db.fetch_one(
        f"SELECT {_COLUMNS_P}, u.username AS owner_username, u.fullname AS owner_fullname, u.avatar AS owner_avatar,"
        f" (SELECT count(*) FROM playlist_videos pv JOIN videos v ON v.id = pv.video_id"
        f"   WHERE pv.playlist_id = p.id AND {_VISIBLE}) AS total_videos,"
        f" (SELECT coalesce(sum(v.views), 0) FROM playlist_videos pv JOIN videos v ON v.id = pv.video_id"
        f"   WHERE pv.playlist_id = p.id AND {_VISIBLE}) AS total_views"
        " FROM playlists p JOIN users u ON u.id = p.user_id WHERE p.id = :id",
        id=playlist_id, viewer=viewer_id)


def videos_of(*, playlist_id: uuid.UUID, viewer_id: uuid.UUID, limit: int, offset: int) -> list[dict[str, Any]]:
    """In the order they were added."""
    return db.fetch_all(
        f"SELECT {VIDEO_COLUMNS_V}, {EXTRA_COLUMNS_V}, {OWNER_COLUMNS_U}"
        " FROM playlist_videos pv JOIN videos v ON v.id = pv.video_id JOIN users u ON u.id = v.user_id"
        f" WHERE pv.playlist_id = :id AND {_VISIBLE_PV} ORDER BY pv.added_at, pv.id LIMIT :limit OFFSET :offset",
        id=playlist_id, viewer=viewer_id, limit=limit, offset=offset)


def update(*, playlist_id: uuid.UUID, changes: dict[str, str]) -> dict[str, Any] | None:
    columns = [c for c in changes if c in ("name", "description")]
    assignments = ", ".join(f"{c} = :{c}" for c in columns)  # names from the fixed tuple only
    return db.fetch_one(
        f"UPDATE playlists SET {assignments}, updated_at = now() WHERE id = :id RETURNING {_COLUMNS}",
        id=playlist_id, **{c: changes[c] for c in columns})


def delete(*, playlist_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """Delete the owner's playlist (its entries cascade); False when it was not there to delete (of concurrent
    deletes, only one finds the row: the others wait on its row lock, then see it gone)."""
    return db.execute("DELETE FROM playlists WHERE id = :id AND user_id = :uid", id=playlist_id, uid=user_id) == 1


def add_video(*, playlist_id: uuid.UUID, video_id: uuid.UUID) -> dict[str, Any]:
    """Add an entry and bump the playlist's updatedAt; a duplicate is a 409 from the unique constraint."""
    with db.transaction() as tx:
        tx.execute("INSERT INTO playlist_videos (playlist_id, video_id) VALUES (:p, :v)", p=playlist_id, v=video_id)
        row = tx.fetch_one(f"UPDATE playlists SET updated_at = now() WHERE id = :p RETURNING {_COLUMNS}",
                           p=playlist_id)
    assert row is not None
    return row


def remove_video(*, playlist_id: uuid.UUID, video_id: uuid.UUID) -> bool:
    """Whether this call removed the entry (of concurrent removals, exactly one does)."""
    with db.transaction() as tx:
        if tx.execute("DELETE FROM playlist_videos WHERE playlist_id = :p AND video_id = :v", p=playlist_id,
                      v=video_id):
            tx.execute("UPDATE playlists SET updated_at = now() WHERE id = :p", p=playlist_id)
            return True
        return False
