"""Applies the plain-SQL migrations in infra/migrations, once each, safely from several processes at once.

Run it with `python -m shared.migrate` (the Makefile and the server launcher do).
"""

from __future__ import annotations

import hashlib
import logging
import sys
from pathlib import Path

from shared import db
from shared.settings import PROJECT_DIR

log = logging.getLogger(__name__)

MIGRATIONS_DIR = PROJECT_DIR / "infra" / "migrations"
# Any constant works; every migrator takes the same one, so two processes never apply a file twice.
ADVISORY_LOCK_KEY = 0x56697A54756265  # "VizTube"


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[Path]:
    return sorted(p for p in directory.glob("*.sql") if p.name[:4].isdigit())


def migrate(directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply every migration not yet recorded; return the names applied now.

    On a connection of its own, not the pool's: the pool's 30 s statement timeout and 30 s socket timeout are right
    for requests and wrong for a migration, which on a large database (a backfill, an index, a CHECK validated over a
    million videos) may run for minutes. The session is UTC like the pool's, so date arithmetic in a migration means
    what it means at run time. All files in one transaction: an upgrade is applied whole or not at all."""
    import pg8000.native  # here, not at import: the Lambda handlers never migrate

    params = db.parse_database_url(db.database_url())
    conn = pg8000.native.Connection(**{**params.connect_kwargs(), "timeout": None})
    applied_now: list[str] = []
    try:
        conn.run("BEGIN; SET LOCAL statement_timeout = 0; SET LOCAL TIME ZONE 'UTC'")
        # A transaction-level advisory lock: released at commit, held while we apply everything.
        conn.run("SELECT pg_advisory_xact_lock(:key)", key=ADVISORY_LOCK_KEY)
        conn.run(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = dict(conn.run("SELECT name, checksum FROM schema_migrations"))
        for path in migration_files(directory):
            sql = path.read_text()
            checksum = hashlib.sha256(sql.encode()).hexdigest()
            if path.name in done:
                if done[path.name] != checksum:
                    log.warning("migration %s changed after it was applied; not re-applying", path.name)
                continue
            log.info("applying migration %s", path.name)
            conn.run(sql)
            conn.run("INSERT INTO schema_migrations (name, checksum) VALUES (:n, :c)", n=path.name, c=checksum)
            applied_now.append(path.name)
        conn.run("COMMIT")
    finally:
        conn.close()  # before COMMIT (an error): the server rolls the transaction back
    return applied_now


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    applied = migrate()
    print(f"migrations applied: {', '.join(applied) if applied else 'none (up to date)'}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
