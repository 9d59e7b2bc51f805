"""Moving an existing install's media off this node's disk into the configured store (issue #13, point 4), the use
case behind `python -m infra.manage move-media --to s3`.

The source is the store of this node's disk (`get_disk_store`), the target the configured one (`get_storage`, say
STORAGE=s3): both spoken to through the Storage protocol alone. Every object a row refers to is copied (a video's
file, thumbnail and HLS output with its poster, a user's avatar and cover image), read back from the target through
an expiring signed URL and checked against the source's SHA-256, then the rows are rewritten to the copies: a video
in one statement (files, URLs, stream, `storage`), guarded on still holding what was moved.

Safe to run again after any interruption: `media_moves` (infra/migrations/0010) records each copy before it starts,
once it is stored and once it is verified, so a later run reuses verified copies, verifies stored ones before using
them, and copies the rest; rows already rewritten are no longer candidates. A second run after a complete one copies
and rewrites nothing. The only copy a run cannot account for is one whose upload finished in the instant before its
name was recorded (the target store names the object): such rows are counted as `interrupted` and copied again, so at
most one unreferenced object per interrupted copy may remain in the target.

The source files stay where they are unless `delete_local`: then each one goes once no row refers to it any more.
"""

from __future__ import annotations

import hashlib
import logging
import os
import posixpath
import shutil
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared import cached, db, errors, jobs
from shared.node import media_node, node_id
from shared.services import media_visibility
from shared.sql import media_moves as moves_sql
from shared.storage import FOLDERS, Storage, get_disk_store, get_storage

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
READ_BACK_TIMEOUT = 120  # seconds without a byte before a read-back gives up
PAGE = 100
OTHER_NODE = "on another node's disk (run the move on that node)"
NOT_HERE = "image not on this node's disk (run the move on the node holding it)"
CHANGED = "changed while its media were copied (run the move again)"


class MoveRefused(Exception):
    """The configuration leaves nothing to move to: the message says why."""


class _Failed(Exception):
    """One object could not be moved; its row is left as it was."""


@dataclass
class MoveReport:
    source: str
    target: str
    dry_run: bool = False
    copied: Counter[str] = field(default_factory=Counter)  # kind → objects copied (and verified) now
    reused: Counter[str] = field(default_factory=Counter)  # kind → objects an earlier run had copied
    bytes_copied: int = 0
    videos_rewritten: int = 0
    users_rewritten: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # reason → rows left as they are
    failures: list[str] = field(default_factory=list)
    removed: int = 0  # source objects removed (delete_local)
    interrupted: int = 0  # copies an earlier run left unrecorded
    unregistered_uploads: int = 0
    pending_cleanups: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures


def move_media(*, dry_run: bool = False, delete_local: bool = False,
               say: Callable[[str], None] | None = None) -> MoveReport:
    """Copy every stored object of this node's disk store into the configured store, verify each copy, rewrite
    the rows; `dry_run` only counts what would be done. `say` hears of each failure as it happens."""
    target, source = get_storage(), get_disk_store()
    if target is source or target.node_local:
        raise MoveRefused(f"STORAGE={target.name} keeps media on this node's disk: set STORAGE (and its settings) "
                          "to the store to move them to")
    mover = _Mover(source, target, MoveReport(source=source.name, target=target.name, dry_run=dry_run),
                   dry_run=dry_run, say=say or (lambda _line: None))
    return mover.run(delete_local=delete_local)


class _Mover:
    def __init__(self, source: Storage, target: Storage, report: MoveReport, *, dry_run: bool,
                 say: Callable[[str], None]) -> None:
        self.source, self.target, self.report = source, target, report
        self.dry_run, self.say = dry_run, say
        self.here = node_id()
        self._key = {"source_store": source.name, "target_store": target.name}

    def run(self, *, delete_local: bool) -> MoveReport:
        report = self.report
        report.interrupted = moves_sql.interrupted(**self._key)
        after: uuid.UUID | None = None
        while page := moves_sql.videos_on(store=self.source.name, after=after, limit=PAGE):
            for row in page:
                self._video(row)
            after = page[-1]["id"]
        after = None
        while page := moves_sql.users_with_images(after=after, limit=PAGE):
            for row in page:
                self._user(row)
            after = page[-1]["id"]
        if delete_local and not self.dry_run:
            self._remove_sources()
        report.unregistered_uploads = moves_sql.unregistered_uploads(store=self.source.name)
        report.pending_cleanups = moves_sql.pending_cleanups(store=self.source.name)
        return report

    def _fail(self, line: str) -> None:
        self.report.failures.append(line)
        self.say(f"failed: {line}")

    # ------------------------------------------------------------------ rows

    def _video(self, row: dict[str, Any]) -> None:
        video_id = row["id"]
        if row["media_node"] is not None and row["media_node"] != self.here:
            self.report.skipped[OTHER_NODE] += 1
            return
        private = not row["is_published"]  # where the target lets anyone read published media, these it hides
        reused = sum(self.report.reused.values())
        try:
            video = self._file(row["video_file_public_id"], "video", private=private)
            thumbnail = self._file(row["thumbnail_public_id"], "thumbnail", private=private)
            master = poster = None
            if row["hls_master_public_id"]:
                master, poster = self._stream(video_id, row["hls_master_public_id"], row["poster_public_id"],
                                              private=private)
        except _Failed as exc:
            self._fail(f"video {video_id}: {exc}")
            return
        # A copy an earlier run made was told who may read it then: the video may have been (un)published since.
        stale_visibility = sum(self.report.reused.values()) > reused
        if self.dry_run:
            self.report.videos_rewritten += 1
            return
        new = {"video_file_public_id": video["target_id"], "video_file_url": video["target_url"],
               "thumbnail_public_id": thumbnail["target_id"], "thumbnail_url": thumbnail["target_url"],
               "hls_master_public_id": master, "poster_public_id": poster}
        sync = None
        with db.transaction():
            rewritten = moves_sql.rewrite_video(video_id=video_id, store=self.source.name, old=row, new=new,
                                                target_store=self.target.name, media_node=media_node())
            if rewritten:
                moves_sql.unpin_jobs(video_id=video_id)
                cached.forget_video(video_id)
                if stale_visibility:
                    sync = media_visibility.schedule_sync(video_id)
        if sync is not None:
            jobs.run_now(sync)  # tried at once; recorded, so a store that does not answer is told later
        if rewritten:
            self.report.videos_rewritten += 1
        else:
            self.report.skipped[CHANGED] += 1

    def _user(self, row: dict[str, Any]) -> None:
        changed = False
        for column, kind in moves_sql.IMAGE_COLUMNS.items():
            public_id = row[f"{column}_public_id"]
            found = self.source.disk_file(public_id) if public_id else None
            if found is None:
                continue  # not a name this store gives: the image lives in another store
            if not found.path.is_file():
                # A URL this store gave, without its file here: on another node's disk (or lost); else elsewhere.
                if row[column] == self.source.url_for(public_id, resource_type="image", private=False):
                    self.report.skipped[NOT_HERE] += 1
                continue
            try:
                moved = self._file(public_id, kind, private=False)  # avatars and covers are always public
            except _Failed as exc:
                self._fail(f"user {row['username']} ({row['id']}): {exc}")
                continue
            if self.dry_run:
                changed = True
                continue
            with db.transaction():
                if moves_sql.rewrite_user_image(user_id=row["id"], column=column, old_public_id=public_id,
                                                public_id=moved["target_id"], url=moved["target_url"]):
                    changed = True
                    cached.forget_channel(row["id"], row["username"])
                    cached.forget_sign_ins(row["id"])
                else:
                    self.report.skipped[CHANGED] += 1
        if changed:
            self.report.users_rewritten += 1

    # ------------------------------------------------------------------ objects

    def _file(self, public_id: str, kind: str, *, private: bool) -> dict[str, Any]:
        """A media file's verified copy in the target: {target_id, target_url}. `private`: it belongs to an
        unpublished video."""
        found = self.source.disk_file(public_id)
        if found is None or not found.path.is_file():
            raise _Failed(f"{kind} {public_id} is missing from this node's disk")
        resource_type = FOLDERS[kind][1]
        move = self._usable(public_id, kind, check=lambda m: self._check_file(m["target_id"], resource_type, m),
                            discard=lambda m: self.target.delete(m["target_id"], resource_type=resource_type))
        if move is not None:
            return move
        size = found.path.stat().st_size
        if self.dry_run:
            self._count(kind, size)
            return {"target_id": None, "target_url": None}
        digest = _sha256(found.path)
        moves_sql.begin(**self._key, source_id=public_id, kind=kind)
        try:
            stored = self.target.save(found.path, kind=kind, mime=found.content_type, private=private)
        except errors.AppError as exc:
            moves_sql.forget(**self._key, source_id=public_id)
            raise _Failed(f"could not store {kind} {public_id}: {exc}") from exc
        record = {"target_id": stored.public_id, "target_url": stored.url, "sha256": digest, "bytes": size}
        self._record(public_id, record, undo=lambda: self.target.delete(stored.public_id,
                                                                        resource_type=resource_type))
        self._verify(public_id, lambda: self._check_file(stored.public_id, resource_type, record),
                     undo=lambda: self.target.delete(stored.public_id, resource_type=resource_type))
        self._count(kind, size)
        return record

    def _stream(self, video_id: uuid.UUID, master_id: str, poster_id: str | None, *,
                private: bool) -> tuple[str, str]:
        """A video's HLS output (every playlist, segment and the poster) republished in the target: its new master
        playlist and poster ids."""
        folder_id = self.source.stream_folder(video_id)
        master = self.source.disk_file(master_id)
        if folder_id is None or master is None or not master.path.is_file() or not poster_id:
            raise _Failed(f"HLS output {master_id} is missing from this node's disk")
        folder = master.path.parent
        files = {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}
        stream_folder = self.target.stream_folder(video_id)

        def undo(_move: object = None) -> None:
            if stream_folder:
                self.target.delete(stream_folder, resource_type="hls")

        sums: dict[str, tuple[str, int]] = {}
        move = self._usable(folder_id, "hls", check=lambda m: self._check_stream(m["target_id"], _sums(files, sums)),
                            discard=undo)
        if move is not None:
            return move["target_id"], move["target_poster_id"]
        size = sum(p.stat().st_size for p in files.values())
        if self.dry_run:
            self._count("hls", size)
            return "", ""
        _sums(files, sums)
        digest = hashlib.sha256("".join(f"{rel}\0{sha}\n" for rel, (sha, _) in sums.items()).encode()).hexdigest()
        moves_sql.begin(**self._key, source_id=folder_id, kind="hls")
        try:
            work = self.target.hls_workdir(video_id)
            for relative, path in files.items():
                (work / relative).parent.mkdir(parents=True, exist_ok=True)
                _link_or_copy(path, work / relative)
            # Replaces whatever an interrupted run published of this stream.
            published = self.target.publish_hls(video_id, work, private=private)
        except (errors.AppError, OSError) as exc:
            moves_sql.forget(**self._key, source_id=folder_id)
            raise _Failed(f"could not publish HLS output {folder_id}: {exc}") from exc
        record = {"target_id": published.master_public_id, "target_url": None,
                  "target_poster_id": published.poster_public_id, "sha256": digest, "bytes": size,
                  "files": len(files)}
        self._record(folder_id, record, undo=undo)
        self._verify(folder_id, lambda: self._check_stream(published.master_public_id, sums), undo=undo)
        self._count("hls", size)
        return published.master_public_id, published.poster_public_id

    def _usable(self, source_id: str, kind: str, *, check: Callable[[dict[str, Any]], str | None],
                discard: Callable[[dict[str, Any]], None]) -> dict[str, Any] | None:
        """An earlier run's copy of this object, if it can be used: verified, or stored and now verified (one that
        fails its check is removed from the target and made again)."""
        move = moves_sql.get(**self._key, source_id=source_id)
        if move is None or move["status"] == "copying":
            return None
        if move["status"] == "copied" and not self.dry_run:
            problem = check(move)
            if problem is not None:
                log.warning("an earlier copy of %s failed its check (%s): copying it again", source_id, problem)
                _quietly(lambda: discard(move))
                return None
            moves_sql.mark_verified(**self._key, source_id=source_id)
        elif move["status"] != "verified":
            return None
        self.report.reused[kind] += 1
        return move

    def _record(self, source_id: str, record: dict[str, Any], *, undo: Callable[[], None]) -> None:
        try:
            moves_sql.record_copy(**self._key, source_id=source_id, target_id=record["target_id"],
                                  target_url=record["target_url"], target_poster_id=record.get("target_poster_id"),
                                  sha256=record["sha256"], size=record["bytes"], files=record.get("files", 1))
        except BaseException:
            _quietly(undo)  # stored but not recorded: removed, so no unrecorded copy stays behind
            raise

    def _verify(self, source_id: str, check: Callable[[], str | None], *, undo: Callable[[], None]) -> None:
        problem = check()
        if problem is not None:
            _quietly(undo)
            moves_sql.forget(**self._key, source_id=source_id)
            raise _Failed(f"the copy of {source_id} failed its check: {problem}")
        moves_sql.mark_verified(**self._key, source_id=source_id)

    def _count(self, kind: str, size: int) -> None:
        self.report.copied[kind] += 1
        self.report.bytes_copied += size

    # ------------------------------------------------------------------ checks: the copy read back

    def _check_file(self, public_id: str, resource_type: str, expected: dict[str, Any]) -> str | None:
        """None when the target's object has the source's bytes (SHA-256 and size), else what is wrong."""
        return self._compare(public_id, resource_type, expected["sha256"], expected["bytes"])

    def _check_stream(self, master_id: str, sums: dict[str, tuple[str, int]]) -> str | None:
        """Every file of the stream, where a player finds it: beside the master playlist, at its path relative to it."""
        base = posixpath.dirname(master_id)
        for relative, (sha256, size) in sums.items():
            problem = self._compare(f"{base}/{relative}", "hls", sha256, size)
            if problem is not None:
                return f"{relative}: {problem}"
        return None

    def _compare(self, public_id: str, resource_type: str, sha256: str, size: int) -> str | None:
        url = self.target.url_for(public_id, resource_type=resource_type, private=True)
        digest, read = hashlib.sha256(), 0
        try:
            with urllib.request.urlopen(url, timeout=READ_BACK_TIMEOUT) as answer:
                while chunk := answer.read(CHUNK):
                    digest.update(chunk)
                    read += len(chunk)
        except (urllib.error.URLError, OSError) as exc:
            return f"could not read it back ({exc})"
        if read != size:
            return f"{read} bytes read back, {size} expected"
        if digest.hexdigest() != sha256:
            return "SHA-256 differs"
        return None

    # ------------------------------------------------------------------ the source files, once moved

    def _remove_sources(self) -> None:
        after = ""
        while page := moves_sql.removable(source_store=self.source.name, target_store=self.target.name, after=after):
            for move in page:
                resource_type = "hls" if move["kind"] == "hls" else FOLDERS[move["kind"]][1]
                try:
                    self.source.delete(move["source_id"], resource_type=resource_type)
                except errors.AppError as exc:
                    self._fail(f"could not remove {move['source_id']} from this node's disk: {exc}")
                    continue
                moves_sql.mark_removed(**self._key, source_id=move["source_id"])
                self.report.removed += 1
            after = page[-1]["source_id"]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _sums(files: dict[str, Path], into: dict[str, tuple[str, int]]) -> dict[str, tuple[str, int]]:
    """Each file's SHA-256 and size, by relative path, worked out once (`into` keeps them)."""
    if not into:
        into.update({rel: (_sha256(path), path.stat().st_size) for rel, path in files.items()})
    return into


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)  # the scratch dir is usually on the same disk: no copy at all
    except OSError:
        shutil.copyfile(source, target)


def _quietly(action: Callable[[], None]) -> None:
    try:
        action()
    except Exception:
        log.warning("could not remove a copy that was not kept", exc_info=True)
