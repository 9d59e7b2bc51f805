"""Which node this process belongs to and which worker it is: the identities jobs are pinned to and claimed under.

A node is one local media store, a VIZTUBE_HOME. Its id is random, made once and kept in VIZTUBE_HOME/node-id.
Every process using that home (a server's workers, the same server after a restart) is the same node. A second
host with its own home is another node. A worker is one process of a node: (node, host, pid, and a token drawn
when the process started). Each job records the worker that claimed it, so a restarted node can tell its dead
processes' jobs from live ones without waiting for their lease to run out.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from shared.settings import get_settings
from shared.storage import get_storage

log = logging.getLogger(__name__)

NODE_FILE = "node-id"
_token: tuple[int, str] | None = None  # (pid, token): a forked child draws its own


@dataclass(frozen=True)
class Worker:
    """One process that runs jobs. `node` is None where there is no writable home (Lambda)."""

    node: str | None
    host: str
    pid: int
    token: str


def _read_or_create(path: Path) -> str:
    try:
        existing = path.read_text().strip()
        if existing:
            return existing
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = uuid.uuid4().hex
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{candidate}.tmp")
    tmp.write_text(candidate + "\n")
    try:
        # A hard link is an atomic "create if absent" of a file already whole: when two processes of one home
        # start at once, one id wins and both read it back.
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()


@lru_cache(maxsize=8)
def _node_of(home: Path) -> str | None:
    try:
        return _read_or_create(home / NODE_FILE)
    except OSError as exc:  # a read-only home (Lambda): no local media there, so nothing to pin to it
        log.warning("no node id: cannot keep %s (%s)", home / NODE_FILE, exc)
        return None


def node_id() -> str | None:
    """This process's node: the id of its VIZTUBE_HOME."""
    return _node_of(get_settings().home)


def media_node() -> str | None:
    """The node a file stored now by this process lives on: this node where the store keeps files on nodes
    (local disk); None (anywhere) else."""
    return node_id() if get_storage().node_local else None


@lru_cache(maxsize=1)
def host_id() -> str:
    """Where a pid means something: the hostname, the boot (a pid recorded before a reboot means nothing after
    it) and the pid namespace (two containers sharing a home and a hostname still number processes apart)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot = "unknown-boot"
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = "pid:?"
    return f"{socket.gethostname()}/{boot}/{namespace}"


def current_worker() -> Worker:
    global _token
    pid = os.getpid()
    if _token is None or _token[0] != pid:
        _token = (pid, uuid.uuid4().hex)
    return Worker(node=node_id(), host=host_id(), pid=pid, token=_token[1])


def is_alive(*, host: str | None, pid: int | None, token: str | None) -> bool:
    """Whether the worker recorded on a job may still be running it. Only a process of this machine can be
    proved dead; anything else is taken as alive, and its lease decides."""
    if host != host_id() or pid is None:
        return True
    me = current_worker()
    if pid == me.pid:
        return token == me.token  # our pid under another token: a process before us (a restart reused the pid)
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    try:
        # A killed process its parent has not reaped yet still has a pid, but runs nothing.
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")
