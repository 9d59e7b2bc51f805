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
    """Apply every migration not yet recorded; return the names applied now."""
    applied_now: list[str] = []
    with db.transaction() as tx:
        # A transaction-level advisory lock: released at commit, held while we apply everything.
        tx.execute("SELECT pg_advisory_xact_lock(:key)", key=ADVISORY_LOCK_KEY)
        tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["name"]: r["checksum"] for r in tx.fetch_all("SELECT name, checksum FROM schema_migrations")}
        for path in migration_files(directory):
            sql = path.read_text()
            checksum = hashlib.sha256(sql.encode()).hexdigest()
            if path.name in done:
                if done[path.name] != checksum:
                    log.warning("migration %s changed after it was applied; not re-applying", path.name)
                continue
            tx.execute(sql)
            tx.execute("INSERT INTO schema_migrations (name, checksum) VALUES (:n, :c)", n=path.name, c=checksum)
            applied_now.append(path.name)
    return applied_now


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    applied = migrate()
    print(f"migrations applied: {', '.join(applied) if applied else 'none (up to date)'}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
