"""Scratch space under VIZTUBE_HOME/scratch: where a process holds a remote store's media while it works on them (a
download to probe or transcode, HLS output before its upload). Never served; each piece is removed when its work
ends.

Every process works inside a folder of its own (`<pid>-<random>`), flocked for as long as the process lives. A sweep
(`shared.web.forms.sweep_staging`, the same rule as for staged uploads: an entry is live while flocked), run at start
and periodically by infra.housekeeping, so removes exactly what crashed or killed processes left behind, and never a
live process's work, whichever process of the node (server, worker) sweeps.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shared import errors

_lock = threading.Lock()
_folders: dict[Path, tuple[int, Path, int]] = {}  # scratch base → (pid, this process's folder, its locked fd)


def _no_space(exc: OSError) -> errors.AppError:
    if errors.out_of_space(exc):
        return errors.InsufficientStorage("Not enough scratch space on the server to work on media")
    return errors.StorageFailed("Could not make scratch space for media")


def _locked_folder(base: Path) -> tuple[Path, int]:
    """A fresh folder under `base`, flocked. A sweep may lock and remove it between its creation and our flock (it
    is unlocked for that instant): then the folder we locked is no longer the one at that path, and we make
    another."""
    base.mkdir(parents=True, exist_ok=True)
    while True:
        folder = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=base))
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        fcntl.flock(fd, fcntl.LOCK_EX)  # blocks only while a sweep that got it first removes it
        try:
            if os.stat(folder).st_ino == os.fstat(fd).st_ino:
                return folder, fd
        except FileNotFoundError:
            pass
        os.close(fd)


def process_folder(base: Path) -> Path:
    """This process's own folder under `base`, made and locked on first use (a forked child makes its own)."""
    base = base.resolve()
    pid = os.getpid()
    with _lock:
        held = _folders.get(base)
        if held is not None and held[0] == pid and held[1].is_dir():
            return held[1]
        if held is not None and held[0] == pid:
            os.close(held[2])  # its folder was removed from under us (a test's clean-up): make another
        try:
            folder, fd = _locked_folder(base)
        except OSError as exc:
            raise _no_space(exc) from exc
        _folders[base] = (pid, folder, fd)
        return folder


def new_folder(base: Path, prefix: str) -> Path:
    """An empty folder in this process's scratch folder; the caller removes it when its work ends."""
    try:
        return Path(tempfile.mkdtemp(prefix=prefix, dir=process_folder(base)))
    except OSError as exc:
        raise _no_space(exc) from exc


@contextmanager
def scratch_folder(base: Path, prefix: str) -> Iterator[Path]:
    """An empty folder in this process's scratch folder for the life of the block, removed after whatever happens."""
    folder = new_folder(base, prefix)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
