"""HTTP benchmark: seed a realistic dataset, start the server as `make run` does, drive it with wrk, and set each
endpoint against its limit on the same box, in the same run.

Prints, per endpoint and cache mode (CACHE=memory, then CACHE=off): req/s, p50 and p99 latency, errors
(an unexpected status, or a socket error), the server's peak RSS, the LIMIT in req/s, OUR SHARE of it, and the
database round trips (statements) one request makes. The limit:
* JSON 404 and healthcheck: a bare WSGI app (infra.bench.bare_wsgi) on the server's own Granian settings, driven
  by the same wrk parameters;
* every database-bound endpoint: `pgbench -M prepared`, as many clients as wrk's connections, replaying the
  statements our server issued for one request of that endpoint, captured from PostgreSQL's log
  (infra.bench.pg_replay); for an endpoint that writes, several captured requests (on different rows) side by
  side. `--show-scripts` prints the scripts. Needs the embedded PostgreSQL (DATABASE_URL unset) for its log.
An endpoint whose statements are the same under both cache modes gets one limit, measured once.

    .venv/bin/python -m infra.bench.http_bench [--scale 1] [--duration 10] [--connections 32]
    .venv/bin/python -m infra.bench.http_bench --duration 3 --endpoints feed,comments,404 --show-scripts
    .venv/bin/python -m infra.bench.http_bench --cache off --no-limits
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from infra.bench.common import RssPeak, free_port, scratch_dir, wait_until_idle

PROJECT_DIR = Path(__file__).resolve().parents[2]
PASSWORD = "Passw0rdX"
MB = 1024 * 1024
WARM_UP_SECONDS = 2
WRK_THREADS = 2
# Requests captured per endpoint, one per path (video id, channel...) when it has several. A read replays one of
# them; an endpoint that writes replays them all side by side, spreading pgbench's writes over as many rows as
# wrk's requests touch (one request's statements replayed by 32 clients would all queue on one row's lock: a
# video's watch history, a like).
CAPTURE_PATHS = 32


@dataclass
class Endpoint:
    name: str
    method: str
    paths: list[str]
    body: str | None = None
    auth: bool = True
    status: int = 200  # the answer expected; any other counts as an error
    limit: str = "pgbench"  # or "bare": the bare WSGI app


@dataclass
class Limit:
    rps: float | None
    kind: str  # "bare WSGI" or "pgbench"
    note: str = ""
    driver: float | None = None  # req/s of one Python process running only these statements (driver_replay)


@dataclass
class Row:
    mode: str
    name: str
    result: dict
    rss_mb: float
    limit: Limit | None
    round_trips: int | None


def _lua(endpoint: Endpoint, token: str) -> str:
    """A wrk script: rotate through the endpoint's paths; send its method, body and headers. An endpoint that
    expects a status other than 200 counts the answers that differ (wrk itself counts only non-2xx/3xx)."""
    paths = ", ".join(json.dumps(p) for p in endpoint.paths)
    headers = ['wrk.headers["Content-Type"] = "application/json"']
    if endpoint.auth:
        headers.append(f'wrk.headers["Authorization"] = "Bearer {token}"')
    body = json.dumps(endpoint.body) if endpoint.body is not None else "nil"
    script = f"""
local paths = {{{paths}}}
local counter = 0
wrk.method = "{endpoint.method}"
{chr(10).join(headers)}
request = function()
  counter = counter + 1
  return wrk.format(nil, paths[(counter % #paths) + 1], nil, {body})
end
"""
    if endpoint.status != 200:
        script += f"""
local threads = {{}}
function setup(thread) table.insert(threads, thread) end
function init(args) unexpected = 0 end
function response(status, headers, body)
  if status ~= {endpoint.status} then unexpected = unexpected + 1 end
end
function done(summary, latency, requests)
  local n = 0
  for _, thread in ipairs(threads) do n = n + thread:get("unexpected") end
  io.write(string.format("unexpected status: %d\\n", n))
end
"""
    return script


def run_wrk(base: str, endpoint: Endpoint, token: str, connections: int, duration: int, threads: int) -> dict:
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(_lua(endpoint, token))
    try:
        done = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "-s",
                               str(script), base], capture_output=True, text=True, timeout=duration + 60)
    finally:
        script.unlink()
    out = done.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rps is None:
        raise SystemExit(f"wrk failed against {base}: {(done.stderr or out).strip()[:500]}")
    latencies = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))

    def count(pattern: str) -> int:
        match = re.search(pattern, out)
        return int(match.group(1)) if match else 0

    requests_total = count(r"(\d+) requests in")
    socket_errors = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    if endpoint.status != 200:  # counted by the script's response hook
        status_errors = count(r"unexpected status: (\d+)") if "unexpected status:" in out else requests_total
    else:
        status_errors = count(r"Non-2xx or 3xx responses: (\d+)")
    return {"rps": float(rps.group(1)), "p50": latencies.get("50", "?"), "p99": latencies.get("99", "?"),
            "requests": requests_total, "errors": status_errors + socket_errors}


def server_env(database_url: str, home: Path, port: int, *, cache: str, workers: int, threads: int) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url, "VIZTUBE_HOME": str(home), "PORT": str(port),
            "RATE_LIMITS": "off", "CACHE": cache, "LOG_LEVEL": "WARNING", "WEB_CONCURRENCY": str(workers),
            "WEB_THREADS": str(threads), "DB_POOL_SIZE": str(threads), "VIZTUBE_STAGE": "dev"}


def start(module: str, env: dict[str, str], ready_status: int = 200) -> tuple[subprocess.Popen, str]:
    """Run `python -m module` (a Granian server on env's PORT) and wait until its healthcheck answers."""
    proc = subprocess.Popen([sys.executable, "-m", module], cwd=PROJECT_DIR, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{env['PORT']}"
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit(f"{module} exited with status {proc.returncode} before answering")
        try:
            if requests.get(f"{base}/api/v2/healthcheck", timeout=2).status_code == ready_status:
                return proc, base
        except requests.RequestException:
            pass
        time.sleep(0.2)
    stop(proc)
    raise SystemExit(f"{module} did not start")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def endpoints(ids: dict) -> dict[str, Endpoint]:
    return {
        "healthcheck": Endpoint("healthcheck", "GET", ["/api/v2/healthcheck"], auth=False, limit="bare"),
        "404": Endpoint("json 404", "GET", ["/api/v2/nope"], auth=False, status=404, limit="bare"),
        "login": Endpoint("login", "POST", ["/api/v2/user/login"],
                          body=json.dumps({"username": "user1", "password": PASSWORD}), auth=False),
        "feed": Endpoint("feed page 1", "GET", ["/api/v2/videos?page=1&limit=10"]),
        "subs": Endpoint("subscriptions feed", "GET", ["/api/v2/feed/subscriptions?limit=10"]),  # user1's follows
        "trending": Endpoint("trending page 1", "GET", ["/api/v2/videos?sortBy=trending&limit=10"]),
        "detail": Endpoint("video detail", "GET", [f"/api/v2/videos/{v}" for v in ids["videos"]]),
        "comments": Endpoint("comments page", "GET", [f"/api/v2/comments/{v}" for v in ids["commented"]]),
        "channel": Endpoint("channel profile", "GET", [f"/api/v2/user/c/{u}" for u in ids["usernames"]]),
        "dashboard": Endpoint("dashboard stats", "GET", ["/api/v2/dashboard/stats"]),
        "like": Endpoint("like toggle", "POST", [f"/api/v2/likes/toggle/v/{v}" for v in ids["videos"][:50]], body=""),
    }


ALL_ENDPOINTS = "healthcheck,404,login,feed,subs,trending,detail,comments,channel,dashboard,like"


def sender(session: requests.Session, base: str, endpoint: Endpoint, token: str, path: str) -> Callable[[], int]:
    """One request of the endpoint on `path`, as wrk sends it; returns the status."""
    headers = {"Content-Type": "application/json"}
    if endpoint.auth:
        headers["Authorization"] = f"Bearer {token}"
    data = endpoint.body.encode() if endpoint.body is not None else None

    def send() -> int:
        return session.request(endpoint.method, base + path, headers=headers, data=data, timeout=30).status_code

    return send


class Limits:
    """Measures each endpoint's limit once per distinct workload (the bare app per endpoint; pgbench per
    captured statement sequence: an endpoint the cache does not change gets one figure for both modes)."""

    def __init__(self, args: argparse.Namespace, database_url: str, home: Path, *, own_database: bool) -> None:
        self.args, self.database_url, self.home = args, database_url, home
        self.pg = None
        self.reason = "--no-limits"
        if not args.no_limits and not own_database:
            # Capturing turns on statement logging server-wide (ALTER SYSTEM): only on the benchmark's own cluster.
            self.reason = "they need the benchmark's own embedded PostgreSQL (unset DATABASE_URL)"
        elif not args.no_limits:
            from infra.bench.pg_replay import Postgres

            try:
                self.pg = Postgres(database_url)
            except RuntimeError as exc:
                self.reason = str(exc)
                print(f"no limit columns: {exc}", flush=True)
        self.measured: dict[tuple, Limit] = {}
        self.scripts: list[str] = []
        self.bare: tuple[subprocess.Popen, str] | None = None

    def close(self) -> None:
        if self.bare is not None:
            stop(self.bare[0])
            self.bare = None

    def _bare_base(self) -> str:
        if self.bare is None:
            env = server_env(self.database_url, self.home, free_port(), cache="off", workers=self.args.workers,
                             threads=self.args.threads)
            self.bare = start("infra.bench.bare_wsgi", env)
        return self.bare[1]

    def measure(self, key: str, endpoint: Endpoint, mode: str, base: str, token: str,
                server_pid: int) -> tuple[Limit | None, int | None]:
        """(the limit, the round trips of one request) for the endpoint as the server at `base` serves it."""
        if self.pg is None:
            return None, None
        from infra.bench.pg_replay import candidates, replay_script, writes

        wait_until_idle(server_pid)  # wrk's last requests are answered (32 queued logins take seconds)
        session = requests.Session()
        paths = (endpoint.paths * 3)[:max(3, min(len(endpoint.paths), CAPTURE_PATHS))]  # 3 at least: a vote
        captures = self.pg.capture([sender(session, base, endpoint, token, path) for path in paths])
        groups = candidates(captures)
        title = f"{endpoint.name}, CACHE={mode}"
        self._keep_log(f"{key}-{mode}", paths, captures)
        odd = sorted({str(c.status) for c in captures if c.status != endpoint.status})
        status_note = f"captured requests answered {', '.join(odd)} (expected {endpoint.status})" if odd else ""
        if endpoint.limit == "bare":
            capture = groups[0][0]
            script, _ = replay_script(capture, literals=True, title=title + " (not replayed: the limit is the bare app)")
            self.scripts.append(script)
            limit = self.measured.get(("bare", key))
            if limit is None:
                bare = self._bare_base()
                run_wrk(bare, endpoint, token, self.args.connections, WARM_UP_SECONDS, WRK_THREADS)
                result = run_wrk(bare, endpoint, token, self.args.connections, self.args.duration, WRK_THREADS)
                note = f"{result['errors']} errors in the bare app's run" if result["errors"] else ""
                limit = self.measured[("bare", key)] = Limit(result["rps"], "bare WSGI", note)
            return _noted(limit, status_note), len(capture.statements)
        problems: list[str] = []
        for variant, group in enumerate(groups, 1):
            shape = group[0].shape
            if not shape:
                return Limit(None, "pgbench", _join(status_note, "no statements: nothing to replay")), 0
            limit = self.measured.get(("pgbench", shape))
            if limit is not None:
                return _noted(limit, status_note), len(shape)
            # A read replays one request, as is; writes replay each captured request (a different row) on its own
            # clients: 32 clients writing one row would only measure that row's lock.
            spread = group if writes(shape) else group[:1]
            for literals in dict.fromkeys((self.args.literals, True)):
                scripts, every, texts = self._write_scripts(
                    spread, literals=literals, title=title,
                    folder=f"{key}-{mode}-{variant}{'-literals' if literals else ''}")
                problem = self.pg.check(*every)  # each request, one after the other, three times
                if problem is None:
                    break
                problems.append(problem)
            else:
                continue
            more = len(texts) - 1
            others = [len(g) for g in groups if g is not group]
            variants = (f"-- {len(captures)} requests captured; {sum(others)} of them ran other statements (a job "
                        f"poll in the window, the other branch of a toggle): {len(others)} other variant(s)\n"
                        if others else "")
            self.scripts.append(variants + texts[0] + "".join(f"--   -D {k}={v}\n" for k, v in scripts[0][1].items())
                                + (f"-- (and {more} more like it, with the parameters of the other captured requests "
                                   f"of this endpoint: each has its own pgbench clients)\n" if more else ""))
            note = _join(f"replayed variant {variant} of {len(groups)} (before it: {'; '.join(problems)})"
                         if problems else "",
                         "parameters written as literals (their types were not inferable as pgbench variables)"
                         if literals and not self.args.literals else "",
                         f"writes: {len(scripts)} captured requests replayed side by side" if more else "")
            try:
                rps = self.pg.run(scripts, clients=self.args.connections, threads=WRK_THREADS,
                                  duration=self.args.duration)
                limit = Limit(rps, "pgbench", note, self._driver(spread, f"{key}-{mode}-{variant}"))
            except RuntimeError as exc:
                limit = Limit(None, "pgbench", _join(note, str(exc)))
            self.measured[("pgbench", shape)] = limit
            return _noted(limit, status_note), len(shape)
        return Limit(None, "pgbench", _join(status_note, "cannot replay: " + "; ".join(dict.fromkeys(problems)))), \
            len(groups[0][0].statements)

    def _driver(self, group: list, folder: str) -> float | None:
        """Requests per second of one Python process (the server's thread count) running these captured requests'
        statements through shared.db and nothing else (infra/bench/driver_replay.py): the ceiling of our driver."""
        from infra.bench.driver_replay import to_json

        path = self.home / "pgbench" / folder / "driver.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(to_json(group))
        env = server_env(self.database_url, self.home, 0, cache="off", workers=1, threads=self.args.threads)
        try:
            done = subprocess.run([sys.executable, "-m", "infra.bench.driver_replay", str(path), "--threads",
                                   str(self.args.threads), "--duration", str(self.args.duration)], cwd=PROJECT_DIR,
                                  env=env, capture_output=True, text=True, timeout=self.args.duration + 120)
        except subprocess.TimeoutExpired:
            print("  driver replay did not finish in time", flush=True)
            return None
        if done.returncode != 0:
            print(f"  driver replay failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}", flush=True)
            return None
        return float(json.loads(done.stdout.strip().splitlines()[-1])["rps"])

    def _keep_log(self, name: str, paths: list[str], captures: list) -> None:
        """Every captured request's statements, in pgbench/<endpoint>-<mode>.log (BENCH_KEEP=1 keeps it)."""
        directory = self.home / "pgbench"
        directory.mkdir(exist_ok=True)
        with (directory / f"{name}.log").open("w") as f:
            for path, capture in zip(paths, captures, strict=True):
                f.write(f"== {path}: HTTP {capture.status}, {len(capture.statements)} statements, "
                        f"{capture.parsed} parsed\n")
                for statement in capture.statements:
                    f.write(f"{statement.sql}\n    {statement.params}\n")

    def _write_scripts(self, group: list, *, literals: bool, title: str, folder: str
                       ) -> tuple[list[tuple[Path, dict[str, str]]], tuple[Path, dict[str, str]], list[str]]:
        """A script per captured request (all with the same statements) and its variables; one script running
        them all in turn with all the variables; the scripts' texts."""
        from infra.bench.pg_replay import replay_script

        directory = self.home / "pgbench" / folder
        directory.mkdir(parents=True, exist_ok=True)
        scripts: list[tuple[Path, dict[str, str]]] = []
        texts: list[str] = []
        for number, capture in enumerate(group, 1):
            text, variables = replay_script(capture, literals=literals, prefix=f"r{number}",
                                            title=f"{title}, request {number} of {len(group)}" if len(group) > 1
                                            else title)
            path = directory / f"request{number}.sql"
            path.write_text(text)
            scripts.append((path, variables))
            texts.append(text)
        every = directory / "all.sql"
        every.write_text("".join(texts))
        return scripts, (every, {k: v for _, variables in scripts for k, v in variables.items()}), texts


def _join(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


def _noted(limit: Limit, note: str) -> Limit:
    return Limit(limit.rps, limit.kind, _join(note, limit.note), limit.driver) if note else limit


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--duration", type=int, default=10, help="seconds per run (wrk, and pgbench for limits)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections and pgbench clients")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--endpoints", default=ALL_ENDPOINTS, help=f"a comma-separated subset of {ALL_ENDPOINTS}")
    parser.add_argument("--cache", choices=["both", "memory", "off", "auto"], default="both",
                        help="CACHE mode(s) to serve with; both: memory, then off")
    parser.add_argument("--compare-cache", action="store_true", help="the same as --cache both (the default)")
    parser.add_argument("--no-limits", action="store_true", help="skip the limit and share columns")
    parser.add_argument("--data", type=Path, metavar="DIR",
                        help="keep the seeded database in DIR and reuse it on the next run at the same --scale "
                             "(seeding --scale 100 takes a quarter of an hour on a 2-CPU box)")
    parser.add_argument("--show-scripts", action="store_true", help="print each request's captured statements")
    parser.add_argument("--literals", action="store_true",
                        help="pgbench with the parameters written into the SQL: PostgreSQL then plans each statement "
                             "once, where a parameterised one is planned per execution (a custom plan)")
    args = parser.parse_args()
    chosen = [e.strip() for e in args.endpoints.split(",") if e.strip()]
    unknown = [e for e in chosen if e not in ALL_ENDPOINTS.split(",")]
    if unknown:
        raise SystemExit(f"unknown endpoint(s) {', '.join(unknown)}; choose from {ALL_ENDPOINTS}")
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk; `make bench` does it)")
    if not args.no_limits and not os.environ.get("DATABASE_URL"):
        from infra.bench.pg_replay import pgbench_path

        pgbench_path()  # a clear error now, not after seeding

    import bcrypt

    from infra.bench.seed import Scale, seed
    from shared.embedded_pg import ensure_embedded

    load_at_start = os.getloadavg()
    home = scratch_dir("viztube-bench-")
    own_database = not os.environ.get("DATABASE_URL")
    pgdata = (args.data / "pgdata") if args.data else home / "pgdata"
    database_url = os.environ.get("DATABASE_URL") or ensure_embedded(pgdata)
    os.environ["DATABASE_URL"] = database_url
    from shared import db
    from shared.migrate import migrate

    migrate()
    scale = Scale().times(args.scale)
    seeded_marker = args.data / f"seeded-{scale.users}-{scale.videos}-{scale.likes}" if args.data else None
    if seeded_marker and seeded_marker.exists():
        print(f"reusing the database seeded in {args.data} ({scale})", flush=True)
        # Earlier runs left garbage (thousands of sessions from the login runs, dead watch_history and likes rows
        # from the detail and like runs, rows rewritten by migrations) that autovacuum never saw: the embedded
        # server lives only while a bench runs. Measured against it, PostgreSQL's limit was 4-10x too low.
        started = time.monotonic()
        db.execute("DELETE FROM sessions")  # every run signs in afresh
        db.execute("VACUUM (ANALYZE)")
        print(f"vacuumed in {time.monotonic() - started:.1f}s", flush=True)
    else:
        if seeded_marker and db.fetch_one("SELECT 1 AS x FROM users LIMIT 1"):
            raise SystemExit(f"{args.data} holds a database seeded at another scale (or half-seeded): remove it")
        print(f"seeding {scale} ...", flush=True)
        started = time.monotonic()
        seed(scale, password_hash=bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(10)).decode(), log=False)
        print(f"seeded in {time.monotonic() - started:.1f}s", flush=True)
        if seeded_marker:
            seeded_marker.touch()
    ids = {
        "videos": [str(r["id"]) for r in db.fetch_all(
            "SELECT id FROM videos WHERE is_published ORDER BY random() LIMIT 500")],
        "commented": [str(r["video_id"]) for r in db.fetch_all(
            "SELECT video_id FROM comments c JOIN videos v ON v.id = c.video_id WHERE v.is_published"
            " GROUP BY video_id ORDER BY random() LIMIT 200")],
        "usernames": [r["username"] for r in db.fetch_all("SELECT username FROM users ORDER BY random() LIMIT 200")],
    }
    modes = ["memory", "off"] if args.compare_cache or args.cache == "both" else [args.cache]
    limits = Limits(args, database_url, home, own_database=own_database)
    rows: list[Row] = []
    try:
        for mode in modes:
            env = server_env(database_url, home, free_port(), cache=mode, workers=args.workers, threads=args.threads)
            proc, base = start("infra.serve", env)
            try:
                token = requests.post(f"{base}/api/v2/user/login", json={"username": "user1", "password": PASSWORD},
                                      timeout=30).json()["data"]["accessToken"]
                catalogue = endpoints(ids)
                for key in chosen:
                    endpoint = catalogue[key]
                    run_wrk(base, endpoint, token, args.connections, WARM_UP_SECONDS, WRK_THREADS)
                    with RssPeak(proc.pid) as rss:
                        result = run_wrk(base, endpoint, token, args.connections, args.duration, WRK_THREADS)
                    limit, round_trips = limits.measure(key, endpoint, mode, base, token, proc.pid)
                    rows.append(Row(mode, endpoint.name, result, rss.peak / MB, limit, round_trips))
                    print(f"  CACHE={mode:<6} {endpoint.name:<16} {result['rps']:>8.0f} req/s"
                          + (f", limit {limit.rps:.0f} ({limit.kind})" if limit and limit.rps else ""), flush=True)
            finally:
                stop(proc)
    finally:
        limits.close()
    if args.show_scripts:
        print("\ncaptured statements, one request each (pgbench scripts; -D: the parameters as pgbench variables)")
        for script in limits.scripts:
            print(script)
    print_table(args, rows, load_at_start, limits.reason if limits.pg is None else None)
    if os.environ.get("BENCH_KEEP") == "1":
        print(f"BENCH_KEEP=1: kept {home} (pgbench/: each endpoint's captured statements and pgbench scripts)")
    return 0


def _cell(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def print_table(args: argparse.Namespace, rows: list[Row], load_at_start: tuple[float, float, float],
                no_limits: str | None) -> None:
    load = os.getloadavg()
    print(f"\nwrk, {args.connections} connections, {args.duration}s per run; server: granian {args.workers} "
          f"worker(s) x {args.threads} threads, RATE_LIMITS=off; {os.cpu_count()} CPUs shared by server, PostgreSQL, "
          f"wrk, pgbench and anything else running (load average {load_at_start[0]:.2f} at start, "
          f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1/5/15 min) at the end)")
    if no_limits is None:
        print(f"limits, same box, same run: json 404 and healthcheck: a bare WSGI app on the same Granian settings, "
              f"same wrk parameters;\n  the others: pgbench -M prepared -c {args.connections} "
              f"-j {min(WRK_THREADS, args.connections)} -T {args.duration} replaying the statements one request sent, "
              f"captured from PostgreSQL's log{' (parameters as literals)' if args.literals else ''}\n  (an endpoint "
              f"that writes: up to {CAPTURE_PATHS} captured requests, on different rows, side by side). "
              f"share = our req/s / limit; round trips = statements one request sends to PostgreSQL;\n  pg8000 = "
              f"one Python process ({args.threads} threads) running only those statements through shared.db (no "
              f"HTTP, no handler): the most any handler serves on this driver; of it = our req/s / pg8000")
    else:
        print(f"no limit columns: {no_limits}")
    header = (f"{'cache':>6} | {'endpoint':<16} | {'req/s':>8} | {'p50':>9} | {'p99':>9} | {'errors':>6} | "
              f"{'server RSS MB':>13} | {'limit req/s':>11} | {'share':>6} | {'round trips':>11} | {'pg8000':>7} | "
              f"{'of it':>6}")
    print(header)
    print("-" * len(header))
    notes: list[str] = []
    for row in rows:
        r, limit = row.result, row.limit
        limit_rps = limit.rps if limit else None
        share = f"{100 * r['rps'] / limit_rps:.1f}%" if limit_rps else "-"
        driver = limit.driver if limit else None
        of_driver = f"{100 * r['rps'] / driver:.1f}%" if driver else "-"
        if limit and limit.note:
            notes.append(f"{row.mode} {row.name}: {limit.note}")
        print(f"{row.mode:>6} | {row.name:<16} | {r['rps']:>8.0f} | {r['p50']:>9} | {r['p99']:>9} | "
              f"{r['errors']:>6} | {row.rss_mb:>13.0f} | {_cell(limit_rps, '11.0f'):>11} | {share:>6} | "
              f"{_cell(row.round_trips, 'd'):>11} | {_cell(driver, '7.0f'):>7} | {of_driver:>6}")
    for note in dict.fromkeys(notes):
        print(f"  note: {note}")


if __name__ == "__main__":
    sys.exit(main())
