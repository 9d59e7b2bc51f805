"""Where a video's captions are delivered: the URLs of its caption files, of their subtitle playlists and of the HLS
master playlist that carries them (all under /api/v2/media/captions/{videoId}, served by functions/captions.py), and
the signature that opens them while the video is not public.

Like the video's own media, a public video's captions are reachable by anyone with the URL (a <track> element or a
player sends no token); any other's only through URLs signed over the video's captions folder and expiring with the
other signed media URLs (SIGNED_URL_TTL). The signature is carried from the master playlist to the URLs inside it,
so a player that was handed one signed URL reaches everything it needs.
"""

from __future__ import annotations

from typing import Any

from shared.settings import get_settings
from shared.storage.base import MEDIA_ROUTE, UrlSigner

ROUTE = f"{MEDIA_ROUTE}/captions"
MASTER = "master.m3u8"
PLAYLIST = "index.m3u8"
VTT_FILE = "captions.vtt"
SEGMENT = "segment.vtt"  # the same file as the subtitle playlist's segment, its cue times tied to the stream's clock


def _signer() -> UrlSigner:
    return UrlSigner(get_settings().media_url_secret)


def _key(video_id: object) -> str:
    return f"captions/{video_id}"


def signed_query(video_id: object) -> str:
    """`expires=…&signature=…` over every caption URL of the video."""
    return _signer().query(_key(video_id))


def signature_valid(video_id: object, expires: str | None, signature: str | None) -> bool:
    return _signer().valid(_key(video_id), expires, signature)


def _url(path: str, query: str) -> str:
    url = f"{get_settings().public_url}{ROUTE}/{path}"
    return f"{url}?{query}" if query else url


def vtt_url(video_id: object, language: str, query: str = "") -> str:
    return _url(f"{video_id}/{language}/{VTT_FILE}", query)


def segment_url(video_id: object, language: str, query: str = "") -> str:
    return _url(f"{video_id}/{language}/{SEGMENT}", query)


def playlist_url(video_id: object, language: str, query: str = "") -> str:
    return _url(f"{video_id}/{language}/{PLAYLIST}", query)


def master_url(video_id: object, query: str = "") -> str:
    return _url(f"{video_id}/{MASTER}", query)


def query_for(row: dict[str, Any]) -> str:
    """The signature a video's caption URLs carry: none for a public video, a fresh one for any other."""
    return "" if row["is_published"] else signed_query(row["id"])


def tracks(row: dict[str, Any], query: str) -> list[dict[str, Any]]:
    """A video row's caption tracks (`caption_tracks`, `[{language, label}]`) as the wire lists them."""
    return [{"language": t["language"], "label": t["label"], "url": vtt_url(row["id"], t["language"], query)}
            for t in row.get("caption_tracks") or ()]
