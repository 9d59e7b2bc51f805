"""The embedded PostgreSQL (PyPI's pgserver) used when DATABASE_URL is not set: started on demand, data kept."""

from __future__ import annotations

import logging
import threading
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

log = logging.getLogger(__name__)

DATABASE_NAME = "viztube"
_servers: dict[Path, Any] = {}  # pgserver.PostgresServer (imported lazily: not in the Lambda zip)
_lock = threading.Lock()


def ensure_embedded(pgdata: Path, database: str = DATABASE_NAME) -> str:
    """Start (or join) the server owning `pgdata`, create `database` if needed, return its URL.

    pgserver reference-counts handles per data directory across processes and stops the server when
    the last process holding one exits, so the web server's workers share the server their parent started.
    """
    with _lock:
        server = _servers.get(pgdata)
        if server is None:
            pgdata.mkdir(parents=True, exist_ok=True)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "XDG_RUNTIME_DIR is not set" (at import) is harmless
                import pgserver  # heavy import, only on the embedded path

                server = pgserver.get_server(str(pgdata), cleanup_mode="stop")
            _servers[pgdata] = server
            log.info("embedded PostgreSQL running in %s", pgdata)
        info = server.get_postmaster_info()
        socket_dir = str(info.socket_dir)
        port = info.port
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
        if "(1 row)" not in exists:
            server.psql(f'CREATE DATABASE "{database}";')
    return f"postgresql://postgres@/{database}?host={quote(socket_dir)}&port={port}"


def release_embedded(pgdata: Path) -> None:
    """Give up this process's handle on the server owning `pgdata`: the server stops if no other process holds one.
    pgserver does this at interpreter exit; `chalice local` and the tests need it at a time of their choosing."""
    with _lock:
        server = _servers.pop(pgdata, None)
    if server is not None:
        server.cleanup()
