"""Video use cases that span storage, probing, the database and jobs: publish, update, delete, retry, toggle."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from shared import cached, db, errors, jobs
from shared.auth import CurrentUser
from shared.media.files import UploadedFile, check_image, check_video_file
from shared.node import media_node
from shared.services import notifications
from shared.services.media_cleanup import discard, record_deletion, schedule_deletion
from shared.services.media_visibility import media_of, schedule_sync
from shared.services.visibility import is_listed, owned_video
from shared.settings import get_settings
from shared.sql import jobs as jobs_sql
from shared.sql import videos as videos_sql
from shared.storage import StoredFile, get_storage

log = logging.getLogger(__name__)



# ------------------------------------------------------------------------------------ publish

PROCESSING_KINDS = ["process_video", "transcode_hls"]


def ensure_processing_capacity() -> None:
    """Backpressure: a box that transcodes one video at a time refuses new videos while its queue is full."""
    if jobs_sql.waiting(kinds=PROCESSING_KINDS) >= get_settings().max_processing_queue:
        raise errors.ServiceUnavailable("Too many videos are waiting to be processed; please try again later",
                                        headers={"Retry-After": "60"})


def publish(user: CurrentUser, *, title: str, description: str, video: UploadedFile,
            thumbnail: UploadedFile, comment_policy: str = "open",
            privacy: tuple[str, datetime | None] = ("public", None), tags: list[str] | None = None) -> dict[str, Any]:
    """`privacy`: (privacy, publish_at), shared.schemas.privacy.PrivacyIn.privacy_on_create; `tags`: normalised
    (shared.schemas.tags)."""
    ensure_processing_capacity()
    mime, facts = check_video_file(video)
    thumb_mime = check_image(thumbnail)
    storage = get_storage()
    stored: list[StoredFile] = []
    try:
        # A public video's media are public from the start; any other's are stored private.
        hidden = not is_listed(privacy[0])
        video_file = storage.save(video.path, kind="video", mime=mime, private=hidden)
        stored.append(video_file)
        thumb_file = storage.save(thumbnail.path, kind="thumbnail", mime=thumb_mime, private=hidden)
        stored.append(thumb_file)
        with db.transaction():
            row = videos_sql.insert(
                user_id=user.id, title=title, description=description, video_file_url=video_file.url,
                video_file_public_id=video_file.public_id, thumbnail_url=thumb_file.url,
                thumbnail_public_id=thumb_file.public_id, duration=facts.duration, video_mime=mime,
                video_file_size=video.size, width=facts.width, height=facts.height, storage=storage.name,
                media_node=media_node(), comment_policy=comment_policy, privacy=privacy[0], publish_at=privacy[1],
                tags=tags)
            # Processing reads the file just stored: only the node holding it may run the job (issue #10).
            jobs.enqueue("process_video", {"video_id": str(row["id"])}, node=media_node())
            notifications.visibility_changed(row["id"], was_public=False, is_public=row["is_published"])
            cached.forget_feed()
    except BaseException:
        discard(stored)
        raise
    return row


# ------------------------------------------------------------------------------------ change

# A taken-down video (shared/services/moderation.py) stays hidden whatever its owner does: the database keeps it
# unpublished (migration 0017), and these answers say why a privacy change is refused.
TAKEN_DOWN = "This video was taken down by the moderators: its privacy and schedule can no longer change"


def update(user: CurrentUser, video_id: uuid.UUID, *, changes: dict[str, Any],
           thumbnail: UploadedFile | None) -> dict[str, Any]:
    video = owned_video(video_id, user, "You are not authorized to update this video")
    published = video["is_published"]
    if video["taken_down"] and {"privacy", "publish_at"} & changes.keys():
        raise errors.Forbidden(TAKEN_DOWN)
    new_thumb: StoredFile | None = None
    sync = None
    if thumbnail is not None:
        mime = check_image(thumbnail)
        new_thumb = get_storage().save(thumbnail.path, kind="thumbnail", mime=mime, private=not published)
        changes = {**changes, "thumbnail_url": new_thumb.url, "thumbnail_public_id": new_thumb.public_id}
    try:
        with db.transaction():
            old = videos_sql.get(video_id=video_id, for_update=True)
            if old is None:
                raise errors.NotFound("Video not found")
            row = videos_sql.update_details(video_id=video_id, changes=changes) if changes else old
            assert row is not None
            if row["is_published"] != old["is_published"] or (new_thumb and old["is_published"] != published):
                sync = schedule_sync(video_id)  # public no more, or again (or toggled since: the new thumbnail follows)
            notifications.visibility_changed(video_id, was_public=old["is_published"], is_public=row["is_published"])
            cached.forget_video(video_id)
    except BaseException:
        if new_thumb:
            discard([new_thumb])
        raise
    if sync is not None:
        jobs.run_now(sync)
    if new_thumb:
        schedule_deletion(old["thumbnail_public_id"], "image")
    assert row is not None
    return row


def delete(user: CurrentUser, video_id: uuid.UUID) -> None:
    owned_video(video_id, user, "You are not authorized to delete this video")
    with db.transaction():
        media = videos_sql.delete(video_id=video_id, owner_id=user.id)
        if media is None:  # a concurrent delete won: it alone enqueues the media deletions
            raise errors.NotFound("Video not found")
        cached.forget_video(video_id)
        # A locally stored video's files are removed by the node whose disk holds them, wherever the request came.
        job_ids = [record_deletion(public_id, kind, storage=media["storage"], node=media["media_node"])
                   for public_id, kind in media_of(media, get_storage())]
    for job_id in job_ids:
        jobs.run_now(job_id)


def retry_processing(user: CurrentUser, video_id: uuid.UUID) -> dict[str, Any]:
    """The owner asks for a failed video to be processed again."""
    owned_video(video_id, user, "You are not authorized to update this video")
    with db.transaction():
        if not videos_sql.retry_processing(video_id=video_id):
            raise errors.Conflict("Only a video whose processing failed can be retried")
        stored = videos_sql.get(video_id=video_id)
        jobs.enqueue("process_video", {"video_id": str(video_id)}, node=stored["media_node"] if stored else None)
        cached.forget_video(video_id)
    row = videos_sql.get(video_id=video_id)
    assert row is not None
    return row


def toggle_publish(user: CurrentUser, video_id: uuid.UUID) -> dict[str, Any]:
    if owned_video(video_id, user, "Unauthorized")["taken_down"]:
        raise errors.Forbidden(TAKEN_DOWN)
    with db.transaction():
        row = videos_sql.toggle_published(video_id=video_id, owner_id=user.id)
        if row is None:  # deleted, or taken down, since the check above
            raise errors.NotFound("Video not found")
        # Where anyone may read published media from the store itself, it is told at once (or later, if down).
        sync = schedule_sync(video_id)
        notifications.visibility_changed(video_id, was_public=not row["is_published"], is_public=row["is_published"])
    cached.forget_video(video_id)
    if sync is not None:
        jobs.run_now(sync)
    return row
