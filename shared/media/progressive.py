"""Progressive HLS (issue #17): the ladder made in stages, so a video plays as soon as its first rendition exists and
its master playlist grows as the others finish.

The plan (`plan_stream`):
- a source that is already what a rendition would be (H.264 in 8-bit 4:2:0, progressive, upright, within the
  ladder's size, frame rate and bitrate, keyframes at most a segment apart, and its first frames decode cleanly as
  H.264) gets its own rendition by remux (`-c:v copy`, audio copied when AAC, else encoded): a 60 s 1080p upload is
  playable in about a second of work. The first stage is that remux alone; the second encodes the lower rungs and
  the storyboard in one decode.
- any other source: the first stage encodes the lowest rung and the storyboard (one decode), the second the rest.
The decision reads what ffmpeg finds in the file (shared.media.probe), never its name or the uploader's word.

Every ffmpeg run is niced (shared.media.probe.run_ffmpeg) and writes into a work folder; a rendition is checked
(shared.media.hls.check_rendition) before anyone publishes it. The master playlist is ours (`master_text`), made
from the renditions finished so far: the per-run masters ffmpeg writes give each variant's RESOLUTION and CODECS,
and BANDWIDTH is measured from the segments themselves (a remuxed source's bitrate is whatever the camera chose).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from shared.media import storyboard
from shared.media.hls import LADDER, SEGMENT_SECONDS, TRANSCODE_TIMEOUT, TranscodeError, check_rendition, ladder_for
from shared.media.probe import (
    ProbeError,
    StreamDetails,
    VideoFacts,
    decodes_cleanly,
    keyframe_times,
    run_ffmpeg,
    stream_details,
)

# What a player on any device decodes, as a copied rendition must be.
REMUX_PROFILES = ("Constrained Baseline", "Baseline", "Main", "High")
REMUX_PIX_FMTS = ("yuv420p", "yuvj420p")
MAX_REMUX_WIDTH = 1920
MAX_REMUX_FPS = 60.0
# A copied stream is cut only at its own keyframes: further apart than a segment, segments grow past the target.
MAX_KEYFRAME_GAP = float(SEGMENT_SECONDS)
# At most this many times the bitrate we would encode the same height at: a 40 Mb/s camera file is not a stream.
MAX_REMUX_BITRATE_FACTOR = 2.0
_STREAM_INF = re.compile(r"^#EXT-X-STREAM-INF:(.*)$")
_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


@dataclass(frozen=True)
class Rendition:
    height: int
    video_kbps: int  # what the encoder aims at; for a copied source, its own bitrate
    audio_kbps: int
    copy: bool = False  # the source's own video, remuxed

    @property
    def name(self) -> str:
        return f"{self.height}p"


@dataclass(frozen=True)
class Stage:
    """One ffmpeg run over the source: these renditions, and the storyboard when `storyboard`."""

    renditions: tuple[Rendition, ...]
    storyboard: bool = False


@dataclass(frozen=True)
class RemuxDecision:
    chosen: bool
    reason: str  # why not (or "qualifies")
    copy_audio: bool = False


@dataclass(frozen=True)
class StreamPlan:
    renditions: list[Rendition]  # lowest first: the master's order
    stages: list[Stage]
    remux: RemuxDecision
    layout: storyboard.Layout
    has_audio: bool = field(default=False)


def remux_decision(source: Path, facts: VideoFacts) -> RemuxDecision:
    """Whether the source's video can be copied into HLS segments as its own rendition (`reason` says why not)."""
    try:
        details = stream_details(source)
    except ProbeError as exc:
        return RemuxDecision(False, f"unreadable: {exc}")
    problem = _remux_problem(details, facts, source)
    if problem is None:
        try:
            keys = keyframe_times(source)
        except ProbeError as exc:
            return RemuxDecision(False, str(exc))
        problem = _keyframe_problem(keys, facts.duration)
    if problem is None and not decodes_cleanly(source):
        # The container says H.264 but the bitstream is not (a relabelled sample entry, a damaged start).
        problem = "its first frames do not decode as the codec its container declares"
    if problem is not None:
        return RemuxDecision(False, problem)
    return RemuxDecision(True, "qualifies", copy_audio=details.audio_codec == "aac")


def _ceiling_kbps(height: int) -> float:
    rung = next((r for r in LADDER if r.height >= height), LADDER[-1])
    return rung.video_kbps * MAX_REMUX_BITRATE_FACTOR


def _remux_problem(details: StreamDetails, facts: VideoFacts, source: Path) -> str | None:
    if details.video_codec != "h264":
        return f"the video is {details.video_codec}, not H.264"
    if details.profile not in REMUX_PROFILES:
        return f"H.264 profile {details.profile or 'unreadable'} is not one every player decodes"
    if details.pix_fmt not in REMUX_PIX_FMTS:
        return f"pixel format {details.pix_fmt or 'unreadable'} is not 8-bit 4:2:0"
    if details.interlaced:
        return "the video is interlaced"
    if details.rotation % 360:
        return "the video is rotated by its display matrix, which HLS segments do not carry"
    if details.height > LADDER[-1].height or details.width > MAX_REMUX_WIDTH or details.height < 2:
        return f"{details.width}x{details.height} is outside the ladder"
    if details.fps is None or details.fps > MAX_REMUX_FPS:
        return f"frame rate {details.fps or 'unknown'} is outside the ladder"
    kbps = details.video_kbps
    if kbps is None and facts.duration > 0:  # the container's total as an upper bound
        kbps = int(source.stat().st_size * 8 / facts.duration / 1000)
    if kbps is None or kbps > _ceiling_kbps(details.height):
        return f"bitrate {kbps or 'unknown'} kb/s is above {int(_ceiling_kbps(details.height))} kb/s for its height"
    return None


def _keyframe_problem(keys: list[float], duration: float) -> str | None:
    if not keys or keys[0] > 0.5:
        return "the video does not start with a keyframe"
    gaps = [b - a for a, b in zip([*keys], [*keys[1:], max(duration, keys[-1])], strict=True)]
    widest = max(gaps)
    if widest > MAX_KEYFRAME_GAP + 0.05:
        return f"keyframes are up to {widest:.1f} s apart (at most {MAX_KEYFRAME_GAP:.0f} s for {SEGMENT_SECONDS} s" \
               " segments)"
    return None


def plan_stream(source: Path, facts: VideoFacts) -> StreamPlan:
    """The renditions and the runs that make them, the first run making the first playable rendition."""
    rungs = [Rendition(r.height, r.video_kbps, r.audio_kbps) for r in ladder_for(facts.height)]
    layout = storyboard.layout_for(facts.duration)
    remux = remux_decision(source, facts)
    if remux.chosen:
        top = rungs[-1]
        own = Rendition(facts.height, top.video_kbps, top.audio_kbps, copy=True)
        below = [r for r in rungs if r.height < facts.height]
        stages = [Stage((own,), storyboard=not below)]
        if below:
            stages.append(Stage(tuple(below), storyboard=True))
        return StreamPlan([*below, own], stages, remux, layout, facts.has_audio)
    stages = [Stage((rungs[0],), storyboard=True)]
    if rungs[1:]:
        stages.append(Stage(tuple(rungs[1:])))
    return StreamPlan(rungs, stages, remux, layout, facts.has_audio)


def run_stage(source: Path, out_dir: Path, plan: StreamPlan, stage: Stage, *, index: int) -> None:
    """One ffmpeg run: the stage's renditions into out_dir/<name>/ (index.m3u8 + seg_NNN.ts), its master entries into
    out_dir/stage_<index>.m3u8, and the storyboard into out_dir/storyboard/ when asked; each rendition checked.
    Whatever an earlier try of the same stage left there is removed first."""
    for rendition in stage.renditions:
        shutil.rmtree(out_dir / rendition.name, ignore_errors=True)
    if stage.storyboard:
        shutil.rmtree(out_dir / storyboard.FOLDER, ignore_errors=True)
        (out_dir / storyboard.FOLDER).mkdir(parents=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    args = ["-v", "error", "-y", "-i", str(source)]
    encoded = [r for r in stage.renditions if not r.copy]
    branches = len(encoded) + (1 if stage.storyboard else 0)
    if branches:
        labels = [f"[s{i}]" for i in range(branches)]
        graph = [f"[0:v]split={branches}{''.join(labels)}" if branches > 1 else f"[0:v]null{labels[0]}"]
        graph += [f"[s{i}]scale=-2:{r.height}[v{i}]" for i, r in enumerate(encoded)]
        if stage.storyboard:
            graph.append(f"{labels[-1]}{storyboard.filter_chain(plan.layout)}[sb]")
        args += ["-filter_complex", ";".join(graph)]
    if stage.storyboard:  # first among the outputs: the HLS output's options stay last (its playlist path ends args)
        args += ["-map", "[sb]", "-q:v", "5", "-start_number", "0", "-f", "image2",
                 str(out_dir / storyboard.FOLDER / storyboard.SPRITE_PATTERN)]
    args += _hls_output(out_dir, plan, stage, encoded, index)
    try:
        result = run_ffmpeg(args, timeout=TRANSCODE_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise TranscodeError("transcoding timed out") from None
    if result.returncode != 0:
        raise TranscodeError(f"transcoding failed: {(result.stderr.strip().splitlines() or ['ffmpeg error'])[-1]}",
                             transient=_machine_failed(result.stderr))
    for rendition in stage.renditions:
        check_rendition(out_dir, rendition.name)
    if stage.storyboard:
        check_storyboard(out_dir, plan.layout)


def _hls_output(out_dir: Path, plan: StreamPlan, stage: Stage, encoded: list[Rendition], index: int) -> list[str]:
    args: list[str] = []
    stream_map = []
    for i, rendition in enumerate(stage.renditions):
        if rendition.copy:
            args += ["-map", "0:v:0", f"-c:v:{i}", "copy"]
        else:
            v = encoded.index(rendition)
            args += ["-map", f"[v{v}]", f"-c:v:{i}", "libx264", f"-b:v:{i}", f"{rendition.video_kbps}k",
                     f"-maxrate:v:{i}", f"{int(rendition.video_kbps * 1.07)}k",
                     f"-bufsize:v:{i}", f"{rendition.video_kbps * 3 // 2}k"]
        if plan.has_audio:
            args += ["-map", "0:a:0"]
            if rendition.copy and plan.remux.copy_audio:
                args += [f"-c:a:{i}", "copy"]
            else:
                args += [f"-c:a:{i}", "aac", f"-ac:a:{i}", "2", f"-b:a:{i}", f"{rendition.audio_kbps}k"]
        stream_map.append(f"v:{i}" + (f",a:{i}" if plan.has_audio else "") + f",name:{rendition.name}")
    if encoded:
        args += ["-preset", "veryfast", "-profile:v", "main", "-pix_fmt", "yuv420p",
                 # a keyframe every 2 s whatever the frame rate: segments cut cleanly at 4 s
                 "-force_key_frames", "expr:gte(t,n_forced*2)", "-sc_threshold", "0"]
    args += ["-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_playlist_type", "vod",
             "-hls_flags", "independent_segments", "-hls_segment_type", "mpegts",
             "-hls_segment_filename", str(out_dir / "%v" / "seg_%03d.ts"),
             "-master_pl_name", f"stage_{index}.m3u8", "-var_stream_map", " ".join(stream_map),
             str(out_dir / "%v" / "index.m3u8")]
    return args


def _machine_failed(stderr: str) -> bool:
    return any(words in stderr for words in ("No space left on device", "Disk quota exceeded", "Input/output error",
                                             "Cannot allocate memory"))


def make_poster(source: Path, out_dir: Path, facts: VideoFacts) -> None:
    """poster.jpg: one frame a second in (or mid-way through a shorter video), seeked to, not decoded up to."""
    at = min(1.0, facts.duration / 2)
    try:
        poster = run_ffmpeg(["-v", "error", "-y", "-ss", f"{at:.2f}", "-i", str(source), "-frames:v", "1",
                             "-vf", f"scale=-2:{min(720, facts.height)}", "-q:v", "3", str(out_dir / "poster.jpg")],
                            timeout=120)
    except subprocess.TimeoutExpired:
        raise TranscodeError("extracting the poster frame timed out") from None
    target = out_dir / "poster.jpg"
    if poster.returncode != 0 or not target.is_file() or target.stat().st_size == 0:
        raise TranscodeError("could not extract a poster frame", transient=_machine_failed(poster.stderr))


def check_storyboard(out_dir: Path, layout: storyboard.Layout) -> None:
    """Every sheet the track points at exists and is not empty (a full disk cuts image writes short too)."""
    for name in layout.sprite_names():
        sprite = out_dir / storyboard.FOLDER / name
        if not sprite.is_file() or sprite.stat().st_size == 0:
            raise TranscodeError(f"incomplete storyboard: {storyboard.FOLDER}/{name} is missing or empty",
                                 transient=True)
    (out_dir / storyboard.FOLDER / storyboard.VTT_NAME).write_text(storyboard.vtt(layout))


def storyboard_files(layout: storyboard.Layout) -> list[str]:
    """The storyboard's files relative to the stream folder: the sheets before the track that points at them."""
    return [f"{storyboard.FOLDER}/{name}" for name in layout.sprite_names()] + \
        [f"{storyboard.FOLDER}/{storyboard.VTT_NAME}"]


def rendition_files(out_dir: Path, name: str) -> list[str]:
    """A finished rendition's files relative to the stream folder: its segments before its playlist."""
    segments = sorted(p.name for p in (out_dir / name).glob("seg_*.ts"))
    return [f"{name}/{segment}" for segment in segments] + [f"{name}/index.m3u8"]


def variant_attributes(out_dir: Path, index: int, name: str) -> str:
    """The EXT-X-STREAM-INF attributes of rendition `name` made by stage `index`: RESOLUTION and CODECS as ffmpeg
    wrote them, BANDWIDTH (the peak over segments) and AVERAGE-BANDWIDTH measured from the segments on disk."""
    lines = (out_dir / f"stage_{index}.m3u8").read_text().splitlines()
    attributes: dict[str, str] = {}
    for i, line in enumerate(lines):
        found = _STREAM_INF.match(line)
        if found and i + 1 < len(lines) and lines[i + 1].strip() == f"{name}/index.m3u8":
            attributes = dict(_ATTRIBUTE.findall(found.group(1)))
    peak, average = _measured_bitrates(out_dir / name)
    attributes = {"BANDWIDTH": str(peak), "AVERAGE-BANDWIDTH": str(average),
                  **{k: v for k, v in attributes.items() if k in ("RESOLUTION", "CODECS", "FRAME-RATE")}}
    return ",".join(f"{k}={v}" for k, v in attributes.items())


def _measured_bitrates(folder: Path) -> tuple[int, int]:
    text = (folder / "index.m3u8").read_text()
    lines = text.splitlines()
    peak, total_bits, total_seconds = 0, 0, 0.0
    for i, line in enumerate(lines):
        if line.startswith("#EXTINF:") and i + 1 < len(lines):
            seconds = float(line[len("#EXTINF:"):].split(",")[0])
            bits = (folder / lines[i + 1].strip()).stat().st_size * 8
            total_bits += bits
            total_seconds += seconds
            if seconds > 0.5:  # a short last segment's rate says little about the stream
                peak = max(peak, int(bits / seconds))
    average = int(total_bits / total_seconds) if total_seconds else 0
    return max(peak, average, 1), max(average, 1)


def master_text(variants: list[tuple[str, str]]) -> str:
    """The master playlist listing these finished renditions (name, EXT-X-STREAM-INF attributes), lowest first.
    Captions (shared.media.master_playlist.with_subtitles) are added over this text by whoever serves it."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for name, attributes in variants:
        lines += [f"#EXT-X-STREAM-INF:{attributes}", f"{name}/index.m3u8"]
    return "\n".join(lines) + "\n"
