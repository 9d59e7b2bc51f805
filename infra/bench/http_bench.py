"""HTTP benchmark: seed a realistic dataset, start the server as `make run` does, drive it with wrk.

Prints, per endpoint: req/s, p50 and p99 latency, errors (non-2xx or socket errors) and the server's peak
RSS. `--compare-cache` runs the cache-sensitive endpoints twice, with the in-process cache on and off.

    .venv/bin/python -m infra.bench.http_bench [--scale 1] [--duration 10] [--connections 32]
    .venv/bin/python -m infra.bench.http_bench --compare-cache --endpoints feed,channel
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from infra.bench.common import RssPeak, free_port, scratch_dir

PROJECT_DIR = Path(__file__).resolve().parents[2]
PASSWORD = "Passw0rdX"
MB = 1024 * 1024


@dataclass
class Endpoint:
    name: str
    method: str
    paths: list[str]
    body: str | None = None
    auth: bool = True


def _lua(endpoint: Endpoint, token: str) -> str:
    """A wrk script: rotate through the endpoint's paths; send its method, body and headers."""
    paths = ", ".join(json.dumps(p) for p in endpoint.paths)
    headers = ['wrk.headers["Content-Type"] = "application/json"']
    if endpoint.auth:
        headers.append(f'wrk.headers["Authorization"] = "Bearer {token}"')
    body = json.dumps(endpoint.body) if endpoint.body is not None else "nil"
    return f"""
local paths = {{{paths}}}
local counter = 0
wrk.method = "{endpoint.method}"
{chr(10).join(headers)}
request = function()
  counter = counter + 1
  return wrk.format(nil, paths[(counter % #paths) + 1], nil, {body})
end
"""


def run_wrk(base: str, endpoint: Endpoint, token: str, connections: int, duration: int, threads: int) -> dict:
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(_lua(endpoint, token))
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script),
                          base], capture_output=True, text=True, timeout=duration + 60).stdout
    script.unlink()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latencies = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    requests_total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    socket_errors = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return {"rps": rps, "p50": latencies.get("50", "?"), "p99": latencies.get("99", "?"),
            "requests": requests_total, "errors": non2xx + socket_errors}


def start_server(database_url: str, home: Path, *, cache: str, workers: int, threads: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "VIZTUBE_HOME": str(home), "PORT": str(port),
           "RATE_LIMITS": "off", "CACHE": cache, "LOG_LEVEL": "WARNING", "WEB_CONCURRENCY": str(workers),
           "WEB_THREADS": str(threads), "DB_POOL_SIZE": str(threads), "VIZTUBE_STAGE": "dev"}
    proc = subprocess.Popen([sys.executable, "-m", "infra.serve"], cwd=PROJECT_DIR, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if requests.get(f"{base}/api/v2/healthcheck", timeout=2).status_code == 200:
                return proc, base
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit("server did not start")


def endpoints(ids: dict) -> dict[str, Endpoint]:
    return {
        "healthcheck": Endpoint("healthcheck", "GET", ["/api/v2/healthcheck"], auth=False),
        "login": Endpoint("login", "POST", ["/api/v2/user/login"],
                          body=json.dumps({"username": "user1", "password": PASSWORD}), auth=False),
        "feed": Endpoint("feed page 1", "GET", ["/api/v2/videos?page=1&limit=10"]),
        "detail": Endpoint("video detail", "GET", [f"/api/v2/videos/{v}" for v in ids["videos"]]),
        "comments": Endpoint("comments page", "GET", [f"/api/v2/comments/{v}" for v in ids["commented"]]),
        "channel": Endpoint("channel profile", "GET", [f"/api/v2/user/c/{u}" for u in ids["usernames"]]),
        "dashboard": Endpoint("dashboard stats", "GET", ["/api/v2/dashboard/stats"]),
        "like": Endpoint("like toggle", "POST", [f"/api/v2/likes/toggle/v/{v}" for v in ids["videos"][:50]], body=""),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--endpoints", default="healthcheck,login,feed,detail,comments,channel,dashboard,like")
    parser.add_argument("--compare-cache", action="store_true")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk; `make bench` does it)")

    import bcrypt

    from infra.bench.seed import Scale, seed
    from shared.embedded_pg import ensure_embedded

    home = scratch_dir("viztube-bench-")
    database_url = os.environ.get("DATABASE_URL") or ensure_embedded(home / "pgdata")
    os.environ["DATABASE_URL"] = database_url
    from shared import db
    from shared.migrate import migrate

    migrate()
    scale = Scale().times(args.scale)
    print(f"seeding {scale} ...", flush=True)
    started = time.monotonic()
    seed(scale, password_hash=bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(10)).decode(), log=False)
    print(f"seeded in {time.monotonic() - started:.1f}s", flush=True)
    ids = {
        "videos": [str(r["id"]) for r in db.fetch_all(
            "SELECT id FROM videos WHERE is_published ORDER BY random() LIMIT 500")],
        "commented": [str(r["video_id"]) for r in db.fetch_all(
            "SELECT video_id FROM comments c JOIN videos v ON v.id = c.video_id WHERE v.is_published"
            " GROUP BY video_id ORDER BY random() LIMIT 200")],
        "usernames": [r["username"] for r in db.fetch_all("SELECT username FROM users ORDER BY random() LIMIT 200")],
    }
    db.close_pool()
    chosen = [e.strip() for e in args.endpoints.split(",") if e.strip()]
    modes = ["memory", "off"] if args.compare_cache else ["auto"]
    results = []
    for mode in modes:
        proc, base = start_server(database_url, home, cache=mode, workers=args.workers, threads=args.threads)
        try:
            token = requests.post(f"{base}/api/v2/user/login", json={"username": "user1", "password": PASSWORD},
                                  timeout=30).json()["data"]["accessToken"]
            catalogue = endpoints(ids)
            for key in chosen:
                run_wrk(base, catalogue[key], token, args.connections, 2, 2)  # warm-up
                with RssPeak(proc.pid) as rss:
                    result = run_wrk(base, catalogue[key], token, args.connections, args.duration, 2)
                results.append((mode, catalogue[key].name, result, rss.peak / MB))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    load = os.getloadavg()
    print(f"\nwrk, {args.connections} connections, {args.duration}s per endpoint; server: granian "
          f"{args.workers} worker(s) x {args.threads} threads, RATE_LIMITS=off; {os.cpu_count()} CPUs shared by "
          f"server, PostgreSQL and wrk (load average now {load[0]:.2f})")
    print(f"{'cache':>6} | {'endpoint':<16} | {'req/s':>8} | {'p50':>9} | {'p99':>9} | {'requests':>8} | "
          f"{'errors':>6} | {'server RSS MB':>13}")
    print("-" * 96)
    for mode, name, r, rss in results:
        print(f"{mode:>6} | {name:<16} | {r['rps']:>8.0f} | {r['p50']:>9} | {r['p99']:>9} | {r['requests']:>8} | "
              f"{r['errors']:>6} | {rss:>13.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
