"""Benchmark: HLS transcoding speed of the ladder, in seconds of video per CPU second.

Makes test clips (moving pattern + noise + tone) at 360p, 720p and 1080p with the bundled ffmpeg, runs
the same `transcode()` the job runs, and prints wall time and CPU time of ffmpeg for each.

    .venv/bin/python -m infra.bench.transcode_speed [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

from infra.bench.common import scratch_dir
from shared.media.hls import transcode
from shared.media.probe import probe_video, run_ffmpeg


def make_clip(path: Path, height: int, seconds: int) -> None:
    width = height * 16 // 9 // 2 * 2
    result = run_ffmpeg(["-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=30",
                         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", str(seconds),
                         "-vf", "noise=alls=20:allf=t", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
                         "-pix_fmt", "yuv420p", "-c:a", "aac", str(path)], timeout=600)
    if result.returncode:
        raise SystemExit(result.stderr)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    work = scratch_dir("viztube-transcode-")
    rows = []
    for height in (360, 720, 1080):
        clip = work / f"src{height}.mp4"
        make_clip(clip, height, args.seconds)
        facts = probe_video(clip)
        cpu_before, wall_before = children_cpu(), time.monotonic()
        rungs = transcode(clip, work / f"hls{height}", facts)
        cpu, wall = children_cpu() - cpu_before, time.monotonic() - wall_before
        rows.append((f"{facts.width}x{facts.height}", "+".join(r.name for r in rungs), facts.duration, wall, cpu))
    print(f"\nHLS ladder transcoding (libx264 veryfast, 4 s segments, niced), {os.cpu_count()} CPUs, "
          f"{args.seconds} s clips")
    print(f"{'source':>10} | {'renditions':>22} | {'video s':>7} | {'wall s':>6} | {'CPU s':>6} | "
          f"{'video s per CPU s':>17} | {'x realtime (wall)':>17}")
    print("-" * 105)
    for source, ladder, duration, wall, cpu in rows:
        print(f"{source:>10} | {ladder:>22} | {duration:>7.1f} | {wall:>6.1f} | {cpu:>6.1f} | "
              f"{duration / cpu:>17.2f} | {duration / wall:>17.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
