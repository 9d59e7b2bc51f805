"""The ceiling for a request that touches no database: a bare WSGI app on the server's own Granian settings.

`make bench` measures our JSON 404 (and healthcheck) against this app, served with the options `make run`
uses (infra.serve.server_options: same interface, workers and blocking threads, from the same environment)
and driven by the same wrk parameters. It answers the healthcheck path with a small JSON 200 and every
other path with the JSON 404 our server sends, so both runs move the same bytes.

    PORT=8001 WEB_THREADS=8 .venv/bin/python -m infra.bench.bare_wsgi
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any

HEALTHCHECK_PATH = "/api/v2/healthcheck"
_OK = b'{"statusCode":200,"data":"Health check passed!","success":true,"message":"Success"}'
_NOT_FOUND = b'{"statusCode":404,"data":null,"success":false,"errors":[],"message":"Route not found"}'


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    found = environ.get("PATH_INFO") == HEALTHCHECK_PATH
    body = _OK if found else _NOT_FOUND
    start_response("200 OK" if found else "404 Not Found",
                   [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]


def main() -> int:
    from granian import Granian

    from infra.serve import server_options

    Granian("infra.bench.bare_wsgi:application", **server_options()).serve()  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
