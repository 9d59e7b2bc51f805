"""Pieces the benchmarks share: a scratch folder, a free port, and the peak resident memory of a process tree."""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psutil
import requests

PROJECT_DIR = Path(__file__).resolve().parents[2]


def scratch_dir(prefix: str) -> Path:
    """A temporary folder for a benchmark's database, media and files, removed when the run ends (--scale 100
    leaves ~7 GB otherwise); BENCH_KEEP=1 keeps it. Call it before starting the embedded PostgreSQL: exit
    handlers run last-registered first, so the database has stopped when the folder goes."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    if os.environ.get("BENCH_KEEP") != "1":
        atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RssPeak:
    """Peak RSS of a process and its children (or of its children only), sampled in the background."""

    def __init__(self, pid: int, *, include_root: bool = True, recursive: bool = True, every: float = 0.02) -> None:
        self.root = psutil.Process(pid)
        self.include_root, self.recursive, self.every = include_root, recursive, every
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def current(self) -> int:
        processes = self.root.children(recursive=self.recursive) + ([self.root] if self.include_root else [])
        total = 0
        for proc in processes:
            try:
                total += proc.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.current())
            time.sleep(self.every)

    def __enter__(self) -> RssPeak:
        self.peak = self.current()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def wait_until_idle(pid: int, *, cpu_below: float = 0.1, interval: float = 0.1, timeout: float = 30.0) -> bool:
    """Wait until a process and its children use less than `cpu_below` of a CPU over `interval` seconds (say, a
    server has answered the requests a load generator left queued); False if that took longer than `timeout`."""
    root = psutil.Process(pid)

    def cpu_seconds() -> float:
        total = 0.0
        for proc in [root, *root.children(recursive=True)]:
            try:
                times = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    deadline = time.monotonic() + timeout
    before = cpu_seconds()
    while time.monotonic() < deadline:
        time.sleep(interval)
        after = cpu_seconds()
        if after - before < cpu_below * interval:
            return True
        before = after
    return False


def start_onebox(home: Path, port: int, **extra: str) -> tuple[subprocess.Popen, str]:
    """`python -m infra.serve` as `make run` starts it (its own VIZTUBE_HOME, so its own embedded PostgreSQL), with
    `extra` settings; returns the process and its base URL once it answers its healthcheck."""
    env = {**os.environ, "VIZTUBE_HOME": str(home), "PORT": str(port), "VIZTUBE_STAGE": "dev", "LOG_LEVEL": "WARNING",
           "WEB_THREADS": "8", "BCRYPT_ROUNDS": "4", **extra}
    env.pop("DATABASE_URL", None)
    server = subprocess.Popen([sys.executable, "-m", "infra.serve"], cwd=PROJECT_DIR, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if requests.get(f"{base}/api/v2/healthcheck", timeout=2).ok:
                break
        except requests.RequestException:
            pass
        time.sleep(0.2)
    return server, base


def bench_user(base: str) -> dict[str, str]:
    """Register a fresh user on the server at `base` and sign in: the Bearer header."""
    name = f"bench{uuid.uuid4().hex[:8]}"
    avatar = (PROJECT_DIR / "infra" / "bench" / "thumbnail.jpg").read_bytes()
    requests.post(f"{base}/api/v2/user/register", data={"fullname": "Bench", "username": name,
                                                        "email": f"{name}@example.com", "password": "Passw0rdX"},
                  files={"avatar": ("a.jpg", avatar, "image/jpeg")}, timeout=30).raise_for_status()
    token = requests.post(f"{base}/api/v2/user/login", json={"username": name, "password": "Passw0rdX"},
                          timeout=30).json()["data"]["accessToken"]
    return {"Authorization": f"Bearer {token}"}
