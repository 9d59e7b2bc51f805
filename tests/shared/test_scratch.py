"""Scratch space (issue #13, point 3): each process works on a remote store's media in a folder it holds flocked, so
the sweep that servers and workers run at start and periodically removes what killed processes left, and nothing a
live process is working on."""

import signal
import subprocess
import sys
import textwrap

from infra.housekeeping import start_scratch_sweeper
from shared.storage import scratch
from tests.conftest import PROJECT_DIR

WORKER = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from shared.storage.scratch import new_folder
    work = new_folder(Path(sys.argv[1]), "hls-")
    (work / "seg_000.ts").write_bytes(b"G" * 1000)
    print(work, flush=True)
    if sys.argv[2] == "die":
        os.kill(os.getpid(), 9)  # killed mid-transcode: nothing of ours runs after this
    sys.stdin.read()  # alive, working, until told to stop
""")


def _worker(base, fate):
    process = subprocess.Popen([sys.executable, "-c", WORKER, str(base), fate], cwd=PROJECT_DIR, text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    folder = process.stdout.readline().strip()
    return process, folder


def test_the_sweep_removes_what_a_killed_process_left_and_never_a_live_ones_work(tmp_path):
    base = tmp_path / "scratch"
    killed, dead_work = _worker(base, "die")
    assert killed.wait(timeout=30) == -signal.SIGKILL
    alive, live_work = _worker(base, "live")
    mine = scratch.new_folder(base, "s3-")
    (mine / "object").write_bytes(b"x")

    sweeper = start_scratch_sweeper(base, interval=3600)
    try:
        alive.stdin.close()
        assert alive.wait(timeout=30) == 0
    finally:
        sweeper.stop()

    remaining = {str(p) for p in base.rglob("*")}
    assert dead_work not in remaining and not any(p.startswith(dead_work.rsplit("/", 1)[0]) for p in remaining)
    assert live_work in remaining and f"{live_work}/seg_000.ts" in remaining  # swept while it was working
    assert (mine / "object").read_bytes() == b"x"


def test_a_scratch_folder_is_removed_when_its_work_ends_whatever_happens(tmp_path):
    base = tmp_path / "scratch"
    try:
        with scratch.scratch_folder(base, "s3-") as folder:
            (folder / "object").write_bytes(b"x")
            raise RuntimeError("the work failed")
    except RuntimeError:
        pass

    assert not folder.exists() and folder.parent == scratch.process_folder(base)
    assert list(scratch.process_folder(base).iterdir()) == []
