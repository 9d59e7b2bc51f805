"""Deleting one's account (issue #16, point 6): `DELETE /api/v2/user/me` with the password, and a two-factor code
when the account is enrolled.

Everything happens in one transaction: the account's comments are taken out of other people's threads (a top-level
comment others answered stays as a "deleted comment", text erased and authorless, exactly as when its author
deletes it; replies are uncounted on their threads), a `delete_media` job is recorded for every file it stored
(videos, thumbnails, HLS streams, avatar, cover, unregistered uploads, data exports), and the users row is deleted;
the rest goes by cascade (videos with their comments, likes and playlist entries; likes, subscriptions both ways,
playlists, history, sessions, tokens, two-factor, notifications). The published-videos counter follows through its
trigger; like, subscriber and comment counts are counted live (or kept by the statements above). Any failure rolls
all of it back, jobs included; the files go only once it has committed. The caller's tokens stop working at once:
their sessions are gone, and the cached sign-ins are retired on commit. The username and email are free at once.
"""

from __future__ import annotations

import logging
import uuid

from shared import auth, cached, db, errors, ratelimit
from shared.node import media_node
from shared.services import two_factor
from shared.services.media_cleanup import record_deletion
from shared.services.media_visibility import media_of
from shared.sql import account_deletion as deletion_sql
from shared.sql import two_factor as two_factor_sql
from shared.sql import users as users_sql
from shared.storage import get_storage

log = logging.getLogger(__name__)


def delete_account(current: auth.CurrentUser, *, password: str, code: str | None) -> None:
    """Check the password (and the code of an enrolled account), then delete the account and all it owns."""
    ratelimit.hit("delete_account", current.id)
    stored_hash = users_sql.get_password_hash(user_id=current.id)
    if stored_hash is None:
        raise errors.NotFound("User not found")
    # 403 rather than login's 401: the caller is signed in, and a 401 would make clients drop a valid session.
    if not auth.verify_password(password, stored_hash):
        raise errors.Forbidden("Invalid password")
    enrolled = two_factor_sql.enabled(user_id=current.id)
    if enrolled and not code:
        raise errors.ValidationFailed("Account deletion validation failed", errors=[
            "code is required: two-factor sign-in is enabled on this account"])
    job_ids: list[uuid.UUID] = []
    with db.transaction():
        # The code is spent inside the transaction: if the deletion fails, it was not used up for nothing.
        if enrolled and not two_factor.check_code(current.id, code or ""):
            raise errors.Forbidden("Invalid two-factor code")
        account = deletion_sql.lock_account(user_id=current.id)
        if account is None:  # a concurrent deletion won
            raise errors.NotFound("User not found")
        job_ids = _record_media_deletions(current.id, account)
        _forget_related(current.id)
        parents = deletion_sql.remove_replies(user_id=current.id)
        deletion_sql.remove_emptied_threads(parent_ids=parents)
        kept = deletion_sql.remove_top_level_comments(user_id=current.id)
        if not deletion_sql.delete_account(user_id=current.id):
            raise errors.NotFound("User not found")
        cached.forget_sign_ins(current.id)
        cached.forget_channel(current.id, account["username"])
    log.info("account %s deleted: %d media deletions queued, %d comments kept as deleted for their replies",
             current.id, len(job_ids), kept)


def _record_media_deletions(user_id: uuid.UUID, account: dict[str, object]) -> list[uuid.UUID]:
    """A recorded `delete_media` job per stored file, in the deletion's transaction: the files go once it commits
    (the worker is nudged then), and not at all if it rolls back."""
    storage = get_storage()
    doomed: list[tuple[str, str, str, str | None]] = []  # public id, resource type, storage, node
    for video in deletion_sql.videos_media(user_id=user_id):
        doomed += [(public_id, kind, video["storage"], video["media_node"])
                   for public_id, kind in media_of(video, storage)]
        cached.forget_video(video["id"])
    for column in ("avatar_public_id", "cover_image_public_id"):
        public_id = account[column]
        if isinstance(public_id, str) and public_id:
            # As replace_image's deletion of an old image: in the store (and on the node) images go to now.
            doomed.append((public_id, "image", storage.name, media_node()))
    doomed += [(row["public_id"], row["resource_type"], row["storage"], row["media_node"])
               for row in deletion_sql.stored_leftovers(user_id=user_id)]
    return [record_deletion(public_id, kind, storage=store, node=node) for public_id, kind, store, node in doomed]


def _forget_related(user_id: uuid.UUID) -> None:
    """Cached channel counts that change with the account's subscriptions (retired when the deletion commits)."""
    channels = deletion_sql.related_channels(user_id=user_id)
    if channels:
        cached.forget_channel_counts(*channels)
