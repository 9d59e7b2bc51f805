"""A caption upload as a request carries it (the file as the whole body, typed text/vtt or application/x-subrip, or
a multipart form's `captionFile`), and a caption file or subtitle playlist as a response (with its ETag, answering
If-None-Match with a 304)."""

from __future__ import annotations

from chalice import Response
from chalice.app import Request

from shared import errors
from shared.media.captions import SRT, VTT, CaptionUpload
from shared.schemas import parse_form
from shared.schemas.playback import CAPTION_ALIASES, CAPTION_TYPES, CaptionForm, check_label
from shared.settings import Settings, get_settings
from shared.web.forms import read_form
from shared.web.request import MULTIPART, media_type, query_param, raw_body
from shared.web.upload_policy import API, UploadRoute

VTT_TYPE = "text/vtt; charset=utf-8"
TYPES = [*CAPTION_TYPES, *CAPTION_ALIASES, MULTIPART]
# Not one of upload_policy.ROUTES: a caption's body is small, so the server reads it whole like any small body
# (max_json_bytes). The form's file may be that large; the caption cap is checked after, with its own message.
CAPTION_FORM = UploadRoute("PUT", f"{API}/videos/{{video_id}}/captions/{{language}}",
                           lambda s: {"captionFile": Settings.max_json_bytes})


def _within_cap(size: int) -> None:
    cap = get_settings().max_caption_bytes
    if size > cap:
        raise errors.PayloadTooLarge(f"Caption file too large: {size:,} bytes, the limit is {cap:,} bytes "
                                     f"({cap // 1024} KB)")


def read_caption(request: Request) -> CaptionUpload:
    """The caption file the request carries; 415 for another body type, 413 over MAX_CAPTION_BYTES, 400 for an
    empty one."""
    kind = media_type(request)
    if kind == MULTIPART:
        with read_form(request, CAPTION_FORM) as form:
            sent = parse_form(CaptionForm, form)
            _within_cap(sent.captionFile.size)
            data = sent.captionFile.path.read_bytes()
        return CaptionUpload(data, None, check_label(sent.label or query_param(request, "label") or ""))
    declared = CAPTION_TYPES.get(kind) or CAPTION_ALIASES.get(kind)
    if declared is None:
        raise errors.UnsupportedMediaType(f"Unsupported media type: {kind or 'none'}; send the caption file as "
                                          "text/vtt or application/x-subrip, or as captionFile in multipart/form-data")
    data = raw_body(request)
    _within_cap(len(data))
    if not data.strip():
        raise errors.BadRequest("The caption file is empty")
    return CaptionUpload(data, VTT if declared == "vtt" else SRT, check_label(query_param(request, "label") or ""))


def text_response(request: Request, body: str, *, content_type: str, etag: str, cache_control: str) -> Response:
    """`body` with its ETag; a 304 without it when If-None-Match names that ETag."""
    headers: dict[str, str | list[str]] = {"Content-Type": content_type, "ETag": etag, "Cache-Control": cache_control,
                                           "Vary": "Origin"}
    wanted = request.headers.get("if-none-match") or ""
    if any(tag.strip().removeprefix("W/") in (etag, "*") for tag in wanted.split(",") if tag.strip()):
        return Response(body=b"", status_code=304, headers=headers)
    # Bytes: caption types are binary types of the app (API Gateway hands their bodies over untouched), and a binary
    # type's answer is base64-encoded from bytes.
    return Response(body=body.encode(), status_code=200, headers=headers)
