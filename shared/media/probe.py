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
