"""Shapes of email verification and password reset (issue #16, points 2-3)."""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import model_validator

from shared import errors
from shared.schemas import In, Out, Text, field
from shared.schemas.users import (
    MAX_EMAIL,
    MAX_USERNAME,
    PASSWORD_RULES,
    normalize_email,
    normalize_username,
    password_problems,
)

MAX_TOKEN = 200
TOKEN_EXAMPLE = "q3Yc0p1bq6f1J0cQm2Wm2fTt3y8a0kJ6QwJmHq9Vd0s.mJ3x1bq6f1J0cQm2Wm2fTt3y"


def _refuse(message: str, problems: list[str]) -> None:
    if problems:
        raise errors.ValidationFailed(message, errors=problems)


class VerifyEmailIn(In):
    """The token of the link mailed to the address (its `token` query parameter)."""

    invalid_message: ClassVar[str] = "Email verification failed"
    token: Text = field(TOKEN_EXAMPLE, required=True, max_length=MAX_TOKEN)

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _refuse(self.invalid_message, [] if self.token.strip() else ["Token is required"])
        if len(self.token) > MAX_TOKEN:
            raise errors.BadRequest("Token is too long to be a verification link")
        return self


class EmailVerifiedOut(Out):
    email: str
    email_verified: bool


class ForgotPasswordIn(In):
    """The account's email or its username."""

    invalid_message: ClassVar[str] = "Password reset validation failed"
    one_of_required: ClassVar[tuple[str, ...]] = ("email", "username")
    email: Text = field("ada@example.com", max_length=MAX_EMAIL, description="The account's email, or else its username")
    username: Text = field("ada", max_length=MAX_USERNAME, description="The account's username, or else its email")

    @model_validator(mode="after")
    def _rules(self) -> Self:
        problems = [] if self.email.strip() or self.username.strip() else ["Email or username is required"]
        if len(self.email.strip()) > MAX_EMAIL:
            problems.append("Invalid email address")
        if len(self.username.strip()) > MAX_USERNAME:
            problems.append(f"Username must be at most {MAX_USERNAME} characters")
        _refuse(self.invalid_message, problems)
        return self

    @property
    def given_email(self) -> str | None:
        return normalize_email(self.email) or None

    @property
    def given_username(self) -> str | None:
        return None if self.email.strip() else normalize_username(self.username) or None

    @property
    def account_key(self) -> str:
        """What the per-account rate limit counts: the identifier given, whether or not an account has it."""
        return self.given_email or self.given_username or ""


class ResetPasswordIn(In):
    invalid_message: ClassVar[str] = "Password reset validation failed"
    token: Text = field(TOKEN_EXAMPLE, required=True, max_length=MAX_TOKEN)
    newPassword: Text = field("N3wPassw0rd", required=True, min_length=8, max_length=72, description=PASSWORD_RULES)

    @model_validator(mode="after")
    def _rules(self) -> Self:
        problems = [] if self.token.strip() else ["Token is required"]
        problems += password_problems(self.newPassword) if self.newPassword else ["New password is required"]
        _refuse(self.invalid_message, problems)
        if len(self.token) > MAX_TOKEN:
            raise errors.BadRequest("Token is too long to be a password reset link")
        return self
