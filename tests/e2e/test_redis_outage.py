"""Redis failures never undo a security decision (issue #10, point 5), over real processes: two
`python -m infra.serve` nodes sharing one PostgreSQL and one redis-server of this module's own, which the tests
freeze (SIGSTOP: it accepts connections and never answers), thaw, kill and start again.

Also the start-up side of point 6: the real server says which backends it uses, without Redis that it assumes
it is the only instance, and the prod stage refuses several workers without Redis.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import PROJECT_DIR, jpeg_bytes
from tests.e2e.conftest import free_port, server_env, stop, wait_until_up

PASSWORD = "Passw0rdX"


class OwnRedis:
    """A redis-server for this module alone: the session's `redis_server` must never be frozen under others."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None
        self.frozen = False

    def start(self) -> None:
        exe = shutil.which("redis-server")
        assert exe, "redis-server is not installed: run `make test`, which installs it"
        self.proc = subprocess.Popen([exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def freeze(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        if self.proc is not None and self.frozen:
            self.proc.send_signal(signal.SIGCONT)
        self.frozen = False

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.proc = None

    def running(self) -> None:
        """Back to normal whatever a failed test left: thawed, and started if it was killed."""
        self.thaw()
        if self.proc is None:
            self.start()

    def stop(self) -> None:
        if self.proc is not None:
            self.thaw()
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture(scope="module")
def own_redis() -> Iterator[OwnRedis]:
    redis_process = OwnRedis()
    redis_process.start()
    try:
        yield redis_process
    finally:
        redis_process.stop()


def _start_node(home: Path, port: int, **extra: str) -> subprocess.Popen:
    log = home / "server.log"
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "infra.serve"], cwd=PROJECT_DIR, stdout=out,
                                stderr=subprocess.STDOUT, env=server_env(home, port, **extra))


@pytest.fixture(scope="module")
def nodes(own_redis: OwnRedis) -> Iterator[tuple[str, str, Path]]:
    """Two single-process servers sharing the tests' database and `own_redis`; (A's URL, B's URL, A's log)."""
    env = {"REDIS_URL": own_redis.url, "DATABASE_URL": os.environ["DATABASE_URL"], "WEB_CONCURRENCY": "1",
           "WEB_THREADS": "4", "RATE_LIMITS": "on", "LOG_LEVEL": "INFO", "RATE_LIMIT_LOGIN_ACCOUNT": "3/5minutes",
           # Only the per-account login limit is under test: every other limit stays out of the way.
           "RATE_LIMIT_LOGIN_IP": "10000/5minutes", "RATE_LIMIT_REGISTER": "10000/hour",
           "RATE_LIMIT_GLOBAL": "10000/minute",
           # One deployment: the same token secrets on both nodes (else each makes its own under its home).
           **dict.fromkeys(("ACCESS_TOKEN_SECRET", "REFRESH_TOKEN_SECRET", "MEDIA_URL_SECRET"), uuid.uuid4().hex * 2)}
    homes = [Path(tempfile.mkdtemp(prefix="viztube-redis-node-")) for _ in range(2)]
    ports = [free_port() for _ in homes]
    procs = [_start_node(home, port, **env) for home, port in zip(homes, ports, strict=True)]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for base, proc, home in zip(bases, procs, homes, strict=True):
            wait_until_up(base, proc, home / "server.log")
        yield bases[0], bases[1], homes[0] / "server.log"
    finally:
        for proc in procs:
            stop(proc)
        for home in homes:
            shutil.rmtree(home, ignore_errors=True)


def _metrics(base: str) -> dict[str, float]:
    """Samples by name and labels, e.g. 'viztube_cache_state{state=up}'."""
    text = requests.get(f"{base}/metrics", timeout=5).text
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return found


def _using_redis(base: str) -> bool:
    found = _metrics(base)
    return found["viztube_cache_state{state=up}"] == 1 and found["viztube_ratelimit_fallback"] == 0


def _until_using_redis(base: str, headers: dict[str, str], timeout: float = 15) -> list[int]:
    """Make signed-in requests (they use the rate limiter and the session cache, so they probe Redis, which a
    node does every few seconds after a failure) until the node is back on Redis; their statuses."""
    statuses: list[int] = []
    deadline = time.monotonic() + timeout
    while True:
        statuses.append(_me(base, headers))
        if _using_redis(base):
            return statuses
        assert time.monotonic() < deadline, f"{base} did not go back to Redis: " + ", ".join(
            f"{k} {v}" for k, v in _metrics(base).items() if k.startswith(("viztube_cache", "viztube_ratelimit")))
        time.sleep(0.25)


@pytest.fixture
def healthy(own_redis: OwnRedis, nodes: tuple[str, str, Path]) -> tuple[str, str, dict[str, str]]:
    """Both nodes on a running Redis before the test (a test before may have frozen or killed it); a bystander's
    headers, signed in, for requests that go through the session cache."""
    own_redis.running()
    node_a, node_b, _ = nodes
    bystander = _sign_in(node_a, _account(node_a))
    _until_using_redis(node_a, bystander)
    _until_using_redis(node_b, bystander)
    return node_a, node_b, bystander


def _account(base: str) -> str:
    name = f"r{uuid.uuid4().hex[:12]}"
    requests.post(f"{base}/api/v2/user/register", timeout=30, files={"avatar": ("a.jpg", jpeg_bytes(), "image/jpeg")},
                  data={"fullname": "Red Is", "username": name, "email": f"{name}@example.com",
                        "password": PASSWORD}).raise_for_status()
    return name


def _sign_in(base: str, name: str) -> dict[str, str]:
    answer = requests.post(f"{base}/api/v2/user/login", json={"username": name, "password": PASSWORD}, timeout=30)
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['data']['accessToken']}"}


def _me(base: str, headers: dict[str, str]) -> int:
    return requests.get(f"{base}/api/v2/user/current-user-details", headers=headers, timeout=5).status_code


def test_a_logout_during_a_redis_freeze_is_fast_and_never_undone_on_any_node(own_redis, healthy):
    node_a, node_b, _ = healthy
    headers = _sign_in(node_a, _account(node_a))
    assert (_me(node_a, headers), _me(node_b, headers)) == (200, 200)  # the session is now cached in Redis

    own_redis.freeze()
    started = time.monotonic()
    logout = requests.post(f"{node_a}/api/v2/user/logout", headers=headers, timeout=5)
    logout_seconds = time.monotonic() - started
    time.sleep(1)  # Redis stays frozen a while, as in the report
    own_redis.thaw()

    assert logout.status_code == 200
    assert logout_seconds < 1
    # Redis still holds the session entry cached before the logout, and never heard of the logout.
    assert _me(node_b, headers) == 401
    assert _me(node_a, headers) == 401
    assert set(_until_using_redis(node_a, headers)) == {401}  # node A trusts Redis again, and still refuses
    assert _me(node_b, headers) == 401
    assert _metrics(node_a)["viztube_cache_invalidations_lost_total"] >= 1


def test_a_hung_redis_costs_one_short_timeout_then_nothing(own_redis, healthy):
    node_a, _, _ = healthy
    headers = _sign_in(node_a, _account(node_a))
    assert _me(node_a, headers) == 200
    bypassed_before = _metrics(node_a)["viztube_cache_bypassed_total"]

    own_redis.freeze()
    try:
        timings, statuses = [], []
        for _ in range(6):  # each one hits the rate limiter and the session cache
            started = time.monotonic()
            statuses.append(_me(node_a, headers))
            timings.append(time.monotonic() - started)
        during = _metrics(node_a)
    finally:
        own_redis.thaw()

    assert statuses == [200] * 6
    assert timings[0] < 1  # the first one waits for the timeouts (a quarter of a second each)
    # Then the breakers send everything around Redis at once: milliseconds each, where a single call still
    # waiting on Redis would cost every request at least 0.25 s (1.25 s for these five).
    assert sum(timings[1:]) < 0.75
    assert during["viztube_cache_state{state=down}"] == 1
    assert during["viztube_ratelimit_fallback"] == 1
    assert during["viztube_cache_bypassed_total"] - bypassed_before >= 5


def _wrong_logins(base: str, name: str, count: int) -> list[int]:
    return [requests.post(f"{base}/api/v2/user/login", json={"username": name, "password": "Wrong1234"},
                          timeout=5).status_code for _ in range(count)]


def test_rate_limits_hold_per_process_while_redis_is_down_and_are_shared_again_when_it_returns(own_redis, healthy):
    node_a, node_b, bystander = healthy

    own_redis.kill()
    per_process = _wrong_logins(node_a, "victim-one", 4), _wrong_logins(node_b, "victim-one", 4)
    signed_in_meanwhile = _me(node_a, bystander)
    during = _metrics(node_a)
    own_redis.start()
    _until_using_redis(node_a, bystander)
    _until_using_redis(node_b, bystander)
    shared = _wrong_logins(node_a, "victim-two", 2) + _wrong_logins(node_b, "victim-two", 2)
    after = _metrics(node_a)

    assert per_process == ([401, 401, 401, 429], [401, 401, 401, 429])  # 3 per 5 minutes, in each process
    assert signed_in_meanwhile == 200  # the session check went to the database
    assert during["viztube_ratelimit_fallback"] == 1
    assert during["viztube_cache_state{state=down}"] == 1
    assert shared == [401, 401, 401, 429]  # one budget across both nodes again
    assert after["viztube_ratelimit_fallback"] == 0 and after["viztube_cache_state{state=up}"] == 1


def test_a_node_logs_at_start_that_it_shares_limits_and_cache_through_redis(nodes):
    _, _, log = nodes

    assert "cache: redis (shared by every process); rate limits: redis" in log.read_text()


def test_a_server_without_redis_says_it_assumes_it_is_alone_and_warns_about_several_workers(tmp_path):
    port = free_port()
    proc = _start_node(tmp_path, port, DATABASE_URL=os.environ["DATABASE_URL"], LOG_LEVEL="INFO",
                       WEB_CONCURRENCY="2", WEB_THREADS="2")
    try:
        wait_until_up(f"http://127.0.0.1:{port}", proc, tmp_path / "server.log")
    finally:
        stop(proc)
    output = (tmp_path / "server.log").read_text()

    assert "No REDIS_URL: this server assumes it is the only instance" in output
    assert '"level": "WARNING"' in next(line for line in output.splitlines() if "WEB_CONCURRENCY=2 without REDIS_URL"
                                        in line)


def test_prod_refuses_to_start_several_workers_without_redis(tmp_path):
    secrets = dict.fromkeys(("ACCESS_TOKEN_SECRET", "REFRESH_TOKEN_SECRET", "MEDIA_URL_SECRET"), "s" * 40)
    env = server_env(tmp_path, free_port(), DATABASE_URL=os.environ["DATABASE_URL"], VIZTUBE_STAGE="prod",
                     WEB_CONCURRENCY="2", **secrets)
    env.pop("REDIS_URL", None)

    proc = subprocess.Popen([sys.executable, "-m", "infra.serve"], cwd=PROJECT_DIR, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        output, _ = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:  # it started serving: stop it (and its workers) the graceful way
        stop(proc)
        pytest.fail("the prod server started with WEB_CONCURRENCY=2 and no REDIS_URL")

    assert proc.returncode != 0
    assert "WEB_CONCURRENCY=2 needs REDIS_URL in the prod stage" in output
