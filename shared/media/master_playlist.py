"""An HLS master playlist with the video's caption tracks in it: a `SUBTITLES` rendition group (RFC 8216 §4.3.4.1
and §4.3.4.2) that hls.js, Safari and ExoPlayer offer as subtitles with no code of the page's own. Pure functions
over playlist text, so whoever writes or serves a master (the transcoder as renditions finish, the media route)
can add the group.

    #EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,URI="..."
    #EXT-X-STREAM-INF:BANDWIDTH=...,SUBTITLES="subs"

and the subtitle media playlist each URI points at: one segment, the whole WebVTT file, as long as the video.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from urllib.parse import urljoin

GROUP_ID = "subs"
_SUBTITLES_ATTR = re.compile(r',?SUBTITLES="[^"]*"')


@dataclass(frozen=True)
class SubtitleTrack:
    language: str  # a BCP-47 tag (RFC 5646), as LANGUAGE wants it
    name: str  # what players list it as; unique within the group
    uri: str  # the subtitle media playlist (absolute, or relative to the master)


def _quoted(value: str) -> str:
    """A quoted-string attribute value: it may hold neither '"' nor a line break (RFC 8216 §4.2)."""
    return '"' + re.sub(r"[\r\n]+", " ", value).replace('"', "'") + '"'


def _unique_names(tracks: list[SubtitleTrack]) -> list[str]:
    """NAME must be unique within a group: a repeated label gets its language tag added."""
    seen: dict[str, int] = {}
    for track in tracks:
        seen[track.name] = seen.get(track.name, 0) + 1
    return [f"{t.name} ({t.language})" if seen[t.name] > 1 else t.name for t in tracks]


def with_subtitles(master_text: str, tracks: list[SubtitleTrack]) -> str:
    """`master_text` with a SUBTITLES group of `tracks` and every variant stream pointing at it; unchanged when
    there are no tracks. Idempotent: a SUBTITLES group or attribute already there is replaced, not doubled. The
    first track is not DEFAULT (players show captions when the viewer asks), every one is AUTOSELECT (a player may
    pick the viewer's language)."""
    if not tracks:
        return master_text
    lines = [line for line in master_text.splitlines()
             if not (line.startswith("#EXT-X-MEDIA:") and "TYPE=SUBTITLES" in line)]
    media = [f"#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID={_quoted(GROUP_ID)},NAME={_quoted(name)},"
             f"LANGUAGE={_quoted(track.language)},DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,URI={_quoted(track.uri)}"
             for track, name in zip(tracks, _unique_names(tracks), strict=True)]
    out: list[str] = []
    placed = False
    for line in lines:
        if line.startswith("#EXT-X-STREAM-INF:"):
            if not placed:  # the renditions are declared before the first variant that names their group
                out.extend(media)
                placed = True
            line = _SUBTITLES_ATTR.sub("", line) + f",SUBTITLES={_quoted(GROUP_ID)}"
        out.append(line)
    if not placed:  # no variant yet (a master still growing): the group waits at the end
        out.extend(media)
    return "\n".join(out) + "\n"


def rebased(master_text: str, base_url: str) -> str:
    """The master with every URI (variant lines and URI="..." attributes) resolved against `base_url`, the URL the
    text was published at: served from another URL, its relative URIs would point nowhere."""
    def attribute(match: re.Match[str]) -> str:
        return f'URI="{urljoin(base_url, match.group(1))}"'

    out = []
    for line in master_text.splitlines():
        if line.startswith("#"):
            line = re.sub(r'URI="([^"]*)"', attribute, line)
        elif line.strip():
            line = urljoin(base_url, line.strip())
        out.append(line)
    return "\n".join(out) + "\n"


def subtitle_playlist(vtt_uri: str, duration: float) -> str:
    """The media playlist of one caption track: the whole WebVTT file as a single segment spanning the video.
    TARGETDURATION is the segment's duration rounded up (§4.3.3.1); a video of unknown length gets 1 s less than a
    day, which players read as "the file covers the stream"."""
    seconds = duration if duration > 0 else 86399.0
    return ("#EXTM3U\n#EXT-X-VERSION:3\n"
            f"#EXT-X-TARGETDURATION:{max(1, math.ceil(seconds))}\n#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXT-X-PLAYLIST-TYPE:VOD\n"
            f"#EXTINF:{seconds:.3f},\n{vtt_uri}\n#EXT-X-ENDLIST\n")


# Where ffmpeg's MPEG-TS muxer starts a stream's clock (its default 1.4 s offset, in 90 kHz ticks): the segments our
# transcoder writes begin there, so a cue at 0 s of the WebVTT file belongs at that timestamp of the stream.
MPEGTS_ORIGIN = 126000


def timestamp_mapped(vtt: str, mpegts: int = MPEGTS_ORIGIN) -> str:
    """The WebVTT file as an HLS subtitle segment: with the X-TIMESTAMP-MAP header that ties its cue times to the
    stream's MPEG-TS clock (RFC 8216 §3.5; without it Safari reads cue time 0 as timestamp 0, 1.4 s before the first
    frame). A file that maps itself already is left as it is; <track> elements ignore the header."""
    header, sep, rest = vtt.partition("\n\n")
    if "X-TIMESTAMP-MAP=" in header:
        return vtt
    first, newline, more = header.partition("\n")
    return f"{first}\nX-TIMESTAMP-MAP=MPEGTS:{mpegts},LOCAL:00:00:00.000{newline}{more}{sep}{rest}"
