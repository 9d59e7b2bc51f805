"""Captions: /api/v2/videos/{videoId}/captions[/{language}] (the owner manages, viewers read), and the caption media a
player fetches without a token under /api/v2/media/captions/{videoId}/ (issue #17, point 3)."""

from __future__ import annotations

import uuid

from chalice import Blueprint, Response

from shared.auth import require_user
from shared.openapi import EMPTY, doc
from shared.schemas.playback import CaptionForm, CaptionSaved, CaptionTrack
from shared.services import captions
from shared.storage.base import HLS_TYPES
from shared.web.captions import TYPES, VTT_TYPE, read_caption, text_response
from shared.web.envelope import ok
from shared.web.request import parse_uuid, path_text, query_param

bp = Blueprint(__name__)
# A public video's captions may be cached anywhere for a while; any other's are signed per viewer (never shared).
PUBLIC_CACHE, PRIVATE_CACHE = "public, max-age=300", "private, no-store"
RAW_EXAMPLES = (("text/vtt", "WEBVTT\n\n1\n00:00:01.000 --> 00:00:04.000\nHello, and welcome.\n"),
                ("application/x-subrip", "1\n00:00:01,000 --> 00:00:04,000\nHello, and welcome.\n"))


def _video_id(value: str) -> uuid.UUID:
    return parse_uuid(value, "Invalid video ID")


def _language(value: str) -> str:
    return captions.normalize_language(path_text(value, "language"))


@bp.route("/videos/{video_id}/captions", methods=["GET"])
@doc("A video's caption tracks (language, label, WebVTT URL)", response=[CaptionTrack], errors=(404,))
def list_captions(video_id: str) -> Response:
    user = require_user(bp.current_request)
    return ok(captions.list_for(user, _video_id(video_id)), "Captions fetched successfully")


@bp.route("/videos/{video_id}/captions/{language}", methods=["PUT"], content_types=TYPES)
@doc("Add or replace the captions in a language (BCP-47 tag): the file as the body (text/vtt or "
     "application/x-subrip, `?label=` to name the track) or as captionFile in a form; SubRip is stored as WebVTT. "
     "201 when new, 200 when replaced", response=CaptionSaved, form=CaptionForm, raw=RAW_EXAMPLES,
     errors=(403, 404, 413, 415, 422))
def put_caption(video_id: str, language: str) -> Response:
    request = bp.current_request
    user = require_user(request)
    vid, tag, upload = _video_id(video_id), _language(language), read_caption(request)
    saved, created = captions.put(user, vid, tag, upload)
    return ok(CaptionSaved.shape(saved), "Captions saved", status=201 if created else 200)


@bp.route("/videos/{video_id}/captions/{language}", methods=["GET"])
@doc("The captions in a language, as WebVTT (text/vtt; charset=utf-8, with an ETag)", errors=(404,))
def get_caption(video_id: str, language: str) -> Response:
    request = bp.current_request
    user = require_user(request)
    track = captions.read(user, _video_id(video_id), _language(language))
    return text_response(request, track["vtt"], content_type=VTT_TYPE, etag=track["etag"],
                         cache_control="private, no-cache")


@bp.route("/videos/{video_id}/captions/{language}", methods=["DELETE"])
@doc("Delete the captions in a language", response=EMPTY, errors=(403, 404))
def delete_caption(video_id: str, language: str) -> Response:
    user = require_user(bp.current_request)
    captions.delete(user, _video_id(video_id), _language(language))
    return ok({}, "Captions deleted")


# ------------------------------------------------------------------ what players fetch (public, or signed)


def _signed() -> tuple[str | None, str | None]:
    request = bp.current_request
    return query_param(request, "expires"), query_param(request, "signature")


@bp.route("/media/captions/{video_id}/master.m3u8", methods=["GET"])
@doc("A captioned video's HLS master playlist: its renditions and a SUBTITLES group of its captions", public=True)
def get_captioned_master(video_id: str) -> Response:
    expires, signature = _signed()
    text = captions.stream_master(video_id, expires, signature)
    # Short-lived, as the stored master's own: it grows as renditions finish, and captions come and go.
    return Response(body=text.encode(), status_code=200, headers={
        "Content-Type": HLS_TYPES["m3u8"], "Cache-Control": PRIVATE_CACHE if signature else "public, max-age=5"})


@bp.route("/media/captions/{video_id}/{language}/index.m3u8", methods=["GET"])
@doc("The subtitle playlist of one caption track (the WebVTT file as one segment)", public=True)
def get_caption_playlist(video_id: str, language: str) -> Response:
    expires, signature = _signed()
    text = captions.media_playlist(video_id, _language(language), expires, signature)
    return Response(body=text.encode(), status_code=200, headers={
        "Content-Type": HLS_TYPES["m3u8"], "Cache-Control": PRIVATE_CACHE if signature else "public, max-age=60"})


@bp.route("/media/captions/{video_id}/{language}/captions.vtt", methods=["GET"])
@doc("One caption track's WebVTT file, for a <track> element or an HLS player", public=True)
def get_caption_file(video_id: str, language: str) -> Response:
    request = bp.current_request
    expires, signature = _signed()
    track = captions.media_track(video_id, _language(language), expires, signature)
    return text_response(request, track["vtt"], content_type=VTT_TYPE, etag=track["etag"],
                         cache_control=PRIVATE_CACHE if signature else PUBLIC_CACHE)


@bp.route("/media/captions/{video_id}/{language}/segment.vtt", methods=["GET"])
@doc("One caption track's WebVTT file as its subtitle playlist's segment (X-TIMESTAMP-MAP ties it to the stream)",
     public=True)
def get_caption_segment(video_id: str, language: str) -> Response:
    request = bp.current_request
    expires, signature = _signed()
    track = captions.media_track(video_id, _language(language), expires, signature, segment=True)
    return text_response(request, track["vtt"], content_type=VTT_TYPE, etag=track["etag"],
                         cache_control=PRIVATE_CACHE if signature else PUBLIC_CACHE)
