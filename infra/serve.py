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
import signal
import socket
import sys
import time
import warnings

from granian import Granian
from granian.constants import Interfaces
from granian.log import LogLevels

from shared.logs import configure_logging
from shared.settings import get_settings, reset_settings

log = logging.getLogger("viztube.serve")


def server_options() -> dict[str, object]:
    settings = get_settings()
    # One process by default (the seed's box has one vCPU): the in-process cache and rate limits are then
    # exact. More workers need REDIS_URL for both to be shared (settings turn the memory cache off otherwise,
    # and prod refuses to start without it).
    workers = settings.web_concurrency
    threads = settings.web_threads
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


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on HOST:PORT. Granian binds with SO_REUSEPORT, so a second server on a
    taken port would start and share it, each with its own embedded database (platform-notes §9); a plain bind
    (no SO_REUSEPORT) finds any listener first."""
    try:
        with socket.create_server((host, port)):  # SO_REUSEADDR only: a port in TIME_WAIT is free
            return False
    except OSError:
        return True


def main() -> int:
    started = time.monotonic()
    settings = get_settings()
    configure_logging(settings.log_level)
    # pgserver's import says so when XDG_RUNTIME_DIR is unset (a container, a service): harmless, and noise at start.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
    if port_in_use(settings.host, settings.port):
        print(f"VizTube cannot start: {settings.host}:{settings.port} is already in use (another server?); "  # noqa: T201
              "stop it or set PORT", file=sys.stderr, flush=True)
        return 1
    if not settings.database_url:
        print(f"VizTube starting: the embedded PostgreSQL in {settings.pgdata_dir}, then migrations", flush=True)  # noqa: T201
        from infra.pg_supervisor import EmbeddedPostgres

        # Started here, in the parent: the workers inherit DATABASE_URL. The parent restarts the database if
        # it dies, and stops it when the server stops, even after crashes (infra/pg_supervisor.py).
        os.environ["DATABASE_URL"] = EmbeddedPostgres(settings.pgdata_dir).start()
        reset_settings()
    from shared.migrate import migrate

    if not settings.rate_limits_enabled:
        log.warning("RATE_LIMITS=off: every rate limit is disabled (benchmarks and scripted local use only)")
    from shared.scale_out import log_start

    log_start(settings, log)  # which cache and rate-limit backends, and whether it assumes it is alone
    from shared.web.cors import cookie_warnings

    for warning in cookie_warnings(settings):  # dev: CORS origins the auth cookies cannot reach
        log.warning(warning)
    applied = migrate()
    from shared import db

    db.close_pool()  # no connection may cross into the workers
    log.info("migrations applied: %s", ", ".join(applied) or "none")
    from infra.housekeeping import start_scratch_sweeper, start_staging_sweeper

    start_staging_sweeper(settings.staging_dir, settings.staging_sweep_seconds)  # before any worker can upload
    start_scratch_sweeper(settings.scratch_dir, settings.staging_sweep_seconds)
    options = server_options()
    base = f"http://{options['address']}:{options['port']}"
    server = Granian("infra.wsgi:application", **options)  # type: ignore[arg-type]

    @server.on_startup
    def ready() -> None:  # the socket is bound: requests from now on are queued for the workers, not refused
        print(f"VizTube listening on {base} (stage {settings.stage}, storage {settings.storage}, home "  # noqa: T201
              f"{settings.home}; ready in {time.monotonic() - started:.1f}s)\n  API docs: {base}/api/v2/docs\n"
              "  Stop with Ctrl-C", flush=True)

    # A forked worker keeps Granian's parent SIGTERM handler until it has loaded the app (~1.5 s) and installed
    # its own: a stop in that window was lost, and waited workers_kill_timeout (20 s, measured). Until then a
    # SIGTERM ends the worker at once; it is serving nothing yet.
    os.register_at_fork(after_in_child=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL))
    server.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
