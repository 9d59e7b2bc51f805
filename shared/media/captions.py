"""Caption files: WebVTT checked line by line, SubRip (SRT) read and turned into WebVTT. Pure functions over text.

What is checked is what players choke on: the `WEBVTT` signature, each cue's timing line (`00:01.000 --> 00:04.000`,
end not before start, settings as `name:value`), a cue's text never holding `-->`, and at least one cue. Every
refusal is a `CaptionError` carrying the 1-based line it found wrong, so an uploader can fix the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

VTT = "vtt"
SRT = "srt"


class CaptionError(ValueError):
    """A caption file that cannot be used; `line` is where (1-based), `reason` what is wrong there."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class CaptionUpload:
    """A caption file as received: its bytes, the format its sender declared, the label it asked for."""

    data: bytes
    kind: str | None  # VTT or SRT as declared by a raw body's type; None: told by the content (a form's file)
    label: str  # "" when not given


@dataclass(frozen=True)
class Cue:
    start: float  # seconds
    end: float
    text: str


# WebVTT timestamps: hours optional (and of two or more digits), minutes and seconds two digits, milliseconds three.
_VTT_TIME = r"(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})"
_VTT_TIMING = re.compile(rf"^{_VTT_TIME}[ \t]+-->[ \t]+{_VTT_TIME}(?:[ \t]+(.*))?$")
_SETTING = re.compile(r"^[^\s:]+:[^\s:]+$")
# SubRip: HH:MM:SS,mmm (one or two hour digits in the wild, and a '.' from some editors), then optional
# X1:.. Y2:.. coordinates, which WebVTT has no use for.
_SRT_TIME = r"(\d{1,3}):([0-5]?\d):([0-5]?\d)[,.](\d{1,3})"
_SRT_TIMING = re.compile(rf"^{_SRT_TIME}[ \t]*-->[ \t]*{_SRT_TIME}(?:[ \t]+[XYxy]\d:-?\d+)*[ \t]*$")
# SubRip text is loose HTML: keep what WebVTT knows (<i>, <b>, <u>), drop <font ...> (WebVTT styles by CSS), and
# escape any other '<' or a bare '&', which a WebVTT parser would otherwise read as markup.
_KEPT_TAG = re.compile(r"</?[ibu]>", re.IGNORECASE)
_DROPPED_TAG = re.compile(r"</?font\b[^>]*>", re.IGNORECASE)
_BARE_AMP = re.compile(r"&(?!(?:[A-Za-z][A-Za-z0-9]*|#\d+|#[xX][0-9A-Fa-f]+);)")


def decode(raw: bytes) -> str:
    """The file as text: UTF-8 (a byte-order mark dropped), line endings made LF; a CaptionError names the line of
    the first byte that is not UTF-8, or of a NUL."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CaptionError(raw[:exc.start].count(b"\n") + 1, "not UTF-8 text") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        raise CaptionError(text[:text.index("\x00")].count("\n") + 1, "a NUL character")
    return text


def _seconds(hours: str | None, minutes: str, seconds: str, millis: str) -> float:
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(millis.ljust(3, "0")) / 1000


def _blocks(lines: list[str], start: int) -> Iterator[tuple[int, list[str]]]:
    """The blank-line separated blocks of `lines` from index `start`: (index of the block's first line, its lines)."""
    n = start
    while n < len(lines):
        if not lines[n].strip():
            n += 1
            continue
        block_start = n
        block = []
        while n < len(lines) and lines[n].strip():
            block.append(lines[n])
            n += 1
        yield block_start, block


def parse_webvtt(text: str) -> list[Cue]:
    """The cues of a WebVTT file (decoded text), or a CaptionError at the first line that breaks the format."""
    lines = text.split("\n")
    first = lines[0]
    if not (first == "WEBVTT" or first.startswith(("WEBVTT ", "WEBVTT\t"))):
        raise CaptionError(1, "a WebVTT file must start with the line WEBVTT")
    n = 1
    while n < len(lines) and lines[n].strip():  # header lines (X-TIMESTAMP-MAP and the like) up to a blank line
        if "-->" in lines[n]:
            raise CaptionError(n + 1, "a blank line must separate the WEBVTT header from the first cue")
        n += 1
    cues: list[Cue] = []
    for block_start, block in _blocks(lines, n):
        head = block[0]
        if head == "NOTE" or head.startswith(("NOTE ", "NOTE\t")):
            continue  # a comment
        if head in ("STYLE", "REGION") and not cues and "-->" not in "".join(block):
            continue  # style sheets and region definitions come before the cues
        # An optional cue identifier, then the timing line. With no '-->' in either, the line blamed is the one that
        # looks like a broken timing (it starts with a digit), else the one after the identifier.
        if "-->" in head:
            timing_at = 0
        elif len(block) > 1 and ("-->" in block[1] or not head[:1].isdigit()):
            timing_at = 1
        elif head[:1].isdigit():
            timing_at = 0
        else:
            raise CaptionError(block_start + 1, "expected a cue timing line like 00:00:01.000 --> 00:00:04.000")
        cues.append(_vtt_cue(block[timing_at:], block_start + timing_at + 1))
    if not cues:
        raise CaptionError(len(lines), "the file has no cues")
    return cues


def _vtt_cue(block: list[str], line: int) -> Cue:
    match = _VTT_TIMING.match(block[0].strip())
    if match is None:
        raise CaptionError(line, f"expected a cue timing line like 00:00:01.000 --> 00:00:04.000, got {block[0][:60]!r}")
    start, end = _seconds(*match.group(1, 2, 3, 4)), _seconds(*match.group(5, 6, 7, 8))
    if end < start:
        raise CaptionError(line, "the cue ends before it starts")
    for setting in (match.group(9) or "").split():
        if not _SETTING.match(setting):
            raise CaptionError(line, f"cue setting {setting[:40]!r} is not name:value")
    for offset, payload in enumerate(block[1:], start=1):
        if "-->" in payload:
            raise CaptionError(line + offset, "cue text may not contain '-->' (a blank line is missing before the "
                                              "next cue?)")
    return Cue(start, end, "\n".join(block[1:]))


def parse_srt(text: str) -> list[Cue]:
    """The cues of a SubRip file (decoded text): blocks of an optional counter, a timing line and the text."""
    lines = text.split("\n")
    cues: list[Cue] = []
    for block_start, raw_block in _blocks(lines, 0):
        block = [line.rstrip() for line in raw_block]
        timing_at = 1 if block[0].strip().isdigit() else 0
        if timing_at >= len(block):
            raise CaptionError(block_start + 2, "expected a timing line like 00:00:01,000 --> 00:00:04,000")
        match = _SRT_TIMING.match(block[timing_at].strip())
        line = block_start + timing_at + 1
        if match is None:
            raise CaptionError(line, "expected a timing line like 00:00:01,000 --> 00:00:04,000, got "
                                     f"{block[timing_at][:60]!r}")
        start, end = _seconds(*match.group(1, 2, 3, 4)), _seconds(*match.group(5, 6, 7, 8))
        if end < start:
            raise CaptionError(line, "the cue ends before it starts")
        cues.append(Cue(start, end, "\n".join(_srt_text(t) for t in block[timing_at + 1:])))
    if not cues:
        raise CaptionError(max(1, len(lines)), "the file has no cues")
    return cues


def _srt_text(line: str) -> str:
    line = _DROPPED_TAG.sub("", line)
    kept: list[str] = []

    def keep(match: re.Match[str]) -> str:
        kept.append(match.group(0).lower())
        return f"\x00{len(kept) - 1}\x00"  # placeholders: decode() refused NULs, so none are in the text

    line = _KEPT_TAG.sub(keep, line)
    line = _BARE_AMP.sub("&amp;", line)
    line = line.replace("<", "&lt;").replace(">", "&gt;").replace("-->", "--&gt;")
    return re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m.group(1))], line)


def timestamp(seconds: float) -> str:
    """A WebVTT timestamp, always with hours: 00:01:02.345."""
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    return f"{hours:02d}:{minutes:02d}:{millis // 1000:02d}.{millis % 1000:03d}"


def srt_to_webvtt(cues: list[Cue]) -> str:
    """SubRip cues written as a WebVTT file (numbered like the source's counters)."""
    blocks = [f"{i}\n{timestamp(c.start)} --> {timestamp(c.end)}\n{c.text}".rstrip("\n")
              for i, c in enumerate(cues, start=1)]
    return "WEBVTT\n\n" + "\n\n".join(blocks) + "\n"


def sniff(text: str) -> str:
    """VTT when the text carries the WebVTT signature, else SRT (a multipart upload's declared type is not trusted)."""
    return VTT if text.startswith("WEBVTT") else SRT


def to_webvtt(raw: bytes, kind: str | None = None) -> tuple[str, list[Cue]]:
    """A caption file as the WebVTT text to store, and its cues. `kind`: VTT or SRT as the client declared it (a
    raw body's Content-Type), None to tell by the content. WebVTT is kept as sent (line endings made LF)."""
    text = decode(raw)
    kind = kind or sniff(text)
    if kind == VTT:
        cues = parse_webvtt(text)
        return (text if text.endswith("\n") else text + "\n"), cues
    cues = parse_srt(text)
    return srt_to_webvtt(cues), cues
