"""Every SQL statement that touches users."""

from __future__ import annotations

import uuid
from typing import Any

from shared import db

PUBLIC_COLUMNS = "id, username, email, fullname, avatar, cover_image, created_at, updated_at, email_verified"
_UPDATABLE = {"fullname", "email", "username"}


def get_public(*, user_id: uuid.UUID) -> dict[str, Any] | None:
    return db.fetch_one(f"SELECT {PUBLIC_COLUMNS} FROM users WHERE id = :id", id=user_id)


def get_authenticated(*, user_id: uuid.UUID, session_id: uuid.UUID) -> dict[str, Any] | None:
    """The user behind an access token, and when its session expires; only while the session is live."""
    return db.fetch_one(
        f"SELECT {', '.join('u.' + c.strip() for c in PUBLIC_COLUMNS.split(','))},"
        " EXISTS (SELECT 1 FROM two_factor t WHERE t.user_id = u.id AND t.confirmed_at IS NOT NULL)"
        " AS two_factor_enabled, u.role,"
        " extract(epoch FROM s.expires_at)::float8 AS session_expires FROM users u"
        " JOIN sessions s ON s.user_id = u.id"
        # A banned account's tokens are refused even from a session that a sign-in racing the ban created.
        " WHERE u.id = :uid AND s.id = :sid AND s.revoked_at IS NULL AND s.expires_at > now() AND u.banned_at IS NULL",
        uid=user_id, sid=session_id,
    )


def find_for_login(*, email: str | None, username: str | None) -> dict[str, Any] | None:
    """Both identifiers given must belong to the same account."""
    return db.fetch_one(
        f"SELECT {PUBLIC_COLUMNS}, password_hash, banned_at IS NOT NULL AS banned FROM users"
        " WHERE (CAST(:email AS text) IS NULL OR email = :email)"
        " AND (CAST(:username AS text) IS NULL OR username = :username)",
        email=email, username=username,
    )


def taken_field(*, username: str | None, email: str | None, exclude_id: uuid.UUID | None = None) -> str | None:
    """Which of username / email another account already uses (checked before storing any file)."""
    row = db.fetch_one(
        "SELECT username = :username AS username_taken FROM users"
        " WHERE (username = :username OR email = :email) AND (CAST(:exclude AS uuid) IS NULL OR id <> :exclude)"
        " ORDER BY username = :username DESC LIMIT 1",
        username=username, email=email, exclude=exclude_id,
    )
    if row is None:
        return None
    return "username" if row["username_taken"] else "email"


def insert(*, username: str, email: str, fullname: str, password_hash: str, avatar: str,
           avatar_public_id: str | None, cover_image: str, cover_image_public_id: str | None) -> dict[str, Any]:
    row = db.fetch_one(
        "INSERT INTO users (username, email, fullname, password_hash, avatar, avatar_public_id,"
        " cover_image, cover_image_public_id)"
        " VALUES (:username, :email, :fullname, :password_hash, :avatar, :avatar_pid, :cover, :cover_pid)"
        f" RETURNING {PUBLIC_COLUMNS}",
        username=username, email=email, fullname=fullname, password_hash=password_hash,
        avatar=avatar, avatar_pid=avatar_public_id, cover=cover_image, cover_pid=cover_image_public_id,
    )
    assert row is not None
    return row


def update_profile(*, user_id: uuid.UUID, changes: dict[str, str]) -> dict[str, Any] | None:
    columns = [c for c in changes if c in _UPDATABLE]
    assignments = ", ".join(f"{c} = :{c}" for c in columns)  # column names come from _UPDATABLE only
    return db.fetch_one(
        f"UPDATE users SET {assignments}, updated_at = now() WHERE id = :id RETURNING {PUBLIC_COLUMNS}",
        id=user_id, **{c: changes[c] for c in columns},
    )


def replace_image(*, user_id: uuid.UUID, column: str, url: str, public_id: str) -> tuple[dict[str, Any], str | None]:
    """Point avatar / cover_image at a new file; return the new row and the old file's public id."""
    if column not in ("avatar", "cover_image"):
        raise ValueError(column)
    row = db.fetch_one(
        f"WITH old AS (SELECT {column}_public_id AS old_public_id FROM users WHERE id = :id FOR UPDATE)"
        f" UPDATE users SET {column} = :url, {column}_public_id = :pid, updated_at = now()"
        f" FROM old WHERE users.id = :id RETURNING {PUBLIC_COLUMNS}, old.old_public_id",
        id=user_id, url=url, pid=public_id,
    )
    assert row is not None
    old = row.pop("old_public_id")
    return row, old


def get_password_hash(*, user_id: uuid.UUID) -> str | None:
    return db.fetch_value("SELECT password_hash FROM users WHERE id = :id", id=user_id)


def set_password_hash(*, user_id: uuid.UUID, password_hash: str) -> None:
    db.execute("UPDATE users SET password_hash = :h, updated_at = now() WHERE id = :id", h=password_hash, id=user_id)


def id_by_username(*, username: str) -> uuid.UUID | None:
    return db.fetch_value("SELECT id FROM users WHERE username = :username", username=username)


def channel_stats(*, user_id: uuid.UUID) -> dict[str, Any] | None:
    """A channel's public profile and subscription counts, in one round trip (cached: no viewer-specific data)."""
    return db.fetch_one(
        f"SELECT {PUBLIC_COLUMNS},"
        " (SELECT count(*) FROM subscriptions s WHERE s.channel_id = u.id) AS subscriber_count,"
        " (SELECT count(*) FROM subscriptions s WHERE s.subscriber_id = u.id) AS channels_subscribed_to_count"
        " FROM users u WHERE id = :id",
        id=user_id,
    )
