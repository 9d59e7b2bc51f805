"""Notifications: /api/v2/notifications/* (issue #15, points 4 and 8): the caller's inbox, marking read, settings."""

from __future__ import annotations

from chalice import Blueprint, Response

from shared import errors
from shared.auth import require_user
from shared.openapi import doc
from shared.schemas import parse_input
from shared.schemas.notifications import (
    NotificationPage,
    NotificationSettings,
    NotificationSettingsIn,
    NotificationsRead,
)
from shared.services import notifications
from shared.web.body import read_body
from shared.web.envelope import ok
from shared.web.request import BODY_TYPES, limit_param, parse_uuid, query_param

bp = Blueprint(__name__)


@bp.route("/", methods=["GET"])
@doc("Your notifications, newest first, paged by cursor, with how many are unread", response=NotificationPage,
     query=(("cursor", "string", "nextCursor of the previous page (omit for the first page)"),
            ("limit", "integer", "1-100, default 20"),
            ("unread", "boolean", "true: only the unread ones (default false)")), errors=(400,))
def list_notifications() -> Response:
    request = bp.current_request
    user = require_user(request)
    unread = query_param(request, "unread")
    if unread not in (None, "true", "false"):
        raise errors.BadRequest("unread must be true or false")
    page = notifications.inbox(user, cursor=query_param(request, "cursor"), limit=limit_param(request),
                               unread_only=unread == "true")
    return ok(page, "Notifications fetched successfully")


@bp.route("/{notification_id}/read", methods=["POST"], content_types=BODY_TYPES)
@doc("Mark one of your notifications read", response=NotificationsRead, errors=(400, 404))
def read_notification(notification_id: str) -> Response:
    user = require_user(bp.current_request)
    done = notifications.mark_read(user, parse_uuid(notification_id, "Invalid notification ID"))
    return ok(done, "Notification marked read")


@bp.route("/read-all", methods=["POST"], content_types=BODY_TYPES)
@doc("Mark all your notifications read", response=NotificationsRead)
def read_all_notifications() -> Response:
    user = require_user(bp.current_request)
    return ok(notifications.mark_all_read(user), "All notifications marked read")


@bp.route("/settings", methods=["GET"])
@doc("Which notification types you receive (all by default)", response=NotificationSettings)
def notification_settings() -> Response:
    user = require_user(bp.current_request)
    return ok(notifications.settings_of(user.id), "Notification settings fetched successfully")


@bp.route("/settings", methods=["PATCH"], content_types=BODY_TYPES)
@doc("Turn notification types on or off: {type: boolean}; the types left out keep their setting",
     response=NotificationSettings, body=NotificationSettingsIn, errors=(400, 422))
def update_notification_settings() -> Response:
    user = require_user(bp.current_request)
    changes = parse_input(NotificationSettingsIn, read_body(bp.current_request)).changes()
    return ok(notifications.update_settings(user, changes), "Notification settings updated")
