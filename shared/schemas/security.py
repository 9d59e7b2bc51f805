"""Shapes of two-factor sign-in and of the sessions list (issue #16, points 4 and 5)."""

from __future__ import annotations

import uuid
from typing import ClassVar, Self

from pydantic import Field, model_validator

from shared import errors
from shared.schemas import In, Out, Text, Timestamp, field
from shared.schemas.users import PublicUser

MAX_CODE = 64  # a TOTP code is 6 digits, a recovery code 19 characters: anything longer is not one


def _refuse_missing(model: In, *names: str) -> None:
    """Each field given, and within its documented length, or one 422 naming every problem."""
    problems = []
    for name in names:
        value: str = getattr(model, name)
        extra = type(model).model_fields[name].json_schema_extra
        limit = extra.get("maxLength") if isinstance(extra, dict) else None
        if not value.strip():
            problems.append(f"{name} is required")
        elif isinstance(limit, int) and len(value) > limit:
            problems.append(f"{name} must be at most {limit} characters")
    if problems:
        raise errors.ValidationFailed(model.invalid_message, errors=problems)


class Me(PublicUser):
    """The signed-in user's own object: the public user, whether two-factor sign-in is on, and their role."""

    two_factor_enabled: bool = False
    role: str = Field("user", description="admin | moderator | user (granted from the command line only)")


class PasswordIn(In):
    invalid_message: ClassVar[str] = "Two-factor validation failed"
    password: Text = field("Passw0rdX", required=True, max_length=72)

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _refuse_missing(self, "password")
        return self


class CodeIn(In):
    invalid_message: ClassVar[str] = "Two-factor validation failed"
    code: Text = field("123456", required=True, max_length=MAX_CODE, description="The authenticator app's 6 digits")

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _refuse_missing(self, "code")
        return self


class DisableIn(In):
    invalid_message: ClassVar[str] = "Two-factor validation failed"
    password: Text = field("Passw0rdX", required=True, max_length=72)
    code: Text = field("123456", required=True, max_length=MAX_CODE,
                       description="The authenticator app's 6 digits, or a recovery code")

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _refuse_missing(self, "password", "code")
        return self


class LoginCodeIn(In):
    invalid_message: ClassVar[str] = "Login validation failed"
    challenge: Text = field("q3Xw0J4bKp7vZs9Lr2NcYd8Tf1Mh6Ga5Ue0Ri3Ob7Wk", required=True, max_length=200,
                            description="What the password step answered")
    code: Text = field("123456", required=True, max_length=MAX_CODE,
                       description="The authenticator app's 6 digits, or a recovery code")

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _refuse_missing(self, "challenge", "code")
        return self


class EnrolmentOut(Out):
    """Show `qrSvg` (or `otpauthUri`) to the authenticator app, then confirm with its first code."""

    secret: str
    otpauth_uri: str
    qr_svg: str


class RecoveryCodesOut(Out):
    """Ten single-use codes, each signing in once in place of a TOTP code: shown this once."""

    recovery_codes: list[str]


class OtpRequiredOut(Out):
    """A password sign-in of an enrolled account: send `challenge` with a code to POST /user/login/otp."""

    otp_required: bool
    challenge: str


class SessionOut(Out):
    id: uuid.UUID
    user_agent: str | None
    device: str
    ip: str | None
    created_at: Timestamp
    last_used_at: Timestamp
    current: bool


class EndedOut(Out):
    ended: int
