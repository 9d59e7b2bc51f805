"""HLS adaptive streaming with the bundled ffmpeg: a rendition ladder up to the source's height, 4 s
segments, a master playlist, and a poster frame. Runs at a lower CPU priority than the API."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from shared.media_probe import VideoFacts, run_ffmpeg

SEGMENT_SECONDS = 4
TRANSCODE_TIMEOUT = 3 * 3600


@dataclass(frozen=True)
class Rung:
    height: int
    video_kbps: int
    audio_kbps: int

    @property
    def name(self) -> str:
        return f"{self.height}p"


LADDER = (Rung(240, 400, 64), Rung(360, 800, 96), Rung(720, 2800, 128), Rung(1080, 5000, 160))


class TranscodeError(Exception):
    """ffmpeg could not produce the HLS output; the message says why."""


def ladder_for(source_height: int) -> list[Rung]:
    """Every rung up to the source's height (never upscaled); a tiny source gets one rung at its own height."""
    rungs = [r for r in LADDER if r.height <= source_height]
    return rungs or [Rung(max(2, source_height - source_height % 2), 250, 64)]


def transcode(source: Path, out_dir: Path, facts: VideoFacts) -> list[Rung]:
    """Write master.m3u8, <rung>/index.m3u8 + segments and poster.jpg into `out_dir` (created fresh)."""
    rungs = ladder_for(facts.height)
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    n = len(rungs)
    split = f"[0:v]split={n}" + "".join(f"[s{i}]" for i in range(n)) + ";" + ";".join(
        f"[s{i}]scale=-2:{r.height}[v{i}]" for i, r in enumerate(rungs))
    args = ["-v", "error", "-y", "-i", str(source), "-filter_complex", split]
    for i, rung in enumerate(rungs):
        args += ["-map", f"[v{i}]"]
        if facts.has_audio:
            args += ["-map", "0:a:0"]
        args += [f"-b:v:{i}", f"{rung.video_kbps}k", f"-maxrate:v:{i}", f"{int(rung.video_kbps * 1.07)}k",
                 f"-bufsize:v:{i}", f"{rung.video_kbps * 3 // 2}k"]
    if facts.has_audio:
        args += ["-c:a", "aac", "-ac", "2", "-b:a", f"{rungs[-1].audio_kbps}k"]
    stream_map = " ".join(f"v:{i}" + (f",a:{i}" if facts.has_audio else "") + f",name:{r.name}"
                          for i, r in enumerate(rungs))
    args += ["-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main", "-pix_fmt", "yuv420p",
             # a keyframe every 2 s whatever the frame rate: segments cut cleanly at 4 s
             "-force_key_frames", "expr:gte(t,n_forced*2)", "-sc_threshold", "0",
             "-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_playlist_type", "vod",
             "-hls_flags", "independent_segments", "-hls_segment_type", "mpegts",
             "-hls_segment_filename", str(out_dir / "%v" / "seg_%03d.ts"),
             "-master_pl_name", "master.m3u8", "-var_stream_map", stream_map, str(out_dir / "%v" / "index.m3u8")]
    try:
        result = run_ffmpeg(args, timeout=TRANSCODE_TIMEOUT)
        if result.returncode != 0 or not (out_dir / "master.m3u8").is_file():
            raise TranscodeError(f"transcoding failed: {(result.stderr.strip().splitlines() or ['ffmpeg error'])[-1]}")
        at = min(1.0, facts.duration / 2)
        poster = run_ffmpeg(["-v", "error", "-y", "-ss", f"{at:.2f}", "-i", str(source), "-frames:v", "1",
                             "-vf", f"scale=-2:{min(720, facts.height)}", "-q:v", "3", str(out_dir / "poster.jpg")],
                            timeout=120)
        if poster.returncode != 0:
            raise TranscodeError("could not extract a poster frame")
    except subprocess.TimeoutExpired:
        raise TranscodeError("transcoding timed out") from None
    return rungs
