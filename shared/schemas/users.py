"""Account shapes and the account rules, with the original's messages."""

from __future__ import annotations

import re
import uuid
from typing import ClassVar, Self

from pydantic import Field, model_validator

from shared import errors
from shared.schemas import File, FormIn, In, OptionalFile, Out, Text, Timestamp, field, required_file
from shared.text import single_line_problems

EMAIL_RE = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")
MAX_USERNAME = 50
MAX_FULLNAME = 100
MAX_EMAIL = 254
PASSWORD_RULES = "8 to 72 bytes, with a lower-case letter, an upper-case letter and a digit"


class PublicUser(Out):
    id: uuid.UUID
    username: str
    email: str
    fullname: str
    avatar: str
    cover_image: str
    created_at: Timestamp
    updated_at: Timestamp
    email_verified: bool = False  # the user followed the link mailed to `email` (issue #16)


class ChannelProfile(PublicUser):
    # Only the channel's owner sees its email, so the profile may go without it. Pydantic lets a subclass widen a
    # field's type; mypy reports any changed type of an inherited attribute as an incompatible override.
    email: str | None = None  # type: ignore[assignment]
    subscriber_count: int
    channels_subscribed_to_count: int
    is_subscribed: bool


class LoginOut(Out):
    """The signed-in user and the tokens (also set as cookies)."""

    user: PublicUser
    access_token: str
    refresh_token: str


class TokensOut(Out):
    """A rotated pair of tokens (also set as cookies)."""

    access_token: str
    refresh_token: str


# ------------------------------------------------------------------------------------ rules


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


def _refuse(message: str, problems: list[str]) -> None:
    """Every problem found, in one 422."""
    if problems:
        raise errors.ValidationFailed(message, errors=problems)


# ------------------------------------------------------------------------------------ inputs


class RegisterIn(FormIn):
    """POST /user/register (multipart): the account, its avatar and an optional cover image."""

    fullname: Text = field("Ada Lovelace", required=True, max_length=MAX_FULLNAME)
    username: Text = field("ada", required=True, min_length=3, max_length=MAX_USERNAME,
                           description="At least 3 characters, no spaces; stored lower-cased")
    email: Text = field("ada@example.com", required=True, max_length=MAX_EMAIL)
    password: Text = field("Passw0rdX", required=True, min_length=8, max_length=72, description=PASSWORD_RULES)
    avatar: File = Field(description="JPEG, PNG or WebP, up to 10 MB")
    coverImage: OptionalFile = Field(None, description="JPEG, PNG or WebP, up to 10 MB")

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _refuse(self.invalid_message, fullname_problems(self.fullname) + email_problems(self.email)
                + username_problems(self.username) + password_problems(self.password))
        required_file(self.avatar, "Avatar file is required")
        return self


class LoginIn(In):
    """Sign in with an email or a username, and the password."""

    invalid_message: ClassVar[str] = "Login validation failed"
    one_of_required: ClassVar[tuple[str, ...]] = ("email", "username")
    email: Text = field("ada@example.com", description="The email, or else the username (case-insensitive)")
    username: Text = field("ada", description="The username, or else the email (case-insensitive)")
    password: Text = field("Passw0rdX", required=True)

    @model_validator(mode="after")
    def _rules(self) -> Self:
        problems = []
        if not self.email.strip() and not self.username.strip():
            problems.append("Email or username is required")
        if not self.password:
            problems.append("Password is required")
        _refuse(self.invalid_message, problems)
        return self

    @property
    def given_email(self) -> str | None:
        return self.email.strip() or None

    @property
    def given_username(self) -> str | None:
        return self.username.strip() or None

    @property
    def account_key(self) -> str:
        """The account a sign-in is for, as the per-account rate limit counts it (the email if one was sent)."""
        return (self.email or self.username).strip().lower()


class ChangePasswordIn(In):
    invalid_message: ClassVar[str] = "Password change validation failed"
    oldPassword: Text = field("Passw0rdX", required=True)
    newPassword: Text = field("N3wPassw0rd", required=True, min_length=8, max_length=72, description=PASSWORD_RULES)

    @model_validator(mode="after")
    def _rules(self) -> Self:
        problems = []
        if not self.oldPassword:
            problems.append("Old password is required")
        if self.oldPassword and self.newPassword and self.oldPassword == self.newPassword:
            problems.append("New password cannot be the same as the old password")
        problems += password_problems(self.newPassword) if self.newPassword else ["New password is required"]
        _refuse(self.invalid_message, problems)
        return self


class UpdateAccountIn(In):
    """PATCH semantics: an omitted (or null) field is unchanged."""

    invalid_message: ClassVar[str] = "Update validation failed"
    one_of_required: ClassVar[tuple[str, ...]] = ("fullname", "username", "email")
    fullname: str | None = field("Ada King", default=None, max_length=MAX_FULLNAME)
    username: str | None = field("ada.king", default=None, max_length=MAX_USERNAME)
    email: str | None = field("ada.king@example.com", default=None, max_length=MAX_EMAIL)

    @model_validator(mode="after")
    def _rules(self) -> Self:
        changes = self.changes()
        problems = []
        if "fullname" in changes:
            problems += fullname_problems(changes["fullname"])
        if "email" in changes:
            problems += email_problems(changes["email"])
        if "username" in changes:
            problems += username_problems(changes["username"])
        if not changes:
            problems.append("Nothing to update: send fullname, email and/or username")
        _refuse(self.invalid_message, problems)
        return self

    def changes(self) -> dict[str, str]:
        return self.model_dump(exclude_unset=True, exclude_none=True)


class AvatarForm(FormIn):
    """PATCH /user/update-avatar (multipart)."""

    avatar: File = Field(description="JPEG, PNG or WebP, up to 10 MB")

    @model_validator(mode="after")
    def _rules(self) -> Self:
        required_file(self.avatar, "Avatar file is required for update")
        return self


class CoverImageForm(FormIn):
    """PATCH /user/update-cover-image (multipart)."""

    coverImage: File = Field(description="JPEG, PNG or WebP, up to 10 MB")

    @model_validator(mode="after")
    def _rules(self) -> Self:
        required_file(self.coverImage, "Cover Image file is required for update")
        return self
