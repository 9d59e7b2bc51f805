"""Benchmark: a large resumable (tus) upload through the one-box server, with a forced disconnect half-way.

Starts the server the way `make run` does (`python -m infra.serve`, its own VIZTUBE_HOME, MAX_VIDEO_BYTES raised to
fit), writes a file of `--size-mb` (a real MP4's first bytes, so the server's sniffing takes it for a video, then
random bytes), and sends it with tus-py-client in `--chunk-mb` chunks. Half-way, one chunk's connection is cut in
the middle of its body; the client then asks the server for the offset and goes on. Prints the time, the server's
RSS before and at its peak (summed over its processes), and whether the stored file's SHA-256 is the source's.

    .venv/bin/python -m infra.bench.resumable_upload [--size-mb 1024] [--chunk-mb 32]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import socket
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

from tusclient.client import TusClient

from infra.bench.common import RssPeak, bench_user, free_port, scratch_dir, start_onebox
from infra.bench.upload_memory import make_video

PROJECT_DIR = Path(__file__).resolve().parents[2]
MB = 1024 * 1024


def make_file(path: Path, size: int, head: Path) -> str:
    """`size` bytes: a real MP4's bytes first, random bytes after; returns the SHA-256."""
    digest = hashlib.sha256()
    with open(path, "wb") as out, open(head, "rb") as source:
        first = source.read()[:size]
        out.write(first)
        digest.update(first)
        written = len(first)
        while written < size:
            block = os.urandom(min(8 * MB, size - written))
            out.write(block)
            digest.update(block)
            written += len(block)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while block := source.read(8 * MB):
            digest.update(block)
    return digest.hexdigest()


def cut_mid_chunk(url: str, headers: dict[str, str], offset: int, length: int, source: Path) -> None:
    """A PATCH whose connection drops half-way through its body."""
    target = urlparse(url)
    with socket.create_connection((target.hostname, target.port), timeout=30) as sock, open(source, "rb") as data:
        lines = [f"PATCH {target.path} HTTP/1.1", f"Host: {target.netloc}", "Tus-Resumable: 1.0.0",
                 "Content-Type: application/offset+octet-stream", f"Upload-Offset: {offset}",
                 f"Content-Length: {length}", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
        sock.sendall("\r\n".join(lines).encode())
        data.seek(offset)
        sock.sendall(data.read(length // 2))
        sock.shutdown(socket.SHUT_RDWR)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--chunk-mb", type=int, default=32)
    args = parser.parse_args()
    size, chunk = args.size_mb * MB, args.chunk_mb * MB

    home = scratch_dir("viztube-bench-")
    head = home / "head.mp4"
    make_video(head, 1)
    source = home / "big.mp4"
    print(f"writing a {args.size_mb} MB file ...", flush=True)
    expected = make_file(source, size, head)
    server, base = start_onebox(home, free_port(), WEB_CONCURRENCY="1", RATE_LIMITS="off",
                                MAX_VIDEO_BYTES=str(size + MB))
    try:
        headers = bench_user(base)
        client = TusClient(f"{base}/api/v2/uploads/tus", headers=headers)
        with RssPeak(server.pid) as rss, open(source, "rb") as stream:
            baseline = rss.current()
            started = time.monotonic()
            uploader = client.uploader(file_stream=stream, chunk_size=chunk, metadata={
                "kind": "video", "filetype": "video/mp4", "filename": "big.mp4"})
            while uploader.offset < size // 2:
                uploader.upload_chunk()
            cut_at = uploader.offset
            cut_mid_chunk(uploader.url, headers, cut_at, min(chunk, size - cut_at), source)
            resumed = client.uploader(file_stream=stream, chunk_size=chunk, url=uploader.url)
            resumed_at = resumed.offset  # asked of the server (HEAD)
            resumed.upload()
            elapsed = time.monotonic() - started
        stored = next((home / "media" / "videos").glob("*.mp4"))
        match = sha256_of(stored) == expected
        print(f"\n{'size':>8} | {'chunk':>6} | {'cut at':>8} | {'resumed at':>10} | {'time':>7} | {'MB/s':>6} |"
              f" {'server RSS before':>17} | {'peak':>7} | {'growth':>7} | sha-256")
        print(f"{args.size_mb:>6}MB | {args.chunk_mb:>4}MB | {cut_at // MB:>6}MB | {resumed_at // MB:>8}MB |"
              f" {elapsed:>6.1f}s | {size / MB / elapsed:>6.1f} | {baseline / MB:>15.0f}MB | {rss.peak / MB:>5.0f}MB |"
              f" {(rss.peak - baseline) / MB:>5.0f}MB | {'match' if match else 'MISMATCH'}")
        return 0 if match and resumed_at == cut_at else 1
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    sys.exit(main())
