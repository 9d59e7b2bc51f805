"""A real server for end-to-end tests, started the way `make run` starts it: `python -m infra.serve` with
its own VIZTUBE_HOME, so it brings up its own embedded PostgreSQL and applies the migrations itself."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import PROJECT_DIR


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(base: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()}")
        try:
            if requests.get(f"{base}/api/v2/healthcheck", timeout=10).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or still starting its database
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server did not come up:\n{log.read_text()}")


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    proc.send_signal(sig)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def server_env(home: Path, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "VIZTUBE_STAGE", "PUBLIC_URL", "STORAGE", "CLOUDINARY_URL")}
    env.update({"VIZTUBE_HOME": str(home), "PORT": str(port), "HOST": "127.0.0.1", "VIZTUBE_STAGE": "dev",
                "BCRYPT_ROUNDS": "4", "LOG_LEVEL": "WARNING", "CORS_ORIGINS": "https://app.example.com",
                "WEB_CONCURRENCY": "2", "WEB_THREADS": "8", **extra})
    return env


SERVER_HOME = Path(tempfile.mkdtemp(prefix="viztube-e2e-"))


@contextmanager
def running_server(env: dict[str, str], log: Path) -> Iterator[str]:
    """`python -m infra.serve` with this environment (its PORT included), its output in `log`; yields its base URL
    once healthy, and stops it (SIGTERM) at the end."""
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "infra.serve"], cwd=PROJECT_DIR, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{env['PORT']}"
    try:
        wait_until_up(base, proc, log)
        yield base
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    port = free_port()
    with running_server(server_env(SERVER_HOME, port), SERVER_HOME / "server.log") as base:
        yield base


def signed_in_user(base: str, prefix: str = "u") -> tuple[dict[str, str], dict]:
    """Register a fresh user over HTTP and sign in: (Bearer headers, the user as registered)."""
    import uuid

    from tests.conftest import jpeg_bytes

    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    registered = requests.post(f"{base}/api/v2/user/register", timeout=30,
                               data={"fullname": f"User {name}", "username": name, "email": f"{name}@example.com",
                                     "password": "Passw0rdX"}, files={"avatar": ("a.jpg", jpeg_bytes(), "image/jpeg")})
    registered.raise_for_status()
    token = requests.post(f"{base}/api/v2/user/login", json={"username": name, "password": "Passw0rdX"},
                          timeout=30).json()["data"]["accessToken"]
    return {"Authorization": f"Bearer {token}"}, registered.json()["data"]


def until(condition: Callable[[], Any], timeout: float, what: str, logs: Callable[[], str] = lambda: "") -> Any:
    """The condition's first truthy value within `timeout` seconds (polled every 0.25 s), else an AssertionError
    naming `what` (and, with `logs`, what the processes said)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"not within {timeout:.0f} s: {what}\n{logs()}")
