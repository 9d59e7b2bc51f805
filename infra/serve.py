"""Start VizTube the production way: embedded PostgreSQL when DATABASE_URL is unset, migrations, then
Granian (a Rust HTTP server; the app runs on its WSGI interface, in a pool of Python threads) serving
infra.wsgi on HOST:PORT.

    python -m infra.serve            # what `make run` runs

Why Granian and not gunicorn: HTTP parsing, keep-alive and socket I/O happen in Rust, off the GIL. With
gunicorn's threaded worker they cost ~400 µs of Python per request, as much as the handlers themselves;
`make bench` measured 1.6-2.2x the requests per second on every endpoint after the switch (infra/README.md).
"""

from __future__ import annotations

import logging
import os
import sys
import time

from granian import Granian
from granian.constants import Interfaces
from granian.log import LogLevels

from shared.logs import configure_logging
from shared.settings import get_settings, reset_settings

log = logging.getLogger("viztube.serve")


def server_options() -> dict[str, object]:
    settings = get_settings()
    # One process by default (the seed's box has one vCPU): the in-process cache and rate limits are then
    # exact. More workers need REDIS_URL for both to be shared (settings turn the memory cache off otherwise).
    workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
    threads = int(os.environ.get("WEB_THREADS", str(settings.db_pool_size)))
    return {
        "address": settings.host,
        "port": settings.port,
        "interface": Interfaces.WSGI,
        "workers": workers,
        "blocking_threads": threads,  # Python threads running requests (each may hold one DB connection)
        "websockets": False,
        "respawn_failed_workers": True,
        "workers_kill_timeout": 20,  # graceful stop: in-flight requests get this long
        "log_level": LogLevels.warning,
        # Granian's own lines go through our JSON handler on the root logger, like every other line.
        "log_dictconfig": {"version": 1, "disable_existing_loggers": False,
                           "loggers": {name: {"handlers": [], "propagate": True}
                                       for name in ("_granian", "granian.access")}},
        "log_access": False,
    }


def main() -> int:
    started = time.monotonic()
    settings = get_settings()
    configure_logging(settings.log_level)
    if not settings.database_url:
        from shared.embedded_pg import ensure_embedded

        # Started here, in the parent: the workers inherit DATABASE_URL and the server stops with us.
        os.environ["DATABASE_URL"] = ensure_embedded(settings.pgdata_dir)
        reset_settings()
    from shared.migrate import migrate

    if not settings.rate_limits_enabled:
        log.warning("RATE_LIMITS=off: every rate limit is disabled (benchmarks and scripted local use only)")
    applied = migrate()
    from shared import db

    db.close_pool()  # no connection may cross into the workers
    log.info("migrations applied: %s", ", ".join(applied) or "none")
    options = server_options()
    print(f"VizTube listening on http://{options['address']}:{options['port']} (stage {settings.stage}, "  # noqa: T201
          f"storage {settings.storage}, home {settings.home}; ready in {time.monotonic() - started:.1f}s)", flush=True)
    Granian("infra.wsgi:application", **options).serve()  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
