"""The job engine's truth across nodes (issue #10): what a node may claim, one transcode per node, claims fenced
against takeovers, dead workers' jobs resumed, and jobs that could not do their work never recorded as `done`.
Real PostgreSQL; workers of other nodes are `Worker` identities, so every outcome here is deterministic."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from typing import Any

import pytest

from shared import db, jobs, node
from shared.node import Worker, host_id, node_id
from shared.settings import SettingsError, load_settings, reset_settings
from shared.sql import jobs as jobs_sql
from tests.conftest import jpeg_bytes, media_files, multipart, video_bytes

HEAVY = jobs.HEAVY_KINDS
_given_up: list[tuple[dict[str, Any], str]] = []


@jobs.handler("test_never_runs", on_give_up=lambda payload, reason: _given_up.append((payload, reason)))
def _never_runs(payload: dict[str, Any]) -> None:
    raise AssertionError("a job over its attempts must not run again")


def _worker(node_name: str | None, pid: int = 4242, token: str | None = None, host: str | None = None) -> Worker:
    return Worker(node=node_name, host=host or host_id(), pid=pid, token=token or uuid.uuid4().hex)


def _transcodes(n: int) -> None:
    with db.transaction():
        for _ in range(n):
            jobs.enqueue("transcode_hls", {"video_id": str(uuid.uuid4())})


def _row(job_id: Any) -> dict[str, Any]:
    row = db.fetch_one("SELECT status, attempts, worker_pid, last_error FROM jobs WHERE id = :id", id=job_id)
    assert row is not None
    return row


# ------------------------------------------------------------------------------ settings and identity


def test_the_default_lease_lets_another_node_take_over_within_a_minute(tmp_path, monkeypatch):
    # The lease, then up to one poll of the taking node, then the claim: inside 60 s.
    assert load_settings({"VIZTUBE_HOME": str(tmp_path)}).job_lease_seconds + jobs.POLL_SECONDS < 60
    assert load_settings({"VIZTUBE_HOME": str(tmp_path), "JOB_LEASE": "5s"}).job_lease_seconds == 5
    with pytest.raises(SettingsError, match="JOB_LEASE"):
        load_settings({"VIZTUBE_HOME": str(tmp_path), "JOB_LEASE": "soon"})
    monkeypatch.delenv("JOB_LEASE", raising=False)
    reset_settings()
    assert jobs.heartbeat_seconds() == 15  # well inside the lease


def test_a_node_is_its_home_kept_across_processes(tmp_path):
    script = "from shared.node import node_id; print(node_id())"
    ids = [subprocess.run([sys.executable, "-c", script], env={**os.environ, "VIZTUBE_HOME": str(home)},
                          capture_output=True, text=True, check=True).stdout.strip()
           for home in (tmp_path / "a", tmp_path / "a", tmp_path / "b")]

    assert ids[0] == ids[1] == (tmp_path / "a" / "node-id").read_text().strip()
    assert ids[2] != ids[0] and len(ids[2]) == 32


# ------------------------------------------------------------------------------ claims


def test_a_job_pinned_to_a_node_is_claimed_only_there():
    pinned = jobs.enqueue("delete_media", {"public_id": "x", "resource_type": "image", "storage": "local"},
                          node="node-a")
    free = jobs.enqueue("delete_media", {"public_id": "y", "resource_type": "image", "storage": "local"})

    taken_by_b = jobs_sql.claim(worker=_worker("node-b"))
    assert taken_by_b is not None and taken_by_b["id"] == free
    assert jobs_sql.claim(worker=_worker("node-b")) is None
    assert jobs_sql.claim(worker=_worker(None)) is None  # a process without a node (Lambda) neither
    taken_by_a = jobs_sql.claim(worker=_worker("node-a"))
    assert taken_by_a is not None and taken_by_a["id"] == pinned


def test_one_transcode_at_a_time_per_node_while_nodes_transcode_side_by_side():
    _transcodes(4)
    a1, a2 = _worker("node-a", pid=101), _worker("node-a", pid=102)  # two processes of one host

    claims = {name: jobs_sql.claim(worker=w, kinds=HEAVY, exclusive=True)
              for name, w in (("a1", a1), ("a2", a2), ("b", _worker("node-b")), ("c", _worker("node-c")))}

    assert claims["a2"] is None  # node A transcodes one video at a time, whichever of its processes asks
    assert all(claims[name] is not None for name in ("a1", "b", "c"))
    assert len({claims[name]["id"] for name in ("a1", "b", "c")}) == 3  # three nodes, three videos at once
    assert db.fetch_value("SELECT count(*) FROM jobs WHERE status = 'running'") == 3


def test_a_node_transcodes_its_next_video_once_its_running_one_is_over():
    _transcodes(2)
    first = jobs_sql.claim(worker=(a1 := _worker("node-a")), kinds=HEAVY, exclusive=True)
    assert first is not None
    assert jobs_sql.claim(worker=_worker("node-a"), kinds=HEAVY, exclusive=True) is None

    assert jobs_sql.complete(job_id=first["id"], token=a1.token, attempts=first["attempts"])
    assert jobs_sql.claim(worker=_worker("node-a"), kinds=HEAVY, exclusive=True) is not None


def test_a_claim_taken_over_after_its_lease_cannot_be_finished_by_its_first_worker():
    _transcodes(1)
    slow, other = _worker("node-a"), _worker("node-b")
    mine = jobs_sql.claim(worker=slow, lease_seconds=60)
    assert mine is not None
    db.execute("UPDATE jobs SET updated_at = now() - interval '61 seconds'")  # its heartbeats stopped
    theirs = jobs_sql.claim(worker=other, lease_seconds=60)
    assert theirs is not None and (theirs["id"], theirs["attempts"]) == (mine["id"], 2)

    assert not jobs_sql.touch(job_id=mine["id"], token=slow.token, attempts=1)
    assert not jobs_sql.complete(job_id=mine["id"], token=slow.token, attempts=1)
    assert not jobs_sql.fail(job_id=mine["id"], token=slow.token, attempts=1, error="late", retry_in_seconds=None)
    assert _row(mine["id"])["status"] == "running"
    assert jobs_sql.complete(job_id=mine["id"], token=other.token, attempts=2)
    assert _row(mine["id"])["status"] == "done"


# ------------------------------------------------------------------------------ dead workers


def test_a_starting_worker_resumes_only_its_own_nodes_dead_processes_jobs():
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # exited and reaped: its pid names no process
    zombie = subprocess.Popen(["sleep", "30"])
    zombie.kill()  # killed, not reaped yet: it still has a pid, and runs nothing
    alive = subprocess.Popen(["sleep", "30"])
    here, me = node_id(), node.current_worker()
    claimants = {
        "dead": _worker(here, pid=gone.pid),
        "zombie": _worker(here, pid=zombie.pid),
        "my pid before a restart": _worker(here, pid=os.getpid()),  # same pid, another start token
        "me": me,
        "a live sibling": _worker(here, pid=alive.pid),
        "another node's dead": _worker("node-elsewhere", pid=gone.pid),
        "another host's": _worker(here, pid=gone.pid, host="elsewhere/boot"),
    }
    try:
        ids = {}
        for name, claimant in claimants.items():
            ids[name] = jobs.enqueue("delete_media", {"public_id": name, "resource_type": "image", "storage": "x"})
            assert jobs_sql.claim(worker=claimant, job_id=ids[name]) is not None

        assert jobs.resume_dead_workers() == 3

        resumed = {name for name, job_id in ids.items() if _row(job_id)["status"] == "pending"}
        assert resumed == {"dead", "zombie", "my pid before a restart"}
        assert "died while running it" in _row(ids["dead"])["last_error"]
    finally:
        for proc in (zombie, alive):
            proc.kill()
            proc.wait()


def test_a_job_whose_workers_keep_dying_is_given_up_without_running_it_again():
    _given_up.clear()
    job_id = jobs_sql.insert(kind="test_never_runs", payload={"n": 1}, max_attempts=3)
    db.execute("UPDATE jobs SET status = 'running', attempts = 3, updated_at = now() - interval '1 hour'")

    assert jobs.run_one() is True

    row = _row(job_id)
    assert (row["status"], row["attempts"]) == ("failed", 4)
    assert row["last_error"].startswith("WorkerLost")
    assert _given_up == [({"n": 1}, "its worker stopped while running it, 3 attempts in all")]


# ------------------------------------------------------------------------------ a job that cannot do its work


@pytest.fixture
def published(client, make_user, auth) -> tuple[dict[str, str], dict[str, Any]]:
    headers = auth(make_user())
    body, form_headers = multipart({"title": "truth"}, {"videoFile": ("v.mp4", video_bytes("mp4"), "video/mp4"),
                                                        "thumbnail": ("t.jpg", jpeg_bytes(), "image/jpeg")})
    video = client.post("/api/v2/videos", body=body, headers={**headers, **form_headers}).json_body["data"]["video"]
    return headers, video


def _status(client: Any, headers: dict[str, str], video: dict[str, Any]) -> tuple[str, str | None]:
    data = client.get(f"/api/v2/videos/{video['id']}", headers=headers).json_body["data"]
    return data["processingStatus"], data["processingError"]


def test_a_file_gone_from_the_node_that_stored_it_fails_the_job_and_the_video(client, published):
    headers, video = published
    next(p for p in media_files() if p.parent.name == "videos").unlink()

    jobs.run_pending()

    assert db.fetch_value("SELECT status FROM jobs WHERE kind = 'process_video'") == "failed"
    assert _status(client, headers, video) == ("FAILED", "video file missing from storage")


def test_a_node_without_the_file_retries_the_job_and_leaves_the_video_processing(client, published):
    headers, video = published
    # As a job queued before jobs were pinned: open to any node, while the file is on another node's disk.
    db.execute("UPDATE videos SET media_node = 'node-elsewhere'")
    db.execute("UPDATE jobs SET node = NULL")
    next(p for p in media_files() if p.parent.name == "videos").unlink()

    jobs.run_pending()

    row = db.fetch_one("SELECT status, attempts, last_error FROM jobs WHERE kind = 'process_video'")
    assert row is not None and (row["status"], row["attempts"]) == ("pending", 1)
    assert "node-elsewhere" in row["last_error"]
    assert _status(client, headers, video) == ("PROCESSING", None)
