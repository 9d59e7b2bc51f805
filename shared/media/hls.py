"""HLS adaptive streaming with the bundled ffmpeg: a rendition ladder up to the source's height, 4 s
segments, a master playlist, and a poster frame. Runs at a lower CPU priority than the API.

The ladder, the segment length and the output checks are shared with the progressive transcode the jobs run
(shared.media.progressive); `transcode` here, the whole ladder in one run, stays as the reference the media benchmark
(infra/bench/first_play.py) compares against.

The output is checked before anyone publishes it: ffmpeg can exit 0 on a full disk and leave empty
playlists or missing segments behind (issue #10)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from shared.media.probe import VideoFacts, run_ffmpeg

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


# ffmpeg's words for failures of the machine rather than of the video: trying again later may succeed.
_TRANSIENT = ("No space left on device", "Disk quota exceeded", "Input/output error", "Cannot allocate memory")


class TranscodeError(Exception):
    """ffmpeg could not produce the HLS output; the message says why. `transient`: the machine failed (a full
    disk, an I/O error), not the video, so the transcode is worth trying again."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


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
        if result.returncode != 0:
            raise TranscodeError(f"transcoding failed: {(result.stderr.strip().splitlines() or ['ffmpeg error'])[-1]}",
                                 transient=_machine_failed(result.stderr))
        at = min(1.0, facts.duration / 2)
        poster = run_ffmpeg(["-v", "error", "-y", "-ss", f"{at:.2f}", "-i", str(source), "-frames:v", "1",
                             "-vf", f"scale=-2:{min(720, facts.height)}", "-q:v", "3", str(out_dir / "poster.jpg")],
                            timeout=120)
        if poster.returncode != 0:
            raise TranscodeError("could not extract a poster frame", transient=_machine_failed(poster.stderr))
    except subprocess.TimeoutExpired:
        raise TranscodeError("transcoding timed out") from None
    check_output(out_dir, rungs)
    return rungs


def _machine_failed(stderr: str) -> bool:
    return any(words in stderr for words in _TRANSIENT)


def _playlist(path: Path, out_dir: Path) -> str:
    try:
        text = path.read_text(errors="replace") if path.is_file() else ""
    except OSError as exc:
        raise TranscodeError(f"incomplete HLS output: cannot read {path.relative_to(out_dir)} ({exc})",
                             transient=True) from exc
    if not text.strip():
        raise TranscodeError(f"incomplete HLS output: {path.relative_to(out_dir)} is missing or empty", transient=True)
    return text


def _entries(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def check_output(out_dir: Path, rungs: list[Rung]) -> None:
    """Raise TranscodeError unless the stream is whole: the master lists every rendition, each rendition's
    playlist is a finished VOD list of #EXTINF entries whose segment files exist and are not empty, and the
    poster is not empty. Any gap means ffmpeg's writes were cut short (a full disk), so it is `transient`."""
    listed = _entries(_playlist(out_dir / "master.m3u8", out_dir))
    expected = [f"{rung.name}/index.m3u8" for rung in rungs]
    if sorted(listed) != sorted(expected):
        raise TranscodeError(f"incomplete HLS output: the master playlist lists {listed}, not {expected}",
                             transient=True)
    for rung in rungs:
        check_rendition(out_dir, rung.name)
    poster = out_dir / "poster.jpg"
    if not poster.is_file() or poster.stat().st_size == 0:
        raise TranscodeError("incomplete HLS output: the poster frame is missing or empty", transient=True)


def check_rendition(out_dir: Path, name: str) -> None:
    """Raise TranscodeError (`transient`) unless rendition `name` is whole: a finished VOD playlist of #EXTINF entries
    whose segment files exist and are not empty."""
    text = _playlist(out_dir / name / "index.m3u8", out_dir)
    segments = _entries(text)
    durations = sum(1 for line in text.splitlines() if line.startswith("#EXTINF:"))
    if not segments or durations != len(segments) or "#EXT-X-ENDLIST" not in text:
        raise TranscodeError(f"incomplete HLS output: {name}/index.m3u8 is cut short", transient=True)
    for entry in segments:
        segment = out_dir / name / entry
        # ffmpeg names segments seg_NNN.ts next to their playlist: anything else is not our output.
        if "/" in entry or not segment.is_file() or segment.stat().st_size == 0:
            raise TranscodeError(f"incomplete HLS output: segment {name}/{entry} is missing or empty",
                                 transient=True)
