"""The embedded PostgreSQL of `python -m infra.serve`: started with the server, kept alive, stopped with it.

pgserver (shared.embedded_pg) starts PostgreSQL as a daemon and supervises nothing (platform-notes §9): a
postmaster that dies stays dead, and its handle bookkeeping (pgdata/.handle_pids.json) keeps the pids of
processes that crashed, so a later clean stop thinks someone else still uses the server and leaves it
running. The serving parent process, which started the database, therefore owns it here:

* at start, handles of processes that no longer exist are forgotten; a postmaster a crashed run left on the
  data directory is adopted as it is (pgserver connects to a running server rather than starting another);
* every second the postmaster named in pgdata/postmaster.pid is checked, and started again with the bundled
  pg_ctl, on the same socket directory and port (the workers' DATABASE_URL names them; their pools reconnect
  by themselves) when it died;
* when the server stops (SIGTERM, SIGINT, or any exit that runs atexit), the postmaster is stopped with
  `pg_ctl stop -m fast`, whoever started it, unless another live process still holds a pgserver handle.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import pwd
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import psutil

from infra.housekeeping import Periodic

log = logging.getLogger("viztube.pg_supervisor")

CHECK_SECONDS = 1.0
# postmaster.pid is removed by a clean stop: someone stopped the database on purpose, perhaps to restart it
# (`pg_ctl restart` leaves it absent for a fraction of a second). Only a longer absence gets a restart.
MISSING_GRACE_SECONDS = 5.0
PG_CTL_TIMEOUT = 30
RESTART_WAIT_SECONDS = 5.0  # for the dead postmaster's processes to be gone before starting a new one


@dataclass(frozen=True)
class Postmaster:
    """What postmaster.pid says: its pid (line 1), port (line 4) and socket directory (line 5)."""

    pid: int
    port: int
    socket_dir: str


def read_postmaster(pgdata: Path) -> Postmaster | None:
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        return Postmaster(pid=int(lines[0]), port=int(lines[3]), socket_dir=lines[4].strip())
    except FileNotFoundError:
        return None
    except (IndexError, ValueError):  # being written by a starting postmaster
        return None


def _alive(pid: int, name: str | None = None) -> bool:
    """A running process (a zombie is dead), named `name` when given: a recycled pid is not our postmaster."""
    try:
        proc = psutil.Process(pid)
        return proc.status() != psutil.STATUS_ZOMBIE and (name is None or proc.name() == name)
    except psutil.Error:
        return False


def postmaster_alive(pgdata: Path) -> bool:
    info = read_postmaster(pgdata)
    return info is not None and _alive(info.pid, "postgres")


def _pg_ctl(pgdata: Path, *args: str) -> tuple[int, str]:
    """Run the bundled pg_ctl as the data directory's owner (PostgreSQL refuses root; pgserver made the owner)."""
    from pgserver._commands import POSTGRES_BIN_PATH

    user = pwd.getpwuid(pgdata.stat().st_uid).pw_name if os.geteuid() == 0 else None
    # Output to a file, not a pipe: the postmaster inherits pg_ctl's descriptors, and a pipe it holds open
    # would make us wait for EOF for as long as the database runs.
    with tempfile.TemporaryFile("w+") as out:
        try:
            done = subprocess.run([str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), *args], stdout=out,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, user=user,
                                  timeout=PG_CTL_TIMEOUT, check=False)
            code = done.returncode
        except subprocess.TimeoutExpired:
            code = -1
        out.seek(0)
        return code, out.read().strip()


def _leftover_processes(pgdata: Path) -> list[psutil.Process]:
    """PostgreSQL processes still running in `pgdata` (every one of them has it as its working directory)."""
    found = []
    for proc in psutil.process_iter(["name", "cwd"]):
        if proc.info["name"] == "postgres" and proc.info["cwd"] == str(pgdata):
            found.append(proc)
    return found


def _wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _handle_holders(pgdata: Path) -> list[int]:
    path = pgdata / ".handle_pids.json"
    try:
        return [int(pid) for pid in json.loads(path.read_text())]
    except (FileNotFoundError, ValueError, TypeError):
        return []


def _is_python(pid: int) -> bool:
    """A live Python process: only one can hold a pgserver handle; any other process with that pid reused it.
    (The executable, not the command line, which a process may retitle.)"""
    try:
        return _alive(pid) and "python" in Path(psutil.Process(pid).exe()).name.lower()
    except psutil.Error:
        return False


def _rewrite_handles(pgdata: Path, keep: list[int]) -> None:
    """pgserver's handle list, under pgserver's own inter-process lock (the one its start and stop take)."""
    from pgserver import PostgresServer

    with PostgresServer._lock:  # a second InterProcessLock object on that file would not exclude this process
        current = _handle_holders(pgdata)
        kept = [pid for pid in current if pid in keep]
        if kept != current:
            (pgdata / ".handle_pids.json").write_text(json.dumps(kept))


class EmbeddedPostgres:
    """The serving parent's embedded database: `start()` returns its URL; `close()` (also run at exit) stops it."""

    def __init__(self, pgdata: Path, *, check_seconds: float = CHECK_SECONDS) -> None:
        self.pgdata = pgdata.expanduser().resolve()
        self.check_seconds = check_seconds
        self._postmaster: Postmaster | None = None
        self._missing_since: float | None = None
        self._watch: Periodic | None = None
        self._closed = False

    def start(self) -> str:
        if self.pgdata.is_dir():
            dead = [pid for pid in _handle_holders(self.pgdata) if not _is_python(pid)]
            if dead:
                log.warning("forgetting embedded PostgreSQL handles of exited processes %s", dead)
                _rewrite_handles(self.pgdata, [p for p in _handle_holders(self.pgdata) if p not in dead])
            if postmaster_alive(self.pgdata):  # left by a crashed run (or another process uses it): joined as is
                log.warning("a PostgreSQL is already running on %s; using it", self.pgdata)
        from shared.embedded_pg import ensure_embedded

        url = ensure_embedded(self.pgdata)
        self._postmaster = read_postmaster(self.pgdata)
        # Registered after pgserver's own exit handler, so it runs first (atexit is last-in, first-out).
        atexit.register(self.close)
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            # Until Granian installs its handlers (after migrations), a SIGTERM would end the process without
            # running atexit: exit through Python instead, so the database is stopped then too.
            signal.signal(signal.SIGTERM, _exit_on_signal)
        self._watch = Periodic("pg-supervisor", self.check_seconds, self.check).start()
        return url

    def check(self) -> bool:
        """One look at the postmaster; start it again if it died. True when it was restarted."""
        if self._closed:
            return False
        info = read_postmaster(self.pgdata)
        if info is not None:
            self._postmaster = info
            self._missing_since = None
            if _alive(info.pid, "postgres"):
                return False
            log.error("embedded PostgreSQL (pid %d) died; starting it again", info.pid)
        else:
            now = time.monotonic()
            self._missing_since = self._missing_since or now
            if now - self._missing_since < MISSING_GRACE_SECONDS:
                return False
            log.error("embedded PostgreSQL stopped %.0f s ago and was not started again; starting it",
                      now - self._missing_since)
        return self._restart()

    def _restart(self) -> bool:
        known = self._postmaster
        if known is None:  # never saw it running: nothing tells us its socket and port
            return False
        started = time.monotonic()
        # PostgreSQL refuses to start while the dead postmaster is still a process (a zombie not yet reaped
        # by init: its lock file looks held) or while its children are still attached to the shared memory;
        # both are gone within a second or so of the crash.
        _wait_until(lambda: not psutil.pid_exists(known.pid) and not _leftover_processes(self.pgdata),
                    RESTART_WAIT_SECONDS)
        code, output = _pg_ctl(self.pgdata, "-w", "-t", str(PG_CTL_TIMEOUT - 5), "-l", str(self.pgdata / "log"),
                               "-o", '-h ""', "-o", f'-k "{known.socket_dir}"', "-o", f"-p {known.port}", "start")
        if code != 0 or not postmaster_alive(self.pgdata):
            # e.g. the dead postmaster's processes outlived the wait ("lock file already exists", "shared
            # memory block still in use"): the next check tries again.
            log.warning("restarting embedded PostgreSQL failed (%s): %s", code, output[-500:])
            return False
        self._missing_since = None
        self._postmaster = read_postmaster(self.pgdata)
        log.warning("embedded PostgreSQL started again in %.1f s", time.monotonic() - started)
        return True

    def close(self) -> None:
        """Stop watching, then stop the postmaster, unless another live process holds a pgserver handle."""
        if self._closed:
            return
        self._closed = True
        if self._watch is not None:
            self._watch.stop()
        others = [pid for pid in _handle_holders(self.pgdata) if pid != os.getpid() and _is_python(pid)]
        # pgserver's exit handler, which runs after this one, then finds nothing of ours to stop.
        _rewrite_handles(self.pgdata, others)
        if others:
            log.info("embedded PostgreSQL left running: processes %s still use it", others)
            return
        stop_postmaster(self.pgdata)


def stop_postmaster(pgdata: Path, mode: str = "fast") -> None:
    """Stop the postmaster running on `pgdata`, if any (`fast`: sessions are ended, the data is checkpointed);
    `immediate` if that fails."""
    if not postmaster_alive(pgdata):
        return
    code, output = _pg_ctl(pgdata, "-w", "-t", "20", "-m", mode, "stop")
    if code != 0 and postmaster_alive(pgdata):
        log.warning("%s stop of embedded PostgreSQL failed (%s: %s); stopping it immediately", mode, code, output)
        _pg_ctl(pgdata, "-w", "-t", "10", "-m", "immediate", "stop")


def _exit_on_signal(signum: int, _frame: FrameType | None) -> None:
    sys.exit(128 + signum)
