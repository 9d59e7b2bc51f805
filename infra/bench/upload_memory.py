"""Benchmark: server memory while 100 MB videos are uploaded (1 and 4 at once), then downloaded by slow clients.

Starts the server the way `make run` does (`python -m infra.serve`, embedded PostgreSQL, its own
VIZTUBE_HOME), makes a real ~100 MB MP4 with the bundled ffmpeg, uploads it through the multipart
publish route, samples the RSS of the server's processes every 10 ms, and prints a table; then 4 clients
that read at about 20 MB/s each fetch the stored file at once (the server must stream it, not buffer it).

    .venv/bin/python -m infra.bench.upload_memory [--size-mb 100] [--workers 1]
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from infra.bench.common import RssPeak, bench_user, free_port, scratch_dir, start_onebox

PROJECT_DIR = Path(__file__).resolve().parents[2]
MB = 1024 * 1024


def make_video(path: Path, size_mb: int) -> None:
    """A real H.264 MP4 of about `size_mb` MB (a moving test pattern at a high bitrate)."""
    from shared.media.probe import run_ffmpeg

    # Noise makes the picture incompressible; -fs stops (and finalises the file) at the target size.
    result = run_ffmpeg(["-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
                         "-t", "600", "-vf", "noise=alls=60:allf=t+u", "-c:v", "libx264", "-preset", "ultrafast",
                         "-crf", "4", "-pix_fmt", "yuv420p", "-fs", str(size_mb * MB), str(path)], timeout=600)
    if result.returncode:
        raise SystemExit(result.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--workers", type=int, default=1, help="server workers (memory is summed over them)")
    args = parser.parse_args()

    home = scratch_dir("viztube-bench-")
    video = home / "big.mp4"
    print(f"making a ~{args.size_mb} MB test video ...", flush=True)
    make_video(video, args.size_mb - 1)
    thumb = PROJECT_DIR / "infra" / "bench" / "thumbnail.jpg"
    size = video.stat().st_size
    server, base = start_onebox(home, free_port(), WEB_CONCURRENCY=str(args.workers))
    try:
        headers = bench_user(base)

        uploaded: list[str] = []

        def upload(i: int) -> int:
            with open(video, "rb") as handle:
                response = requests.post(f"{base}/api/v2/videos", headers=headers, timeout=600,
                                         data={"title": f"bench {i}"},
                                         files={"videoFile": ("big.mp4", handle, "video/mp4"),
                                                "thumbnail": ("t.jpg", thumb.read_bytes(), "image/jpeg")})
            if response.status_code == 200:
                uploaded.append(response.json()["data"]["video"]["videoFileUrl"])
            return response.status_code

        upload(-1)  # warm-up: imports, pool, first probe
        time.sleep(1)
        rows = []
        for in_flight in (1, 4):
            workers_only = RssPeak(server.pid, include_root=False, recursive=False, every=0.01)
            whole_tree = RssPeak(server.pid, include_root=False, recursive=True, every=0.01)
            baseline, baseline_tree = workers_only.current(), whole_tree.current()
            started = time.monotonic()
            with workers_only, whole_tree, ThreadPoolExecutor(max_workers=in_flight) as pool:
                statuses = list(pool.map(upload, range(in_flight)))
            elapsed = time.monotonic() - started
            growth = (workers_only.peak - baseline) / MB
            tree_growth = (whole_tree.peak - baseline_tree) / MB
            rows.append((in_flight, statuses, elapsed, baseline / MB, growth, growth / in_flight, tree_growth,
                         size * in_flight / MB / elapsed))
            time.sleep(1)
        download = _slow_downloads(server.pid, uploaded[0], readers=4)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    print(f"\nfile: {size / MB:.1f} MB MP4; server: granian, {args.workers} worker(s) x 8 threads; "
          f"{os.cpu_count()} CPUs")
    print(f"{'in flight':>9} | {'status':>14} | {'wall s':>6} | {'worker RSS before MB':>20} | "
          f"{'peak growth MB':>14} | {'per upload MB':>13} | {'incl. ffmpeg MB':>15} | {'MB/s':>6}")
    print("-" * 118)
    for in_flight, statuses, elapsed, base_mb, growth, per, tree, rate in rows:
        print(f"{in_flight:>9} | {','.join(map(str, statuses)):>14} | {elapsed:>6.1f} | {base_mb:>20.1f} | "
              f"{growth:>14.1f} | {per:>13.1f} | {tree:>15.1f} | {rate:>6.1f}")
    ok = all(all(s == 200 for s in r[1]) for r in rows) and all(r[5] < 50 for r in rows)
    print(f"\ntarget: < 50 MB of worker RSS growth per upload in flight -> {'met' if ok else 'NOT met'}")
    readers, fetched, elapsed, growth = download
    served_ok = fetched == readers * size and growth < 50
    print(f"\nserving: {readers} slow readers fetched {fetched / MB:.0f} MB in {elapsed:.1f}s; worker RSS growth "
          f"{growth:.1f} MB (target < 50 MB: the file is streamed, not buffered) -> {'met' if served_ok else 'NOT met'}")
    return 0 if ok and served_ok else 1


def _slow_downloads(server_pid: int, url: str, *, readers: int) -> tuple[int, int, float, float]:
    """`readers` clients fetch `url` at once, each reading ~20 MB/s; returns bytes fetched, seconds, RSS growth."""

    def fetch(_: int) -> int:
        got = 0
        with requests.get(url, stream=True, timeout=120) as response:
            response.raise_for_status()
            for chunk in response.iter_content(256 * 1024):
                got += len(chunk)
                time.sleep(0.0125)  # 256 KB per 12.5 ms: a client slower than the disk
        return got

    workers_only = RssPeak(server_pid, include_root=False, recursive=False, every=0.01)
    baseline = workers_only.current()
    started = time.monotonic()
    with workers_only, ThreadPoolExecutor(max_workers=readers) as pool:
        fetched = sum(pool.map(fetch, range(readers)))
    return readers, fetched, time.monotonic() - started, (workers_only.peak - baseline) / MB


if __name__ == "__main__":
    sys.exit(main())
