"""Reading a video's facts (duration, size, codec) with the ffmpeg that ships in the imageio-ffmpeg wheel.

The wheel has no ffprobe, so this parses `ffmpeg -i`'s stream report, then reads every packet once
without decoding (fast) to catch truncated files and to find the end of containers that do not record
their duration (some WebM from MediaRecorder).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from shared import errors
from shared.settings import get_settings

PROBE_TIMEOUT = 60
_DURATION = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")
_VIDEO = re.compile(r"Stream #\S+.*?: Video: (\w+).*?, (\d{2,5})x(\d{2,5})")
_TIME = re.compile(r"time=(\d+):(\d+):(\d+(?:\.\d+)?)")
_DAMAGE = ("partial file", "Invalid data found", "moov atom not found", "truncat")


class ProbeError(Exception):
    """The file is not a video ffmpeg can read; the message says why."""


@dataclass(frozen=True)
class VideoFacts:
    duration: float
    width: int
    height: int
    codec: str
    has_audio: bool


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """FFMPEG_BINARY when set; else the binary in the imageio-ffmpeg wheel (the server's requirements); else
    `ffmpeg` on PATH, which on Lambda is the layer built by layers/ffmpeg (unpacked to /opt/bin)."""
    configured = get_settings().ffmpeg_binary
    if configured:
        return configured
    try:
        import imageio_ffmpeg  # imported lazily: not part of the Lambda package
    except ImportError:
        found = shutil.which("ffmpeg")
        if found is None:
            raise errors.ServiceUnavailable("Video processing is not available on this deployment (no ffmpeg)") from None
        return found
    return imageio_ffmpeg.get_ffmpeg_exe()


def _nice() -> None:  # pragma: no cover - runs in the child
    os.nice(10)  # media work yields the CPU to the API


def run_ffmpeg(args: list[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", *args], capture_output=True, text=True,
                          timeout=timeout, preexec_fn=_nice, check=False)


def _seconds(match: re.Match[str]) -> float:
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def probe_video(path: Path) -> VideoFacts:
    """Header facts from `ffmpeg -i`, then one demux pass (no decoding) that proves the file is whole."""
    try:
        report = run_ffmpeg(["-i", str(path)], timeout=PROBE_TIMEOUT).stderr
        video = _VIDEO.search(report)
        if video is None:
            last = [line.strip() for line in report.splitlines() if line.strip()]
            reason = last[-1] if last else "no video stream"
            raise ProbeError(f"not a readable video ({reason[:200]})")
        # A cut-off upload can keep an intact header (faststart MP4): only reading every packet tells.
        scan = run_ffmpeg(["-v", "error", "-stats", "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "null", "-"],
                          timeout=PROBE_TIMEOUT).stderr
    except subprocess.TimeoutExpired:
        raise ProbeError("probing timed out") from None
    if any(marker in scan for marker in _DAMAGE):
        raise ProbeError("the file is truncated or corrupt")
    match = _DURATION.search(report)
    duration = _seconds(match) if match else 0.0
    if duration <= 0:
        times = _TIME.findall(scan)
        if not times:
            raise ProbeError("could not determine the video's duration")
        hours, minutes, seconds = times[-1]
        duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    return VideoFacts(duration=round(duration, 3), width=int(video.group(2)), height=int(video.group(3)),
                      codec=video.group(1), has_audio=" Audio: " in report)


# ---------------------------------------------------------------------------------------------- stream details
# What the remux decision (shared.media.progressive) needs beyond VideoFacts: read from the same `ffmpeg -i` report
# (the stream the demuxer found, never the file's name or the uploader's declared type), the packets' keyframe flags
# (one demux pass, no decoding) and a strict decode of the first frames, which proves the bitstream is the codec the
# container declares (a sample entry relabelled `avc1` over an HEVC bitstream reads as "h264" until decoded).
_FPS = re.compile(r"^(\d+(?:\.\d+)?)(k?) fps$")
_KBPS = re.compile(r"^(\d+) kb/s$")
_TB = re.compile(r"^#tb 0: (\d+)/(\d+)$", re.M)
_ROTATION = re.compile(r"rotation of (-?\d+(?:\.\d+)?) degrees")
STRICT_DECODE_FRAMES = 5


@dataclass(frozen=True)
class StreamDetails:
    """The first video stream (and first audio stream) as the demuxer reports them."""

    video_codec: str  # ffmpeg's codec name: h264, hevc, vp9, ...
    profile: str | None  # "High", "Main", "Constrained Baseline"; None when the bitstream's header could not be read
    pix_fmt: str | None  # yuv420p, yuv420p10le, ...; None ("none") when undecodable
    width: int
    height: int
    fps: float | None
    video_kbps: int | None
    interlaced: bool
    rotation: float  # degrees of the display matrix (phones' portrait recordings): 0 when none
    audio_codec: str | None


def _top_level_parts(text: str) -> list[str]:
    """`a (b, c), d, e` → [`a (b, c)`, `d`, `e`]: ffmpeg's stream line, split at the commas outside parentheses."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return parts


def stream_details(path: Path) -> StreamDetails:
    """The first video and audio stream of a readable video, as `ffmpeg -i` reports them (ProbeError otherwise)."""
    try:
        report = run_ffmpeg(["-i", str(path)], timeout=PROBE_TIMEOUT).stderr
    except subprocess.TimeoutExpired:
        raise ProbeError("probing timed out") from None
    video_line = next((line for line in report.splitlines() if "Stream #" in line and ": Video: " in line), None)
    if video_line is None:
        raise ProbeError("no video stream")
    parts = _top_level_parts(video_line.split(": Video: ", 1)[1])
    head = parts[0].split(" ", 1)
    profile_match = re.match(r"\(([^)/]*)\)", head[1]) if len(head) > 1 else None
    pix = re.match(r"^(\w+)(?:\((.*)\))?$", parts[1]) if len(parts) > 1 else None
    size = next((re.match(r"^(\d+)x(\d+)", p) for p in parts[1:] if re.match(r"^\d+x\d+", p)), None)
    fps = next((m for p in parts if (m := _FPS.match(p))), None)
    kbps = next((m for p in parts if (m := _KBPS.match(p))), None)
    field_order = (pix.group(2) or "") if pix else ""
    audio_line = next((line for line in report.splitlines() if "Stream #" in line and ": Audio: " in line), None)
    rotation = _ROTATION.search(report)
    return StreamDetails(
        video_codec=head[0], profile=profile_match.group(1).strip() if profile_match else None,
        pix_fmt=None if pix is None or pix.group(1) == "none" else pix.group(1),
        width=int(size.group(1)) if size else 0, height=int(size.group(2)) if size else 0,
        fps=float(fps.group(1)) * (1000 if fps.group(2) else 1) if fps else None,
        video_kbps=int(kbps.group(1)) if kbps else None,
        interlaced=any(word in field_order for word in ("top first", "bottom first", "top coded", "bottom coded")),
        rotation=float(rotation.group(1)) if rotation else 0.0,
        audio_codec=audio_line.split(": Audio: ", 1)[1].split(" ", 1)[0].rstrip(",") if audio_line else None)


def keyframe_times(path: Path) -> list[float]:
    """The presentation times (seconds) of the first video stream's keyframes, from the packets' flags: one demux pass
    (`-c copy` into the framecrc muxer, which marks every packet that is not a keyframe), no decoding."""
    try:
        result = run_ffmpeg(["-v", "error", "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "framecrc", "-"],
                            timeout=PROBE_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise ProbeError("probing timed out") from None
    base = _TB.search(result.stdout)
    if result.returncode != 0 or base is None:
        raise ProbeError("could not read the video's packets")
    num, den = int(base.group(1)), int(base.group(2))
    times = []
    for line in result.stdout.splitlines():
        if line.startswith("#") or "F=0x" in line:  # a comment, or a packet with flags other than "key"
            continue
        fields = [f.strip() for f in line.split(",")]
        if len(fields) >= 3 and fields[2].lstrip("-").isdigit():
            times.append(int(fields[2]) * num / den)
    return sorted(times)


def decodes_cleanly(path: Path, frames: int = STRICT_DECODE_FRAMES) -> bool:
    """Whether the first frames of the first video stream decode without a single error (`-xerror`): the codec the
    container declares is the one its bitstream is in."""
    try:
        result = run_ffmpeg(["-v", "error", "-xerror", "-i", str(path), "-map", "0:v:0", "-frames:v", str(frames),
                             "-f", "null", "-"], timeout=PROBE_TIMEOUT)
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0 and not result.stderr.strip()
