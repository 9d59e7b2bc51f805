"""Jobs across nodes and dead workers (issue #10, points 7 and 8), with real processes sharing one PostgreSQL.

A node is a VIZTUBE_HOME. The test process is one node (its home is the suite's); every other node here is a
`python -m tests.e2e.job_worker` process with a home of its own, running the real job engine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from shared import db, jobs
from shared.jobs import POLL_SECONDS
from shared.node import node_id
from tests.conftest import PROJECT_DIR, jpeg_bytes, multipart, video_bytes


def _node_env(home: Path, **extra: str) -> dict[str, str]:
    """The suite's environment (its database, local storage, the test stage) with another VIZTUBE_HOME."""
    env = {k: v for k, v in os.environ.items() if k != "JOB_LEASE"}
    env.update({"VIZTUBE_HOME": str(home), "LOG_LEVEL": "WARNING", **extra})
    return env


def _until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds until `condition` held; fails the test after `timeout`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.05)
    return time.monotonic() - started


def _job(job_id: Any) -> dict[str, Any]:
    row = db.fetch_one("SELECT status, attempts, node, worker_node, worker_pid, last_error FROM jobs WHERE id = :id",
                       id=job_id)
    assert row is not None
    return row


@pytest.fixture
def spawn_worker(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start a worker process on a node (a home); every one still running is killed when the test ends."""
    started: list[subprocess.Popen] = []

    def spawn(home: Path, **extra: str) -> subprocess.Popen:
        home.mkdir(parents=True, exist_ok=True)
        with open(tmp_path / f"{home.name}.log", "ab") as log:
            proc = subprocess.Popen([sys.executable, "-m", "tests.e2e.job_worker", "serve"], cwd=PROJECT_DIR,
                                    env=_node_env(home, **extra), stdout=log, stderr=subprocess.STDOUT)
        started.append(proc)
        _until(lambda: (home / f"worker-{proc.pid}.ready").exists() or proc.poll() is not None, 30, "worker up")
        assert proc.poll() is None, (tmp_path / f"{home.name}.log").read_text()
        return proc

    yield spawn
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


@pytest.fixture
def held(tmp_path: Path) -> tuple[Any, Path]:
    """A `test_hold` job any node may run, and its folder: the job runs until the folder's `hold` file goes."""
    folder = tmp_path / "job"
    folder.mkdir()
    (folder / "hold").touch()
    return jobs.enqueue("test_hold", {"dir": str(folder)}), folder


def _started_by(folder: Path, proc: subprocess.Popen) -> Callable[[], bool]:
    return lambda: (folder / f"started-{proc.pid}").exists()


def test_a_video_published_on_one_node_is_processed_there_never_by_another(client, make_user, auth, tmp_path):
    headers = auth(make_user())
    body, form_headers = multipart({"title": "node a"}, {"videoFile": ("v.mp4", video_bytes("mp4"), "video/mp4"),
                                                         "thumbnail": ("t.jpg", jpeg_bytes(), "image/jpeg")})
    video = client.post("/api/v2/videos", body=body, headers={**headers, **form_headers}).json_body["data"]["video"]

    # Node B shares the database but not the disk: it runs every job it may, and must find none.
    drained = subprocess.run([sys.executable, "-m", "tests.e2e.job_worker", "drain"], cwd=PROJECT_DIR,
                             env=_node_env(tmp_path / "node-b"), capture_output=True, text=True, timeout=60)
    assert drained.returncode == 0, drained.stderr
    assert json.loads(drained.stdout.splitlines()[-1]) == {"ran": 0}
    (waiting,) = db.fetch_all("SELECT status, node, worker_node FROM jobs")
    assert waiting == {"status": "pending", "node": node_id(), "worker_node": None}
    assert client.get(f"/api/v2/videos/{video['id']}", headers=headers).json_body["data"]["processingStatus"] == \
        "PROCESSING"

    assert jobs.run_pending() == 2  # node A (this process): probe, then transcode

    detail = client.get(f"/api/v2/videos/{video['id']}", headers=headers).json_body["data"]
    assert (detail["processingStatus"], detail["processingError"]) == ("COMPLETED", None)
    ran = db.fetch_all("SELECT kind, status, node, worker_node FROM jobs ORDER BY created_at")
    assert ran == [{"kind": kind, "status": "done", "node": node_id(), "worker_node": node_id()}
                   for kind in ("process_video", "transcode_hls")]


def test_a_restarted_node_resumes_its_dead_workers_job_at_once(tmp_path, spawn_worker, held):
    job_id, folder = held
    home = tmp_path / "node-a"
    first = spawn_worker(home)  # the default lease, 45 s: a restart must not wait it out
    _until(_started_by(folder, first), 30, "the first worker runs the job")

    first.kill()  # SIGKILL, mid-job: no clean-up of any kind
    first.wait()
    killed = time.monotonic()
    second = spawn_worker(home)
    _until(_started_by(folder, second), 15, "the restarted node resumes the job")
    resumed_after = time.monotonic() - killed

    assert resumed_after < 15, resumed_after  # a third of the lease, process start-up included
    (folder / "hold").unlink()
    _until(lambda: _job(job_id)["status"] == "done", 10, "the resumed job finishes")
    assert (_job(job_id)["attempts"], _job(job_id)["worker_pid"]) == (2, second.pid)
    print(f"resumed {resumed_after:.2f} s after kill -9, process start included")


def test_another_node_takes_over_a_dead_workers_job_within_the_lease(tmp_path, spawn_worker, held):
    job_id, folder = held
    lease = 4
    first = spawn_worker(tmp_path / "node-a", JOB_LEASE=f"{lease}s")
    _until(_started_by(folder, first), 30, "node A runs the job")
    other = spawn_worker(tmp_path / "node-b", JOB_LEASE=f"{lease}s")

    time.sleep(lease + 1)  # node B polls all along; node A's heartbeats keep its claim
    assert (_job(job_id)["status"], _job(job_id)["worker_pid"]) == ("running", first.pid)
    first.kill()
    first.wait()
    taken_after = _until(_started_by(folder, other), lease + 10, "node B takes the job over")

    # The lease since node A's last heartbeat, then node B's next poll.
    assert taken_after <= lease + 2 * POLL_SECONDS + 1, taken_after
    (folder / "hold").unlink()
    _until(lambda: _job(job_id)["status"] == "done", 10, "node B finishes the job")
    node_b = (tmp_path / "node-b" / "node-id").read_text().strip()
    assert (_job(job_id)["attempts"], _job(job_id)["worker_node"]) == (2, node_b)
    print(f"taken over {taken_after:.2f} s after kill -9 (lease {lease} s)")
