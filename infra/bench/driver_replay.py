"""The ceiling for a request on our driver: the captured statements, run by one Python process through
`shared.db` (pg8000, the pool, the prepared-statement cache, rows into dicts) and nothing else.

pgbench's figure (pg_replay) is PostgreSQL's limit, driven by a C client. Our server is one Python process: its
requests share one core's worth of Python (the GIL) with everything pg8000 does in pure Python (encode the
Bind, parse every DataRow column by column). This replays the very statements one request sent, with the
server's thread count, and tells how many requests per second such a process completes when it does nothing but
talk to PostgreSQL: no HTTP, no routing, no handler, no JSON. Our req/s against it is the share of the time the
process spends on its own work; no handler, however lean, serves more than this on this driver.

    python -m infra.bench.driver_replay SCRIPTS.json --threads 8 --duration 5   # prints {"rps": …, "cpu_us": …}

SCRIPTS.json: a list of requests, each a list of [sql, {n: text or null}] with $n placeholders, as pg_replay
captured them. Several requests (a write on different rows) are shared out among the threads.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

from infra.bench.pg_replay import Capture, _scan_placeholders


def to_json(captures: list[Capture]) -> str:
    return json.dumps([[[s.sql, {str(n): v for n, v in s.params.items()}] for s in c.statements] for c in captures])


def _prepare(request: list[list[Any]]) -> list[tuple[str, dict[str, Any]]]:
    """$n placeholders as :pn named parameters (shared.db's style), the captured text as their values (the
    statements are prepared without parameter types, as shared.db prepares them, so PostgreSQL infers them)."""
    out = []
    for sql, params in request:
        converted = _scan_placeholders(sql, lambda n: f":p{n}")
        out.append((converted, {f"p{n}": value for n, value in params.items()}))
    return out


def run(requests: list[list[tuple[str, dict[str, Any]]]], *, threads: int, duration: float) -> dict[str, float]:
    from shared import db

    done = [0] * threads
    stop = threading.Event()

    def one(statements: list[tuple[str, dict[str, Any]]]) -> None:
        conn = db._checkout()
        try:
            tx = db.Tx(conn)
            for sql, params in statements:
                if params:
                    tx.fetch_all(sql, **params)
                else:
                    tx.execute(sql)
        finally:
            db._release(conn)

    def worker(index: int) -> None:
        statements = requests[index % len(requests)]
        while not stop.is_set():
            one(statements)
            done[index] += 1

    for statements in requests:  # each request once on its own: a script that cannot run says so now
        one(statements)
    workers = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    cpu, started = time.process_time(), time.monotonic()
    for thread in workers:
        thread.start()
    time.sleep(duration)
    stop.set()
    for thread in workers:
        thread.join()
    elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
    total = sum(done)
    return {"rps": total / elapsed, "cpu_us": 1e6 * cpu / max(total, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scripts", type=Path)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--duration", type=float, default=5)
    args = parser.parse_args()
    requests = [_prepare(request) for request in json.loads(args.scripts.read_text())]
    print(json.dumps(run(requests, threads=args.threads, duration=args.duration)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
