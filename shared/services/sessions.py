"""A user's signed-in devices: listing them, and ending one or all the others (refused at once in every process)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from shared import auth, cached, errors
from shared.sql import sessions as sessions_sql

# The first match names the browser / the system; order matters (Edge and Opera say "Chrome", Chrome says "Safari").
_BROWSERS = (("Edge", r"Edg(e|A|iOS)?/"), ("Opera", r"OPR/|Opera"), ("Samsung Internet", r"SamsungBrowser/"),
             ("Firefox", r"Firefox/|FxiOS/"), ("Chrome", r"Chrome/|CriOS/"), ("Safari", r"Safari/"),
             ("curl", r"^curl/"), ("Python", r"python-requests|aiohttp|httpx|urllib"), ("Postman", r"PostmanRuntime"))
_SYSTEMS = (("Android", r"Android"), ("iOS", r"iPhone|iPad|iPod"), ("Windows", r"Windows"),
            ("macOS", r"Mac OS X|Macintosh"), ("ChromeOS", r"CrOS"), ("Linux", r"Linux"))


def device_name(user_agent: str | None) -> str:
    """"Firefox on Linux", "Safari on iOS", "curl": what a person recognises of a User-Agent."""
    ua = user_agent or ""
    browser = next((name for name, pattern in _BROWSERS if re.search(pattern, ua)), None)
    system = next((name for name, pattern in _SYSTEMS if re.search(pattern, ua)), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown device"


def list_mine(current: auth.CurrentUser) -> list[dict[str, Any]]:
    return [{**row, "device": device_name(row["user_agent"]), "current": row["id"] == current.session_id}
            for row in sessions_sql.list_live(user_id=current.id)]


def end(current: auth.CurrentUser, session_id: uuid.UUID) -> None:
    """End one of my sessions (this one too: that is a logout). Its tokens are refused from the next request on,
    in every process: the cached "who is this token" answers are retired with it."""
    if not sessions_sql.revoke_own(user_id=current.id, session_id=session_id, reason="ended by the user"):
        raise errors.NotFound("Session not found")
    cached.forget_sign_ins(current.id)


def end_others(current: auth.CurrentUser) -> int:
    ended = sessions_sql.revoke_others(user_id=current.id, keep_session_id=current.session_id,
                                       reason="ended by the user")
    cached.forget_sign_ins(current.id)
    return ended
