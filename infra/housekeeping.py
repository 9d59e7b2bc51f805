"""Background chores of the serving parent process (`python -m infra.serve`), which runs no requests itself:
a small periodic-thread helper, and the sweeps of what dead processes left in VIZTUBE_HOME/staging (uploads) and
VIZTUBE_HOME/scratch (a remote store's media being worked on); infra.worker runs the scratch sweep too.

They run in the parent rather than in the workers because there is one parent whatever WEB_CONCURRENCY is,
and it outlives the workers Granian respawns after a crash (whose half-written uploads are what the sweep
removes).
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("viztube.housekeeping")

# A staged upload is locked by its process while alive (shared.web.forms), so the periodic sweep could remove
# any unlocked entry at once; it also waits this long after the last write, so that a file in staging not
# made by the locking code (an older release's, a hand-copied one) is never taken from under a writer.
STAGING_GRACE_SECONDS = 600.0


class Periodic:
    """Call `task` every `interval` seconds on a daemon thread until stopped; a failing call is logged, and
    the next one still runs (a chore that raised once must not stop for the life of the server)."""

    def __init__(self, name: str, interval: float, task: Callable[[], object]) -> None:
        self.name = name
        self.interval = interval
        self.task = task
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Periodic:
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stopped.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            try:
                self.task()
            except Exception:
                log.exception("%s failed", self.name)


def start_staging_sweeper(staging_dir: Path, interval: float) -> Periodic:
    """Sweep staging now (no worker runs yet: every unlocked entry is a dead upload's), then every `interval`."""
    return _start_sweeper("staging-sweeper", "upload(s)", staging_dir, interval)


def start_scratch_sweeper(scratch_dir: Path, interval: float) -> Periodic:
    """Sweep VIZTUBE_HOME/scratch now, then every `interval`: the folders of processes that died while working on a
    remote store's media (a download to transcode, HLS output before its upload). Every live process holds its own
    folder flocked (shared.storage.scratch), so this is safe beside the node's other processes, workers included."""
    return _start_sweeper("scratch-sweeper", "scratch folder(s)", scratch_dir, interval)


def _start_sweeper(name: str, what: str, directory: Path, interval: float) -> Periodic:
    # One rule for both: an entry is live while its process holds it flocked (shared.web.forms.sweep_staging).
    from shared.web.forms import sweep_staging

    removed = sweep_staging(directory)
    if removed:
        log.warning("removed %d %s abandoned in %s by an earlier run", len(removed), what, directory)

    def sweep() -> None:
        removed = sweep_staging(directory, min_idle_seconds=STAGING_GRACE_SECONDS)
        if removed:
            log.warning("removed %d abandoned %s from %s", len(removed), what, directory)

    sweeper = Periodic(name, interval, sweep).start()
    atexit.register(sweeper.stop)
    return sweeper
