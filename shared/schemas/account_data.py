"""Shapes of account deletion and data export (issue #16, points 6 and 7)."""

from __future__ import annotations

import uuid
from typing import ClassVar, Self

from pydantic import model_validator

from shared import errors
from shared.schemas import In, Out, Text, Timestamp, field

MAX_PASSWORD = 72  # bcrypt's limit: a longer one was never accepted, so it cannot be the account's
MAX_CODE = 64  # a TOTP code is 6 digits, a recovery code 19 characters


class DeleteAccountIn(In):
    """The password, and a TOTP or recovery code when two-factor sign-in is on."""

    invalid_message: ClassVar[str] = "Account deletion validation failed"
    password: Text = field("MyCurrentPassw0rd", required=True, max_length=MAX_PASSWORD)
    code: Text = field("123456", max_length=MAX_CODE,
                       description="Required when two-factor sign-in is on: the app's 6 digits, or a recovery code")

    @model_validator(mode="after")
    def _rules(self) -> Self:
        problems = []
        if not self.password:
            problems.append("password is required")
        elif len(self.password) > MAX_PASSWORD:
            problems.append(f"password must be at most {MAX_PASSWORD} characters")
        if len(self.code) > MAX_CODE:
            problems.append(f"code must be at most {MAX_CODE} characters")
        if problems:
            raise errors.ValidationFailed(self.invalid_message, errors=problems)
        return self


class ExportCreatedOut(Out):
    """The export being prepared: follow it with GET /api/v2/user/export/{exportId}."""

    export_id: uuid.UUID


class ExportStatusOut(Out):
    """`state`: pending (being built), ready (`url` downloads it until `expiresAt`), failed, or expired."""

    state: str
    url: str | None = None
    expires_at: Timestamp | None = None
