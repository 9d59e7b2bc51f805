"""Start VizTube the production way: embedded PostgreSQL when DATABASE_URL is unset, migrations, then
gunicorn (gthread workers) serving infra.wsgi on HOST:PORT.

    python -m infra.serve            # what `make run` runs
"""

from __future__ import annotations

import logging
import os
import sys
import time

from gunicorn.app.base import BaseApplication

from shared.logs import configure_logging
from shared.settings import get_settings, reset_settings

log = logging.getLogger("viztube.serve")


class _Server(BaseApplication):
    def __init__(self, options: dict[str, object]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):  # type: ignore[no-untyped-def]
        from infra.wsgi import application

        return application


def gunicorn_options() -> dict[str, object]:
    settings = get_settings()
    # One process by default (the seed's box has one vCPU): the in-process cache and rate limits are then
    # exact. More workers need REDIS_URL for both to be shared (settings turn the memory cache off otherwise).
    workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
    threads = int(os.environ.get("WEB_THREADS", str(settings.db_pool_size)))
    return {
        "bind": f"{settings.host}:{settings.port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "timeout": 300,  # a 100 MB upload on a slow link
        "graceful_timeout": 20,
        "keepalive": 5,
        # No periodic worker recycling: with one worker, each restart stopped serving for the new worker's
        # start-up (the 200-400 ms p99 stalls make bench used to show every ~20k requests). Memory stays flat
        # (make bench reports RSS); systemd's MemoryMax in infra/systemd is the backstop.
        "max_requests": 0,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "viztube",
    }


def main() -> int:
    started = time.monotonic()
    settings = get_settings()
    configure_logging(settings.log_level)
    if not settings.database_url:
        from shared.embedded_pg import ensure_embedded

        # Started here, in the master: the workers inherit DATABASE_URL and the server stops with us.
        os.environ["DATABASE_URL"] = ensure_embedded(settings.pgdata_dir)
        reset_settings()
    from shared.migrate import migrate

    if not settings.rate_limits_enabled:
        log.warning("RATE_LIMITS=off: every rate limit is disabled (benchmarks and scripted local use only)")
    applied = migrate()
    from shared import db

    db.close_pool()  # no connection may cross the fork into the workers
    log.info("migrations applied: %s", ", ".join(applied) or "none")
    options = gunicorn_options()
    print(f"VizTube listening on http://{options['bind']} (stage {settings.stage}, storage {settings.storage}, "  # noqa: T201
          f"home {settings.home}; ready in {time.monotonic() - started:.1f}s)", flush=True)
    _Server(options).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
