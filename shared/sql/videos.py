"""Every SQL statement that touches videos."""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime
from typing import Any

from shared import db
from shared.sql.view_stats import COUNT_VIEW_CTES

_NAMES = ("id", "video_file_url", "video_file_public_id", "thumbnail_url", "thumbnail_public_id", "title",
          "description", "views", "duration", "is_published", "user_id", "created_at", "updated_at",
          "processing_status", "has_transcript", "allow_public_qna")


def _columns(alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(f"{prefix}{n}::text AS {n}" if n == "processing_status" else f"{prefix}{n}" for n in _NAMES)


VIDEO_COLUMNS = _columns()
VIDEO_COLUMNS_V = _columns("v")  # the same columns read through the alias `v`, for joins
# Extra facts the API adds to the original's 16 columns.
EXTRA_COLUMNS_V = ("v.processing_error, v.width, v.height, v.video_mime, v.video_file_size, v.storage,"
                   " v.hls_master_public_id, v.poster_public_id, v.comment_policy, v.privacy, v.publish_at, v.tags,"
                   " v.trending_views, v.taken_down_at IS NOT NULL AS taken_down, v.caption_tracks,"
                   " v.hls_renditions, v.storyboard")  # the progressive stream's state (shared/sql/video_streams.py)
_EXTRA = EXTRA_COLUMNS_V.replace("v.", "")
OWNER_COLUMNS_U = "u.fullname AS owner_fullname, u.username AS owner_username, u.avatar AS owner_avatar"

# The SQL face of the visibility rules (shared/services/visibility.py decides them; these say the same in SQL, the
# video read through the alias `v`, the viewer's id in the named parameter):
# listed (feeds, search, channel lists, counts shown to others): public only, which is_published means (the partial
# indexes' predicate, so keep it literally; a video taken down by the moderators is never published, migration 0017);
LISTED = "v.is_published"


def reachable_by(viewer: str) -> str:
    """Opened by id: anything but someone else's private or taken-down video (the viewer's own lists: likes,
    history)."""
    return f"((v.privacy <> 'private' AND v.taken_down_at IS NULL) OR v.user_id = {viewer})"


def listed_for(viewer: str, list_owner: str) -> str:
    """In a list that belongs to `list_owner` (a playlist), as `viewer` sees it: public videos, the viewer's own, and
    unlisted ones (not taken down) only for the list's owner (never in another user's list)."""
    return (f"({LISTED} OR v.user_id = {viewer}"
            f" OR (v.privacy = 'unlisted' AND v.taken_down_at IS NULL AND {list_owner} = {viewer}))")


# The list's sort keys → an ORDER BY that an index serves (id breaks ties, so pages never overlap).
# trending: views of the last 7 days, a column kept by the view count and the housekeeping sweep
# (shared/sql/view_stats.py): it counts each view at once and forgets it once its hour leaves the window.
SORTS = {"createdAt": "v.created_at", "views": "v.views", "duration": "v.duration", "title": "v.title",
         "trending": "v.trending_views"}


def insert(*, user_id: uuid.UUID, title: str, description: str, video_file_url: str, video_file_public_id: str,
           thumbnail_url: str, thumbnail_public_id: str, duration: float, is_published: bool = True,
           processing_status: str = "PROCESSING", video_mime: str | None = None, video_file_size: int | None = None,
           width: int | None = None, height: int | None = None, storage: str = "local",
           media_node: str | None = None, comment_policy: str = "open", privacy: str | None = None,
           publish_at: datetime | None = None, tags: list[str] | None = None) -> dict[str, Any]:
    """`media_node`: the node whose disk holds a locally stored video file (shared.node). `privacy` wins over
    `is_published` (which, alone, means public or private: the v2 flag)."""
    privacy = privacy or ("public" if is_published else "private")
    row = db.fetch_one(
        "INSERT INTO videos (user_id, title, description, video_file_url, video_file_public_id, thumbnail_url,"
        " thumbnail_public_id, duration, privacy, publish_at, processing_status, video_mime,"
        " video_file_size, width, height, storage, media_node, comment_policy, tags)"
        " VALUES (:uid, :title, :description, :vurl, :vpid, :turl, :tpid, :duration, :privacy, :publish_at,"
        " CAST(:status AS processing_status), :mime, :size, :width, :height, :storage, :node, :policy,"
        " CAST(:tags AS text[]))"
        f" RETURNING {VIDEO_COLUMNS}, {_EXTRA}",
        uid=user_id, title=title, description=description, vurl=video_file_url, vpid=video_file_public_id,
        turl=thumbnail_url, tpid=thumbnail_public_id, duration=duration, privacy=privacy, publish_at=publish_at,
        status=processing_status, mime=video_mime, size=video_file_size, width=width, height=height,
        storage=storage, node=media_node, policy=comment_policy, tags=tags or [],
    )
    assert row is not None
    return row


def search_query(text: str) -> str | None:
    """Words of a search → a prefix tsquery ('cat' finds 'cats'); None when nothing searchable is left."""
    import re

    words = re.findall(r"\w+", text.lower())[:12]
    return " & ".join(f"{w}:*" for w in words) or None


_LIST_WHERE = (f"{LISTED} AND (CAST(:uid AS uuid) IS NULL OR v.user_id = :uid)"
               " AND (CAST(:q AS text) IS NULL OR v.search @@ to_tsquery('simple', :q))"
               # one tag (normalised): videos_tags_idx, a GIN index on the listed videos' tags
               " AND (CAST(:tag AS text) IS NULL OR v.tags @> ARRAY[CAST(:tag AS text)])")


def _count_sql(filtered: bool) -> str:
    return (f"SELECT count(*) FROM videos v WHERE {_LIST_WHERE}" if filtered
            else "SELECT value FROM counters WHERE name = 'published_videos'")


def list_sql(*, sort_by: str, ascending: bool, filtered: bool = True) -> str:
    """The public feed's page with its total in one statement (one snapshot, one round trip): every row carries
    `total_docs`; parameters :uid, :q, :tag, :limit, :offset.

    The unfiltered total comes from a trigger-kept counter: counting ~every row per request is O(n). The count is
    an uncorrelated subquery, computed once; the outer ORDER BY only re-sorts the page's own rows.
    """
    direction = "ASC" if ascending else "DESC"
    page = (f"SELECT {VIDEO_COLUMNS_V}, {EXTRA_COLUMNS_V}, {OWNER_COLUMNS_U}"
            f" FROM videos v JOIN users u ON u.id = v.user_id WHERE {_LIST_WHERE}"
            f" ORDER BY {SORTS[sort_by]} {direction}, v.id {direction} LIMIT :limit OFFSET :offset")
    key = SORTS[sort_by].removeprefix("v.")
    return (f"SELECT p.*, ({_count_sql(filtered)}) AS total_docs FROM ({page}) p"
            f" ORDER BY p.{key} {direction}, p.id {direction}")


def list_published(*, limit: int, offset: int, sort_by: str, ascending: bool, user_id: uuid.UUID | None,
                   query: str | None, tag: str | None = None) -> tuple[list[dict[str, Any]], int]:
    """A page of published videos with their owners, and the total, from one snapshot; `tag`: normalised."""
    tsquery = search_query(query) if query else None
    if query and tsquery is None:
        return [], 0
    filtered = bool(user_id or tsquery or tag)
    sql = list_sql(sort_by=sort_by, ascending=ascending, filtered=filtered)
    # A search runs with sequential scans off: PostgreSQL misjudges how many rows a rare prefix term ('zebra:*')
    # matches and would read the whole table, where the GIN index is always the better path (the BEGIN carries
    # the setting: one round trip more than a plain page).
    with db.transaction(settings=("enable_seqscan = off",)) if tsquery else contextlib.nullcontext(db) as run:
        rows = run.fetch_all(sql, uid=user_id, q=tsquery, tag=tag, limit=limit, offset=offset)
        if not rows:  # past the last page (or nothing found): the total alone
            params = {"uid": user_id, "q": tsquery, "tag": tag} if filtered else {}
            return [], int(run.fetch_value(_count_sql(filtered), **params))
    total = rows[0]["total_docs"]
    for row in rows:
        del row["total_docs"]
    return rows, total


def get(*, video_id: uuid.UUID, for_update: bool = False) -> dict[str, Any] | None:
    lock = " FOR UPDATE" if for_update else ""
    return db.fetch_one(
        f"SELECT {VIDEO_COLUMNS}, {_EXTRA}, media_node FROM videos WHERE id = :id{lock}", id=video_id)


def access(*, video_id: uuid.UUID) -> dict[str, Any] | None:
    """Just what decides who may open the video (shared/services/visibility.py): three narrow columns, not the whole
    row the watch page shows (whose jsonb columns cost more to decode than the rest of a comments page)."""
    return db.fetch_one("SELECT privacy, CAST(user_id AS text) AS user_id, taken_down_at IS NOT NULL AS taken_down"
                        " FROM videos WHERE id = :id", id=video_id)


def record_view(*, video_id: uuid.UUID, viewer_id: uuid.UUID, window_seconds: int) -> dict[str, Any]:
    """Upsert the viewer's history row and count the view when none was counted within the window.

    One statement, one round trip: the history row decides, and the counter row is locked only for the instant of
    its own increment (its implicit transaction holds nothing else). Returns the video's current view count,
    counted or not, with what the watch page shows live beside it (issue #14): `likes_count` (counted on
    likes_video_idx), whether the viewer likes the video (`is_liked`, likes_user_video_key) and subscribes to its
    owner (`is_subscribed`, subscriptions_pair_key), each a subquery of this same statement, not a round trip. The
    commit does not wait for the disk: `set_config(..., true)` turns synchronous_commit off for this statement's own
    transaction (PostgreSQL reads it at commit, then resets it), so a crash may forget the last moment's views, never
    anything else; a BEGIN carrying SET LOCAL would cost two round trips more.
    """
    row = db.fetch_one(
        "WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true)), seen AS ("
        " INSERT INTO watch_history (user_id, video_id, watched_at, counted_at)"
        " VALUES (:viewer, :video, statement_timestamp(), statement_timestamp())"
        " ON CONFLICT (user_id, video_id) DO UPDATE SET watched_at = statement_timestamp(),"
        "  counted_at = CASE WHEN watch_history.counted_at <= statement_timestamp() - make_interval(secs => :window)"
        "   THEN statement_timestamp() ELSE watch_history.counted_at END"
        # statement_timestamp() is one value for the whole statement: equal means "counted by this view".
        " RETURNING counted_at = statement_timestamp() AS counted"
        "), bumped AS ("
        " UPDATE videos SET views = views + 1, trending_views = trending_views + 1"
        "  WHERE id = :video AND (SELECT counted FROM seen) RETURNING views, user_id)"
        # the view's hour and day buckets, per video and per channel (issue #17): this same statement
        f"{COUNT_VIEW_CTES}"
        " SELECT coalesce((SELECT views FROM bumped), v.views) AS views,"
        "  (SELECT count(*) FROM likes l WHERE l.video_id = :video) AS likes_count,"
        "  EXISTS (SELECT 1 FROM likes l WHERE l.user_id = :viewer AND l.video_id = :video) AS is_liked,"
        "  EXISTS (SELECT 1 FROM subscriptions s WHERE s.subscriber_id = :viewer AND s.channel_id = v.user_id)"
        "   AS is_subscribed,"
        # the viewer's watch position (issue #17.4): a primary-key lookup joined into this statement, not a round trip
        "  p.position_seconds, p.finished AS position_finished"
        " FROM relaxed LEFT JOIN videos v ON v.id = :video"
        " LEFT JOIN watch_progress p ON p.user_id = :viewer AND p.video_id = :video",
        viewer=viewer_id, video=video_id, window=window_seconds,
    )
    assert row is not None  # `relaxed` is one row
    return row


def update_details(*, video_id: uuid.UUID, changes: dict[str, Any]) -> dict[str, Any] | None:
    allowed = {"title", "description", "thumbnail_url", "thumbnail_public_id", "comment_policy", "privacy",
               "publish_at", "tags"}
    columns = [c for c in changes if c in allowed]
    assignments = ", ".join(f"{c} = :{c}" for c in columns)  # names from `allowed` only
    return db.fetch_one(
        f"UPDATE videos SET {assignments}, updated_at = now() WHERE id = :id"
        f" RETURNING {VIDEO_COLUMNS}, {_EXTRA}",
        id=video_id, **{c: changes[c] for c in columns},
    )


def toggle_published(*, video_id: uuid.UUID, owner_id: uuid.UUID) -> dict[str, Any] | None:
    """The v2 toggle, in one statement (no read-then-write race): public → private, anything else (unlisted,
    private, scheduled) → public; a schedule is cancelled. None when not the owner's video, or taken down."""
    return db.fetch_one(
        "UPDATE videos SET privacy = CASE WHEN privacy = 'public' THEN 'private' ELSE 'public' END,"
        " publish_at = NULL, updated_at = now()"
        " WHERE id = :id AND user_id = :owner AND taken_down_at IS NULL"
        f" RETURNING {VIDEO_COLUMNS}, {_EXTRA}",
        id=video_id, owner=owner_id,
    )


PUBLISH_DUE_BATCH = 500


def publish_due(*, limit: int = PUBLISH_DUE_BATCH) -> list[uuid.UUID]:
    """Scheduled videos whose time has come turn public (at most `limit` per call, through videos_publish_at_idx);
    their ids. Rows another sweep holds are skipped, not waited for: it publishes them."""
    rows = db.fetch_all(
        "UPDATE videos SET privacy = 'public', publish_at = NULL, updated_at = now() WHERE id IN ("
        " SELECT id FROM videos WHERE publish_at <= now() ORDER BY publish_at LIMIT :limit FOR UPDATE SKIP LOCKED)"
        " RETURNING id", limit=limit)
    return [r["id"] for r in rows]


def set_processing(*, video_id: uuid.UUID, status: str, error: str | None = None,
                   duration: float | None = None, width: int | None = None, height: int | None = None) -> None:
    db.execute(
        "UPDATE videos SET processing_status = CAST(:status AS processing_status), processing_error = :error,"
        " duration = coalesce(:duration, duration), width = coalesce(:width, width),"
        " height = coalesce(:height, height) WHERE id = :id",
        id=video_id, status=status, error=error, duration=duration, width=width, height=height,
    )


def set_stream(*, video_id: uuid.UUID, hls_master_public_id: str, poster_public_id: str) -> None:
    db.execute("UPDATE videos SET hls_master_public_id = :hls, poster_public_id = :poster WHERE id = :id",
               id=video_id, hls=hls_master_public_id, poster=poster_public_id)


def id_by_public_id(*, public_id: str) -> uuid.UUID | None:
    return db.fetch_value("SELECT id FROM videos WHERE video_file_public_id = :pid", pid=public_id)


def retry_processing(*, video_id: uuid.UUID) -> bool:
    """FAILED → PROCESSING (the caller queues the work); False when the video had not failed."""
    return db.execute(
        "UPDATE videos SET processing_status = 'PROCESSING', processing_error = NULL"
        " WHERE id = :id AND processing_status = 'FAILED'", id=video_id) == 1


def delete(*, video_id: uuid.UUID, owner_id: uuid.UUID) -> dict[str, Any] | None:
    """Delete the owner's video (comments, likes, playlist entries and history cascade); return its media ids,
    or None when it was not there to delete: of concurrent deletes only one gets the row back (the others wait
    on its row lock, then see it gone), and only that one may record the media deletions."""
    return db.fetch_one(
        "DELETE FROM videos WHERE id = :id AND user_id = :owner"
        " RETURNING id, video_file_public_id, thumbnail_public_id, hls_master_public_id, storage, media_node",
        id=video_id, owner=owner_id)


def visibility_of_stream(*, video_id: str) -> bool | None:
    """Whether a video with this HLS output is published; None when there is no such video."""
    return db.fetch_value("SELECT is_published FROM videos WHERE id = CAST(:id AS uuid)", id=video_id)


def visibility_of_media(*, public_id: str) -> bool | None:
    """For a stored file: True when it belongs to a published video, False to an unpublished one, None to none."""
    return db.fetch_value(
        "SELECT bool_or(is_published) FROM videos WHERE video_file_public_id = :pid OR thumbnail_public_id = :pid",
        pid=public_id,
    )
