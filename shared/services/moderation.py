"""Moderation (issue #15, point 6): who may moderate, abuse reports, decisions and what each does, bans, blocks.

Roles: `user` (everyone), `moderator` (reads and decides the report queue), `admin` (a moderator who also reads the
moderation log). A role is granted from the command line only (`python -m infra.manage set-role`), never through the
API, and read from the database on every moderation request, never from the cached sign-in: a demoted moderator
loses the queue at once, in every process.

A report names a video, a comment, a post (tweet) or a user that exists and that the reporter can see, with a reason
from a fixed list; one open report per reporter and target (a second is a 409 until the first is decided).

Decisions (each one, with the side effects below, is one transaction, recorded in the moderation log with who, what,
when and the note; the reporter is told through a `report.decided` notification, committed with it):
* dismiss: nothing happens to the target.
* takedown:
  - a video is taken down: it disappears from every list (feed, search, channel, subscriptions feed, playlists,
    likes, history) and every route (detail, comments, likes, media URLs) for everyone but its owner and the
    moderators; the owner sees `takenDown: true` and can no longer change its privacy or schedule (403). Its media
    turn private in the store. Nothing is deleted: the rows stay for an appeal.
  - a comment or post is removed as its author's delete would remove it (a comment with replies stays as a
    "deleted comment" so its thread reads on); what it said, and who said it, is kept in the log's `details`.
  - a user: a takedown of a user is a ban.
* ban: the author of the reported content (or the user reported) is banned, and the reported content taken down.
  A banned account cannot sign in (403 saying so), every session of it is revoked and its access tokens refused
  from the next request on, in every process; every video of theirs is taken down. Their comments and posts stay
  (moderators take down the ones reported; anyone can block the user). Moderators and admins cannot be banned
  (demote them from the command line first).
Either way, the other open reports of the same target are closed with it (actioned) and their reporters told.

Blocks: a user blocks another; the blocked user's comments (threads and replies) and posts are hidden from the
blocker (shared/sql/moderation.py `not_blocked`, used by the comment and post lists).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from shared import cached, db, errors, jobs
from shared.auth import CurrentUser
from shared.services import notifications
from shared.services.media_visibility import schedule_sync
from shared.services.visibility import visible_comment, visible_video
from shared.sql import comments as comments_sql
from shared.sql import moderation as moderation_sql
from shared.sql import sessions as sessions_sql
from shared.sql import tweets as tweets_sql
from shared.sql import users as users_sql

log = logging.getLogger(__name__)

MODERATORS = ("moderator", "admin")
_NOUNS = {"video": "video", "comment": "comment", "tweet": "post", "user": "user"}


# ------------------------------------------------------------------------------------ who may


def is_moderator(user_id: uuid.UUID) -> bool:
    """Whether the user moderates (moderator or admin), read now from the database."""
    return moderation_sql.acting_role(user_id=user_id) in MODERATORS


def require_moderator(user: CurrentUser) -> None:
    if not is_moderator(user.id):
        raise errors.Forbidden("Only moderators may do this")


def require_admin(user: CurrentUser) -> None:
    if moderation_sql.acting_role(user_id=user.id) != "admin":
        raise errors.Forbidden("Only admins may read the moderation log")


def set_role(username: str, role: str) -> dict[str, Any]:
    """Give a user a role (the command line's set-role): the change and its log entry commit together, and the
    user's cached sign-in is retired so their own object shows the new role."""
    with db.transaction():
        row = moderation_sql.set_role(username=username, role=role)
        if row is None:
            raise errors.NotFound(f"No user named {username!r}")
        moderation_sql.log_action(actor_id=None, action="set_role", target_type="user", target_id=row["id"],
                                  note=f"role {row['old_role']} -> {role} (command line)",
                                  details={"from": row["old_role"], "to": role})
        cached.forget_sign_ins(row["id"])
    return row


# ------------------------------------------------------------------------------------ reports


def _target_owner(user: CurrentUser, target_type: str, target_id: uuid.UUID) -> uuid.UUID:
    """Who posted the target (the user themself, for a user); 404 when it does not exist or the reporter cannot see
    it, as the target's own routes would answer."""
    if target_type == "video":
        owner: uuid.UUID = visible_video(target_id, user)["user_id"]
    elif target_type == "comment":
        owner = visible_comment(target_id, user)["user_id"]
    elif target_type == "tweet":
        tweet = tweets_sql.get(tweet_id=target_id)
        if tweet is None:
            raise errors.NotFound("Tweet not found")
        owner = tweet["user_id"]
    else:
        if users_sql.get_public(user_id=target_id) is None:
            raise errors.NotFound("User not found")
        owner = target_id
    return owner


def report(user: CurrentUser, *, target_type: str, target_id: uuid.UUID, reason: str, text: str) -> dict[str, Any]:
    owner = _target_owner(user, target_type, target_id)
    noun = _NOUNS[target_type]
    if owner == user.id:
        raise errors.BadRequest("You cannot report yourself" if target_type == "user"
                                else f"You cannot report your own {noun}")
    row = moderation_sql.insert_report(reporter_id=user.id, target_type=target_type, target_id=target_id,
                                       target_owner_id=owner, reason=reason, text=text.strip())
    if row is None:
        raise errors.Conflict(f"You have already reported this {noun}; a moderator will look at it")
    return row


def queue(user: CurrentUser, *, state: str, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    require_moderator(user)
    return moderation_sql.list_reports(state=state, limit=limit, offset=offset)


def moderation_log(user: CurrentUser, *, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    require_admin(user)
    return moderation_sql.list_log(limit=limit, offset=offset)


# ------------------------------------------------------------------------------------ decisions


class _Effects:
    """What a decision changed that must be told once it commits: the store (media visibility) and the cache."""

    def __init__(self) -> None:
        self.sync_jobs: list[uuid.UUID] = []

    def video_taken_down(self, video_id: uuid.UUID) -> None:
        job = schedule_sync(video_id)  # where the store serves public media itself, it hides these
        if job is not None:
            self.sync_jobs.append(job)
        cached.forget_video(video_id)


def decide(user: CurrentUser, report_id: uuid.UUID, *, action: str, note: str) -> dict[str, Any]:
    """Decide an open report: exactly one decision wins (the conditional UPDATE in moderation_sql.decide); any other,
    at the same time or later, is a 409. Everything the decision does commits with it, or nothing does."""
    require_moderator(user)
    if moderation_sql.get_report(report_id=report_id) is None:
        raise errors.NotFound("Report not found")
    note = note.strip()
    effects = _Effects()
    with db.transaction():
        decided = moderation_sql.decide(report_id=report_id, by=user.id, action=action, note=note)
        if decided is None:
            raise errors.Conflict("This report has already been decided")
        if action == "dismiss":
            moderation_sql.log_action(actor_id=user.id, action="dismiss", target_type=decided["target_type"],
                                      target_id=decided["target_id"], report_id=report_id, note=note)
            told = [decided]
        else:
            if action == "ban" or decided["target_type"] == "user":
                _ban(user, decided, note, effects)
            if decided["target_type"] != "user":
                _take_down(user, decided, note, effects)
            told = [decided, *moderation_sql.close_others(report=decided, by=user.id, note=note)]
        for closed in told:
            if closed["reporter_id"] != user.id:  # a moderator deciding their own report needs no news of it
                notifications.notify(closed["reporter_id"], notifications.REPORT_DECIDED, report_id=closed["id"])
    for job in effects.sync_jobs:
        jobs.run_now(job)
    return decided


def _take_down(user: CurrentUser, report: dict[str, Any], note: str, effects: _Effects) -> None:
    target_type, target_id = report["target_type"], report["target_id"]
    details: dict[str, Any] = {}
    if target_type == "video":
        video = moderation_sql.take_down_video(video_id=target_id)
        if video is not None:
            effects.video_taken_down(target_id)
            details = {"title": video["title"], "ownerId": str(video["user_id"])}
        else:
            details = {"gone": True}  # deleted by its owner, or taken down already (by a ban, say)
    elif target_type == "comment":
        comment = comments_sql.get_with_video(comment_id=target_id)
        if comment is not None and comment["deleted_at"] is None:
            details = {"content": comment["content"], "authorId": str(comment["user_id"]),
                       "videoId": str(comment["video_id"])}
            comments_sql.delete(comment_id=target_id, by=user.id, moderator=True)
        else:
            details = {"gone": True}
    else:
        tweet = tweets_sql.get(tweet_id=target_id)
        if tweet is not None:
            details = {"content": tweet["content"], "authorId": str(tweet["user_id"])}
            tweets_sql.delete(tweet_id=target_id, user_id=tweet["user_id"])
        else:
            details = {"gone": True}
    moderation_sql.log_action(actor_id=user.id, action="takedown", target_type=target_type, target_id=target_id,
                              report_id=report["id"], note=note, details=details)


def _ban(user: CurrentUser, report: dict[str, Any], note: str, effects: _Effects) -> None:
    banned = report["target_owner_id"]
    if banned is None:  # the account is gone already
        moderation_sql.log_action(actor_id=user.id, action="ban", target_type="user", target_id=report["target_id"],
                                  report_id=report["id"], note=note, details={"gone": True})
        return
    if banned == user.id:
        raise errors.BadRequest("You cannot ban yourself")
    role = moderation_sql.acting_role(user_id=banned)
    if role in MODERATORS:
        raise errors.Forbidden(f"{role.capitalize()}s cannot be banned; change their role from the command line first")
    newly = moderation_sql.ban(user_id=banned)
    ended = sessions_sql.revoke_all(user_id=banned, reason="banned")
    videos = moderation_sql.take_down_videos_of(user_id=banned)
    for video_id in videos:
        effects.video_taken_down(video_id)
    cached.forget_sign_ins(banned)  # every cached "who is this token" answer for them goes once this commits
    cached.forget_channel_counts(banned)
    moderation_sql.log_action(actor_id=user.id, action="ban", target_type="user", target_id=banned,
                              report_id=report["id"], note=note,
                              details={"sessionsRevoked": ended, "videosTakenDown": len(videos),
                                       "alreadyBanned": not newly})


# ------------------------------------------------------------------------------------ blocks


def block(user: CurrentUser, blocked_id: uuid.UUID) -> None:
    if blocked_id == user.id:
        raise errors.BadRequest("You cannot block yourself")
    if users_sql.get_public(user_id=blocked_id) is None:
        raise errors.NotFound("User not found")
    moderation_sql.block(blocker_id=user.id, blocked_id=blocked_id)  # blocking again changes nothing


def unblock(user: CurrentUser, blocked_id: uuid.UUID) -> None:
    if not moderation_sql.unblock(blocker_id=user.id, blocked_id=blocked_id):
        raise errors.NotFound("You have not blocked this user")
