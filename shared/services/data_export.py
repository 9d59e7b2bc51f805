"""Data exports (issue #16, point 7): a user asks for their data, a job builds a zip of it, the user gets an expiring
signed link (a mail and a notification), and the housekeeping sweep removes the zip once the link has expired.

- One export at a time per user: a request while one is pending answers that one (data_exports_one_pending_idx).
- The zip (profile.json, videos.json, comments.json, posts.json, playlists.json, history.json, likes.json,
  subscriptions.json, manifest.json, and media/: each video's original file, its thumbnail, the avatar and cover) is
  written to a temporary file on disk (VIZTUBE_HOME/scratch), one media file at a time straight from the store's
  working copy: no media file is ever held in memory. It is then stored through the storage adapter as an `export`
  (never public) and the temporary file removed.
- MAX_EXPORT_BYTES caps the zip: the data documents always go in; a media file that would pass the cap is left out
  and listed in manifest.json with the reason, as is one the store no longer has or does not hand out.
- The link (`download_link`) is ours, signed (HMAC of the export id and its expiry with a key derived from
  MEDIA_URL_SECRET) and valid until the export expires (EXPORT_TTL, 48 h): a mail's link must outlive the store's
  own short-lived signed URLs, so following it checks the signature and the export, then redirects to a fresh one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import os
import tempfile
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared import auth, db, errors, jobs, mail, ratelimit
from shared.jobs import Retry, handler
from shared.node import media_node
from shared.services import notifications
from shared.services.media_cleanup import discard, record_deletion
from shared.settings import get_settings
from shared.sql import exports as exports_sql
from shared.storage import Storage, StoredFile, get_storage
from shared.wire import iso_timestamp, to_json_bytes

log = logging.getLogger(__name__)
BUILD_JOB = "build_data_export"
MAIL_JOB = "mail_data_export_ready"
DOWNLOAD_PATH = "/api/v2/user/export/{export_id}/download"
SWEEP_BATCH = 100  # rows per transaction: a backlog is cleared in short transactions
PACE = jobs.Every(300)


@dataclass(frozen=True)
class ExportStatus:
    state: str  # pending | ready | failed | expired
    url: str | None = None
    expires_at: dt.datetime | None = None


# ------------------------------------------------------------------------------------ requests


def request_export(current: auth.CurrentUser) -> tuple[uuid.UUID, bool]:
    """The export being prepared for the caller: a new one queued (True), or the one already pending (False)."""
    ratelimit.hit("data_export", current.id)
    with db.transaction():
        export_id, created = exports_sql.start(user_id=current.id)
        if created:
            # Pinned with local storage: the zip is stored on the node that builds it, beside the media it reads.
            jobs.enqueue(BUILD_JOB, {"export_id": str(export_id)}, node=media_node())
    return export_id, created


def status(current: auth.CurrentUser, export_id: uuid.UUID) -> ExportStatus:
    row = exports_sql.get_for_user(export_id=export_id, user_id=current.id)
    if row is None:
        raise errors.NotFound("Export not found")
    if row["expired"]:
        return ExportStatus(state="expired")
    if row["state"] != "ready":
        return ExportStatus(state=row["state"])
    return ExportStatus(state="ready", url=download_link(row["id"], row["expires_at"]), expires_at=row["expires_at"])


# ------------------------------------------------------------------------------------ the signed link


def _signature(export_id: uuid.UUID, expires: int) -> str:
    key = hmac.new(get_settings().media_url_secret.encode(), b"viztube data export link v1", hashlib.sha256).digest()
    return hmac.new(key, f"{export_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def download_link(export_id: uuid.UUID, expires_at: dt.datetime) -> str:
    expires = int(expires_at.timestamp())
    path = DOWNLOAD_PATH.format(export_id=export_id)
    return f"{get_settings().public_url}{path}?expires={expires}&signature={_signature(export_id, expires)}"


def download_url(export_id: uuid.UUID, expires: str | None, signature: str | None) -> str:
    """Where a genuine, unexpired link sends its holder: a fresh signed URL of the zip in the store. The signature is
    checked before the database is asked; the export itself after (deleted, or swept: gone)."""
    if not expires or not signature or not (expires.isascii() and expires.isdigit()) or len(expires) > 12:
        raise errors.Forbidden("Invalid download link")
    if not hmac.compare_digest(_signature(export_id, int(expires)).encode(), signature.encode()):
        raise errors.Forbidden("Invalid download link")
    if int(expires) <= time.time():
        raise errors.Gone("This download link has expired: ask for a new export")
    row = exports_sql.get(export_id=export_id)
    storage = get_storage()
    if row is None or row["state"] != "ready" or row["expired"] or row["storage"] != storage.name:
        raise errors.Gone("This export is no longer available: ask for a new one")
    return storage.url_for(row["public_id"], resource_type="raw", private=True)


# ------------------------------------------------------------------------------------ building the zip


def _failed(payload: dict[str, Any], reason: str) -> None:
    exports_sql.mark_failed(export_id=uuid.UUID(payload["export_id"]), error=reason,
                            ttl_seconds=get_settings().export_ttl_seconds)


@handler(BUILD_JOB, on_give_up=_failed)
def build(payload: dict[str, Any]) -> None:
    export_id = uuid.UUID(payload["export_id"])
    row = exports_sql.get(export_id=export_id)
    if row is None or row["state"] != "pending":
        return  # the account was deleted, or a retry after the export was finished
    settings = get_settings()
    storage = get_storage()
    settings.scratch_dir.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix="export-", suffix=".zip", dir=settings.scratch_dir)
    os.close(handle)
    path = Path(name)
    try:
        if not _write_zip(path, row["user_id"], storage, settings.max_export_bytes):
            return
        stored = storage.save(path, kind="export", mime="application/zip", private=True)
    finally:
        path.unlink(missing_ok=True)
    _finish(export_id, row["user_id"], storage, stored)


def _finish(export_id: uuid.UUID, user_id: uuid.UUID, storage: Storage, stored: StoredFile) -> None:
    """Record the stored zip, and the mail and the notification that announce it, in one transaction; a zip nobody
    will download (the export was deleted meanwhile, or recording it failed) is removed again."""
    try:
        with db.transaction():
            ready = exports_sql.mark_ready(export_id=export_id, storage=storage.name, media_node=media_node(),
                                           public_id=stored.public_id, size_bytes=stored.size,
                                           ttl_seconds=get_settings().export_ttl_seconds)
            if ready is not None:
                jobs.enqueue(MAIL_JOB, {"export_id": str(export_id)})
                notifications.notify(user_id, notifications.EXPORT_READY, export_id=export_id)
    except BaseException:
        discard([stored])
        raise
    if ready is None:
        discard([stored])


def _write_zip(path: Path, user_id: uuid.UUID, storage: Storage, cap: int) -> bool:
    """The user's data into the zip at `path`; False when the user is gone."""
    profile = exports_sql.profile(user_id=user_id)
    if profile is None:
        return False
    videos = exports_sql.videos(user_id=user_id)
    documents: dict[str, Any] = {
        "profile.json": {**profile, "subscriberCount": exports_sql.subscriber_count(user_id=user_id)},
        "videos.json": videos,
        "comments.json": exports_sql.comments(user_id=user_id),
        "posts.json": exports_sql.tweets(user_id=user_id),
        "playlists.json": exports_sql.playlists(user_id=user_id),
        "history.json": exports_sql.history(user_id=user_id),
        "likes.json": exports_sql.likes(user_id=user_id),
        "subscriptions.json": exports_sql.subscriptions(user_id=user_id),
    }
    media: list[tuple[str, str, str]] = []  # name in the zip, public id, resource type
    for video in videos:
        for public_id, kind, folder in ((video["video_file_public_id"], "video", "videos"),
                                        (video["thumbnail_public_id"], "image", "thumbnails")):
            media.append((f"media/{folder}/{video['id']}{_extension(public_id)}", public_id, kind))
    for column, name in (("avatar_public_id", "avatar"), ("cover_image_public_id", "cover")):
        if profile[column]:
            media.append((f"media/{name}{_extension(profile[column])}", profile[column], "image"))
    budget = cap
    included: list[dict[str, Any]] = []
    omitted: list[dict[str, Any]] = []
    # ZIP64 for archives past 4 GB; JSON compressed, media stored as they are (already compressed, and copied by
    # zipfile in chunks from the file on disk).
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for name, value in documents.items():
            raw = to_json_bytes(value)
            archive.writestr(name, raw)
            budget -= len(raw)
        for name, public_id, kind in media:
            reason = _add_media(archive, storage, name, public_id, kind, budget)
            if reason is None:
                size = archive.getinfo(name).file_size
                budget -= size
                included.append({"file": name, "bytes": size})
            else:
                omitted.append({"file": name, "reason": reason})
        archive.writestr("manifest.json", to_json_bytes({
            "userId": user_id, "username": profile["username"], "createdAt": iso_timestamp(_now()),
            "sizeCapBytes": cap, "media": included, "omittedMedia": omitted}))
    return True


def _add_media(archive: zipfile.ZipFile, storage: Storage, name: str, public_id: str, kind: str,
               budget: int) -> str | None:
    """Copy one stored file into the zip; None when it went in, else why not."""
    try:
        with storage.working_copy(public_id, resource_type=kind) as source:
            if source.stat().st_size > budget:
                return "left out: the export would pass its size cap (MAX_EXPORT_BYTES)"
            archive.write(source, name, compress_type=zipfile.ZIP_STORED)
    except errors.StorageUnsupported:
        return "left out: the media store does not hand out its files (download it from the video's page)"
    except errors.NotFound:
        return "missing from storage"
    return None


def _extension(public_id: str) -> str:
    tail = public_id.rsplit("/", 1)[-1]
    return f".{tail.rsplit('.', 1)[1]}" if "." in tail else ""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# ------------------------------------------------------------------------------------ announcing it


@handler(MAIL_JOB)
def mail_ready(payload: dict[str, Any]) -> None:
    row = exports_sql.get(export_id=uuid.UUID(payload["export_id"]))
    if row is None or row["state"] != "ready" or row["expired"]:
        return  # deleted (with its account) or expired meanwhile: nothing to announce
    user = exports_sql.profile(user_id=row["user_id"])
    if user is None:
        return
    try:
        mail.deliver(mail.render(
            "data_export_ready", to=user["email"], fullname=user["fullname"], username=user["username"],
            link=download_link(row["id"], row["expires_at"]), expires=row["expires_at"].strftime("%Y-%m-%d %H:%M UTC"),
            size=_human_size(row["size_bytes"] or 0)))
    except Exception as exc:
        raise Retry(f"mail to {user['email']} not sent: {type(exc).__name__}: {exc}") from exc


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"


# ------------------------------------------------------------------------------------ removing it after 48 h


def sweep_expired() -> int:
    """Remove expired exports: their rows, and a recorded `delete_media` job for each zip (in one transaction, so a
    zip is never forgotten with its row). Answers how many went."""
    removed = 0
    while True:
        with db.transaction():
            gone = exports_sql.take_expired(limit=SWEEP_BATCH)
            for row in gone:
                if row["public_id"]:
                    record_deletion(row["public_id"], "raw", storage=row["storage"], node=row["media_node"])
        removed += len(gone)
        if len(gone) < SWEEP_BATCH:
            break
    if removed:
        log.info("removed %d expired data exports", removed)
    return removed


def periodic() -> None:
    """Called on every pass of the worker and of the serverless schedule (job_handlers.periodic): the sweep every few
    minutes (a link's expiry is checked on every use anyway, so a late sweep never lets an expired link work)."""
    if PACE.due():
        sweep_expired()
