"""Every error the API can answer with: one class per meaning, mapped to HTTP once (app middleware)."""

from __future__ import annotations

import errno

from chalice import ChaliceUnhandledError


class AppError(ChaliceUnhandledError):
    """Something went wrong."""

    status_code = 500

    def __init__(self, message: str | None = None, *, errors: list[str] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        self.message = message or (self.__doc__ or "Error").strip()
        self.errors = errors or []
        self.headers = headers or {}
        super().__init__(self.message)


class BadRequest(AppError):
    """Bad request"""

    status_code = 400


class ValidationFailed(AppError):
    """Validation failed"""

    status_code = 422


class NotAuthenticated(AppError):
    """Unauthorized request"""

    status_code = 401


class Forbidden(AppError):
    """You are not allowed to do this"""

    status_code = 403


class NotFound(AppError):
    """Not found"""

    status_code = 404


class Conflict(AppError):
    """Already exists"""

    status_code = 409


class Gone(AppError):
    """It was here and expired (a resumable upload past its expiry)"""

    status_code = 410


class PreconditionFailed(AppError):
    """A precondition the request states does not hold (a tus version we do not speak)"""

    status_code = 412


class Locked(AppError):
    """Another request is working on it right now"""

    status_code = 423


class ChecksumMismatch(AppError):
    """The body does not match the checksum the request gave (tus checksum extension: 460)"""

    status_code = 460


class PayloadTooLarge(AppError):
    """Request entity too large"""

    status_code = 413


class UnsupportedMediaType(AppError):
    """Unsupported media type"""

    status_code = 415


class TooManyRequests(AppError):
    """Too many requests"""

    status_code = 429


class ServiceUnavailable(AppError):
    """Service temporarily unavailable"""

    status_code = 503


class StorageFailed(AppError):
    """Media storage failed"""

    status_code = 502


class InsufficientStorage(AppError):
    """Not enough storage space on the server"""

    status_code = 507


# errno values meaning "the disk (or this user's quota) is full": the request failed for want of space, not a bug.
_OUT_OF_SPACE = {errno.ENOSPC, errno.EDQUOT}


def out_of_space(exc: BaseException) -> bool:
    """Whether an exception is a write that failed because the filesystem is full."""
    return isinstance(exc, OSError) and exc.errno in _OUT_OF_SPACE


class InternalError(AppError):
    """Internal server error"""

    status_code = 500


class StorageUnsupported(InternalError):
    """This storage backend cannot do that"""
