"""Operator commands: `python -m infra.manage <command>`.

    move-media --to s3 [--dry-run] [--delete-local]
        Copy every stored object of this node's local store (videos, thumbnails, avatars, covers, HLS output and
        posters) into the S3 store the environment configures (S3_BUCKET, S3_ENDPOINT_URL, ...), verify each copy
        by SHA-256 read back from the bucket, rewrite the rows to the copies, and print what was done. Safe to run
        again after an interruption; a second run after a complete one does nothing. The local files stay unless
        --delete-local (removed once no row refers to them). Exit code 0 when nothing failed, 1 otherwise, 2 when
        the configuration does not allow the move.

    set-role <username> admin|moderator|user
        Give a user a role (issue #15, point 6): moderators and admins decide abuse reports, admins also read the
        moderation log. The only way to grant one (never through the API); recorded in the moderation log. Exit code
        0 when done, 1 when there is no such user.

Like the server, it uses DATABASE_URL, or without it the embedded PostgreSQL of its VIZTUBE_HOME, and applies the
migrations first. Run it on each node whose disk holds media (each moves its own), one run at a time.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from shared.logs import configure_logging
from shared.settings import SettingsError, get_settings, log_level, reset_settings

log = logging.getLogger("viztube.manage")


def _say(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _database() -> None:
    if not get_settings().database_url:
        from shared.embedded_pg import ensure_embedded

        os.environ["DATABASE_URL"] = ensure_embedded(get_settings().pgdata_dir)
        reset_settings()


def _size(count: int) -> str:
    value = float(count)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{count} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} bytes"


def _kinds(counts: dict[str, int]) -> str:
    listed = ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items()))
    return f" ({listed})" if listed else ""


def move_media(args: argparse.Namespace) -> int:
    # The target is the store the environment configures, named here: get_storage() is then built for it, and this
    # node's local store (VIZTUBE_HOME/media) is the source.
    os.environ["STORAGE"] = args.to
    reset_settings()
    try:
        get_settings()
    except SettingsError as exc:
        _say(f"move-media: {exc}")
        return 2
    _database()
    from shared.migrate import migrate
    from shared.services.media_move import MoveRefused
    from shared.services.media_move import move_media as move
    from shared.storage import reset_storage

    migrate()
    reset_storage()
    what = "would move (dry run, nothing written)" if args.dry_run else "moving"
    _say(f"move-media: {what} this node's media from the local store to {args.to}")
    try:
        report = move(dry_run=args.dry_run, delete_local=args.delete_local, say=lambda line: _say(f"  {line}"))
    except MoveRefused as exc:
        _say(f"move-media: {exc}")
        return 2
    verb = "to copy" if report.dry_run else "copied and verified"
    _say(f"  {verb}: {sum(report.copied.values())} objects, {_size(report.bytes_copied)}{_kinds(report.copied)}")
    _say(f"  already copied by an earlier run: {sum(report.reused.values())}{_kinds(report.reused)}")
    if report.interrupted:
        _say(f"  interrupted copies found and made again: {report.interrupted} (each may have left one unreferenced "
             "object in the target)")
    rows = "rows to rewrite" if report.dry_run else "rows rewritten"
    _say(f"  {rows}: {report.videos_rewritten} videos, {report.users_rewritten} users")
    _say(f"  skipped: {sum(report.skipped.values())}"
         + "".join(f"\n    {n} {reason}" for reason, n in sorted(report.skipped.items())))
    _say(f"  failed: {len(report.failures)}" + "".join(f"\n    {line}" for line in report.failures))
    if args.delete_local and not report.dry_run:
        _say(f"  local files removed: {report.removed}")
    else:
        _say("  local files kept (--delete-local removes them once no row refers to them)")
    if report.unregistered_uploads:
        _say(f"  note: {report.unregistered_uploads} direct or resumable uploads to the local store are not registered"
             " yet; they expire there (UPLOAD_TTL, RESUMABLE_TTL)")
    if report.pending_cleanups:
        _say(f"  note: {report.pending_cleanups} deletions of local files are still queued; a process with "
             "STORAGE=local runs them (let them finish before switching every node)")
    return 0 if report.ok else 1


def set_role(args: argparse.Namespace) -> int:
    _database()
    from shared import errors
    from shared.migrate import migrate
    from shared.schemas.users import normalize_username
    from shared.services.moderation import set_role as grant

    migrate()
    try:
        row = grant(normalize_username(args.username), args.role)
    except errors.NotFound as exc:
        _say(f"set-role: {exc.message}")
        return 1
    _say(f"set-role: {row['username']} is now {args.role} (was {row['old_role']})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.manage", description="VizTube operator commands")
    commands = parser.add_subparsers(dest="command", required=True)
    move = commands.add_parser("move-media", help="copy this node's local media into an object store, verified, "
                                                  "and point the database at the copies")
    move.add_argument("--to", required=True, choices=["s3"], help="the store to move to (configured by the environment:"
                                                                   " S3_BUCKET, S3_ENDPOINT_URL, ...)")
    move.add_argument("--dry-run", action="store_true", help="count what would be copied and rewritten; write nothing")
    move.add_argument("--delete-local", action="store_true",
                      help="remove each local file once every row referring to it points at its verified copy")
    move.set_defaults(run=move_media)
    role = commands.add_parser("set-role", help="make a user an admin, a moderator, or a plain user again")
    role.add_argument("username", help="the user's username (case-insensitive)")
    role.add_argument("role", choices=["admin", "moderator", "user"])
    role.set_defaults(run=set_role)
    args = parser.parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    configure_logging(log_level())  # JSON lines on stderr, as the server and workers log
    sys.exit(main())
