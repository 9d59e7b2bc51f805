"""Which routes take uploads, their file fields and how large each may be: declared once, here.

Read by the WSGI shim (which bodies it streams to disk, and the body limit it enforces before reading), by the
handlers (the file fields `read_form` accepts, with their limits), and checked against the Nginx site by a test
(tests/infra/test_onebox.py). Every other request body is JSON or a small form (settings.max_json_bytes).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from shared.media.files import MB
from shared.settings import Settings, get_settings

API = "/api/v2"
# Room for the text fields and the multipart framing around the files.
FORM_OVERHEAD_BYTES = 1 * MB


def _images(*fields: str) -> Callable[[Settings], dict[str, int]]:
    return lambda s: dict.fromkeys(fields, s.max_image_bytes)


@dataclass(frozen=True)
class UploadRoute:
    method: str
    path: str  # the route as registered, e.g. /api/v2/videos/{video_id}
    limits: Callable[[Settings], dict[str, int]]  # file field -> its size limit
    raw: bool = False  # the body is the file itself (the local store's direct-upload endpoint), not a form

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(self.path)) + "/?$")

    def file_fields(self, settings: Settings | None = None) -> dict[str, int]:
        return self.limits(settings or get_settings())

    def body_limit(self, settings: Settings | None = None) -> int:
        """The largest body the route takes: every file at its limit, plus the form around them."""
        return sum(self.file_fields(settings).values()) + FORM_OVERHEAD_BYTES


REGISTER = UploadRoute("POST", f"{API}/user/register", _images("avatar", "coverImage"))
UPDATE_AVATAR = UploadRoute("PATCH", f"{API}/user/update-avatar", _images("avatar"))
UPDATE_COVER = UploadRoute("PATCH", f"{API}/user/update-cover-image", _images("coverImage"))
PUBLISH_VIDEO = UploadRoute("POST", f"{API}/videos",
                            lambda s: {"videoFile": s.max_video_bytes, "thumbnail": s.max_image_bytes})
UPDATE_VIDEO = UploadRoute("PATCH", f"{API}/videos/{{video_id}}", _images("thumbnail"))
DIRECT_UPLOAD = UploadRoute("PUT", f"{API}/uploads/{{upload_id}}",
                            lambda s: {"file": max(s.max_video_bytes, s.max_image_bytes)}, raw=True)
# A tus chunk: any part of an upload up to its whole (a client behind a capped proxy sends smaller chunks).
TUS_CHUNK = UploadRoute("PATCH", f"{API}/uploads/tus/{{upload_id}}",
                        lambda s: {"file": max(s.max_video_bytes, s.max_image_bytes)}, raw=True)
ROUTES = (REGISTER, UPDATE_AVATAR, UPDATE_COVER, PUBLISH_VIDEO, UPDATE_VIDEO, DIRECT_UPLOAD, TUS_CHUNK)


def route_for(method: str, path: str) -> UploadRoute | None:
    """The upload route a request's method and (query-less) path reach, if any."""
    return next((r for r in ROUTES if r.method == method and r.pattern.match(path)), None)


def body_limit(method: str, path: str, content_type: str) -> int:
    """The largest request body accepted: an upload route's own limit for its form (or raw file), 1 MB else."""
    route = route_for(method, path)
    if route is not None and (route.raw or content_type.lower().startswith("multipart/form-data")):
        return route.body_limit()
    return get_settings().max_json_bytes


def is_raw_upload(method: str, path: str) -> bool:
    route = route_for(method, path)
    return route is not None and route.raw
