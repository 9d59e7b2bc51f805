"""Benchmark: how soon a new upload plays through HLS (issue #17.1), beside the whole-ladder transcode it replaced.

Makes 60 s test sources at 360p, 720p and 1080p with the bundled ffmpeg (testsrc2 + a tone, H.264 High/AAC, a
keyframe every 2 s and a camera-like bitrate: what phones and screen recorders upload), then for each:

- now: publishes it through the API of a server started as `make run` starts it (`python -m infra.serve`: its own
  VIZTUBE_HOME, embedded PostgreSQL, local storage, the job worker in the server process) and polls the video until
  `playable` (its master playlist fetched and a variant listed: playable through HLS), then until COMPLETED. CPU is
  the server's whole process tree (the API, the worker and every ffmpeg it ran), measured by psutil.
- before: the previous job's work on the same file, in this process: the probe, then `shared.media.hls.transcode`
  (one ffmpeg run making the whole ladder, published only when all of it is done: first playable = ladder done).

Times are from the publish response (before: from the start of the probe). The machine is shared: the load average
is printed with the figures.

    .venv/bin/python -m infra.bench.first_play [--seconds 60] [--heights 360,720,1080]     (make bench-media)
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import sys
import time
from pathlib import Path

import psutil
import requests

from infra.bench.common import PROJECT_DIR, bench_user, free_port, scratch_dir, start_onebox
from shared.media.hls import transcode
from shared.media.probe import probe_video, run_ffmpeg

SOURCE_KBPS = {360: 1000, 720: 3500, 1080: 6000}  # about what a phone or a screen recorder writes
POLL_SECONDS = 0.2


def make_source(path: Path, height: int, seconds: int) -> None:
    width = height * 16 // 9 // 2 * 2
    kbps = SOURCE_KBPS.get(height, 4000)
    result = run_ffmpeg(["-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=30",
                         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", str(seconds),
                         "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-g", "60",
                         "-b:v", f"{kbps}k", "-maxrate", f"{kbps * 3 // 2}k", "-bufsize", f"{kbps * 2}k",
                         "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", str(path)],
                        timeout=1800)
    if result.returncode:
        raise SystemExit(result.stderr)


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process tree so far: each live process's own time and that of the children it has reaped
    (every ffmpeg the worker ran and waited for)."""
    total = 0.0
    root = psutil.Process(pid)
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def load() -> str:
    return "/".join(f"{value:.2f}" for value in os.getloadavg())


def run_new(base: str, headers: dict[str, str], server_pid: int, source: Path) -> dict[str, float | str]:
    thumb = PROJECT_DIR / "infra" / "bench" / "thumbnail.jpg"
    load_before = load()
    cpu_before = tree_cpu(server_pid)
    with open(source, "rb") as video, open(thumb, "rb") as image:
        answer = requests.post(f"{base}/api/v2/videos", headers=headers, timeout=600,
                               data={"title": f"bench {source.stem}", "description": "first play"},
                               files={"videoFile": (source.name, video, "video/mp4"),
                                      "thumbnail": ("t.jpg", image, "image/jpeg")})
    answer.raise_for_status()
    published = time.monotonic()
    video_id = answer.json()["data"]["video"]["id"]
    first = ladder = None
    renditions = ""
    while ladder is None:
        video = requests.get(f"{base}/api/v2/videos/{video_id}", headers=headers, timeout=30).json()["data"]
        if video["processingStatus"] == "FAILED":
            raise SystemExit(f"{source.name}: processing failed: {video['processingError']}")
        if first is None and video.get("playable") and video.get("hlsUrl"):
            master = requests.get(video["hlsUrl"], timeout=30)
            if master.ok and "#EXT-X-STREAM-INF" in master.text:
                first = time.monotonic() - published
                renditions = "+".join(f"{r['height']}p" for r in video["renditions"] if r["state"] == "ready")
        if video["processingStatus"] == "COMPLETED":
            ladder = time.monotonic() - published
            first = ladder if first is None else first
        time.sleep(POLL_SECONDS)
    final = requests.get(f"{base}/api/v2/videos/{video_id}", headers=headers, timeout=30).json()["data"]
    return {"first": first, "ladder": ladder, "cpu": tree_cpu(server_pid) - cpu_before, "duration": final["duration"],
            "first_renditions": renditions, "ladder_renditions": "+".join(f"{r['height']}p"
                                                                          for r in final["renditions"]),
            "load": f"{load_before} → {load()}"}


def run_old(source: Path, work: Path) -> dict[str, float | str]:
    load_before = load()
    cpu_before, started = children_cpu(), time.monotonic()
    facts = probe_video(source)
    rungs = transcode(source, work, facts)
    wall = time.monotonic() - started
    return {"first": wall, "ladder": wall, "cpu": children_cpu() - cpu_before, "duration": facts.duration,
            "first_renditions": "+".join(r.name for r in rungs), "ladder_renditions": "+".join(r.name for r in rungs),
            "load": f"{load_before} → {load()}"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--heights", default="360,720,1080")
    parser.add_argument("--skip-old", action="store_true", help="only the progressive pipeline")
    args = parser.parse_args()
    heights = [int(h) for h in args.heights.split(",")]
    home = scratch_dir("viztube-firstplay-")
    sources = {}
    for height in heights:
        print(f"making a {args.seconds} s {height}p source ...", flush=True)
        sources[height] = home / f"src{height}.mp4"
        make_source(sources[height], height, args.seconds)
    rows: list[tuple[str, int, dict[str, float | str]]] = []
    server, base = start_onebox(home / "server", free_port())
    try:
        headers = bench_user(base)
        for height in heights:
            print(f"{height}p: publishing through the API ...", flush=True)
            rows.append(("now", height, run_new(base, headers, server.pid, sources[height])))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    if not args.skip_old:
        for height in heights:
            print(f"{height}p: the whole ladder in one run, as before ...", flush=True)
            rows.append(("before", height, run_old(sources[height], home / f"old{height}")))
    rows.sort(key=lambda row: (row[1], row[0] != "before"))
    print(f"\nFirst play through HLS: {args.seconds} s H.264/AAC sources, {os.cpu_count()} CPUs, ffmpeg niced; "
          "times from the publish response (before: from the probe)")
    header = (f"{'source':>6} | {'pipeline':>8} | {'first playable s':>16} | {'first renditions':>20} | "
              f"{'ladder done s':>13} | {'ladder':>20} | {'CPU s':>6} | {'video s/CPU s':>13} | load avg 1/5/15 min")
    print(header)
    print("-" * (len(header) + 12))
    for pipeline, height, row in rows:
        print(f"{height:>5}p | {pipeline:>8} | {row['first']:>16.1f} | {row['first_renditions']:>20} | "
              f"{row['ladder']:>13.1f} | {row['ladder_renditions']:>20} | {row['cpu']:>6.1f} | "
              f"{float(row['duration']) / float(row['cpu']):>13.2f} | {row['load']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
