"""Account shapes and the account rules, with the original's messages."""

from __future__ import annotations

import re
import uuid

from shared.schemas import In, Out, Timestamp
from shared.text import single_line_problems

EMAIL_RE = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")
MAX_USERNAME = 50
MAX_FULLNAME = 100
MAX_EMAIL = 254


class PublicUser(Out):
    id: uuid.UUID
    username: str
    email: str
    fullname: str
    avatar: str
    cover_image: str
    created_at: Timestamp
    updated_at: Timestamp


class ChannelProfile(PublicUser):
    email: str | None = None  # only the channel's owner sees it
    subscriber_count: int
    channels_subscribed_to_count: int
    is_subscribed: bool


class LoginIn(In):
    email: str | None = None
    username: str | None = None
    password: str | None = None


class RegisterIn(In):
    fullname: str | None = None
    username: str | None = None
    email: str | None = None
    password: str | None = None


class UpdateAccountIn(In):
    fullname: str | None = None
    username: str | None = None
    email: str | None = None


class ChangePasswordIn(In):
    oldPassword: str | None = None  # noqa: N815 - wire names
    newPassword: str | None = None  # noqa: N815


def password_problems(password: str | None) -> list[str]:
    """The original's password rules, with bcrypt's 72-byte ceiling and any printable character allowed."""
    if not password:
        return ["Password is required"]
    problems = []
    if not 8 <= len(password) or len(password.encode("utf-8")) > 72:
        problems.append("Password must be between 8 and 72 characters")
    if not re.search(r"[a-z]", password):
        problems.append("Password must contain at least one lowercase letter")
    if not re.search(r"[A-Z]", password):
        problems.append("Password must contain at least one uppercase letter")
    if not re.search(r"[0-9]", password):
        problems.append("Password must contain at least one number")
    if not password.isprintable():
        problems.append("Password contains invalid characters. Only printable characters are allowed.")
    return problems


def fullname_problems(fullname: str | None) -> list[str]:
    if not fullname or not fullname.strip():
        return ["Full name is required"]
    if len(fullname.strip()) > MAX_FULLNAME:
        return [f"Full name must be at most {MAX_FULLNAME} characters"]
    return single_line_problems(fullname, "Full name")


def email_problems(email: str | None) -> list[str]:
    if not email or not email.strip():
        return ["Email is required"]
    value = email.strip()
    if not EMAIL_RE.match(value) or len(value) > MAX_EMAIL:
        return ["Invalid email address"]
    return []


def username_problems(username: str | None) -> list[str]:
    if not username or not username.strip():
        return ["Username is required"]
    value = username.strip()
    problems = []
    if len(value) < 3:
        problems.append("Username must be at least 3 characters")
    if len(value) > MAX_USERNAME:
        problems.append(f"Username must be at most {MAX_USERNAME} characters")
    if re.search(r"\s", value):
        problems.append("Username cannot contain spaces")
    if "/" in value or "?" in value or "#" in value or "%" in value:
        problems.append("Username cannot contain / ? # or %")
    return problems + single_line_problems(value, "Username")


def normalize_username(username: str) -> str:
    return username.strip().lower()


def normalize_email(email: str) -> str:
    return email.strip().lower()
