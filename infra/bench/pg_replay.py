"""The ceiling for a database-bound request: PostgreSQL running that request's own statements, without us.

`Postgres.capture` turns on statement logging (log_min_duration_statement = 0, ALTER SYSTEM + pg_reload_conf)
on the benchmark's embedded PostgreSQL, sends requests of one endpoint one at a time, turns it off again, and
reads back from the server log (pgdata/log, where pgserver's pg_ctl writes) the statements each request
executed, with their parameters (`execute <name>: ... $1` + `DETAIL:  parameters: $1 = '...'`, and simple
queries such as BEGIN). `replay_script` writes one request's statements as a pgbench script (one transaction =
that request's statements in order, BEGIN and COMMIT included; the parameters as pgbench variables, or
literals) and `Postgres.run` drives it with `pgbench -M prepared -c 32 -j 2 -T <duration> -n` over the
embedded server's unix socket.

Requests are told apart by time (the log's epoch timestamps against the moment each request was sent and
answered, one at a time), so the background job worker's polls (every 2 s) land in a capture only by chance;
such a capture then disagrees with the others and loses the vote (`candidates`).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from shared import db

LOG_PREFIX = "%n [%p] "  # epoch seconds with milliseconds, backend pid
_ENTRY = re.compile(r"^(\d+\.\d+) \[(\d+)\] ([A-Z]+):  (.*)$")
_DURATION = re.compile(r"duration: [\d.]+ ms  (statement|execute|parse|bind)(?: ([^:]*))?: (.*)", re.S)
_PARAM = re.compile(r"\$(\d+) = (NULL|'(?:[^']|'')*')", re.S)
MARGIN = 0.002  # the log's timestamps are whole milliseconds


def pgbench_path() -> str:
    """pgserver's own pgbench (the embedded server's version), else one on PATH (Debian's postgresql-client)."""
    import pgserver

    bundled = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pgbench"
    if bundled.is_file():
        return str(bundled)
    found = shutil.which("pgbench")
    if not found:
        raise SystemExit("pgbench is not installed (apt-get install postgresql-client; `make bench` does it), "
                         "or run without the limit columns: --no-limits")
    return found


@dataclass
class Statement:
    sql: str
    params: dict[int, str | None] = field(default_factory=dict)  # $n -> text value (None: NULL)


@dataclass
class Capture:
    statements: list[Statement]
    parsed: int  # Parse messages the server received during the request (statements not prepared before)
    status: object = None  # what the request answered (send's return value)

    @property
    def shape(self) -> tuple[str, ...]:
        return tuple(s.sql for s in self.statements)


def _entries(text: str) -> Iterator[tuple[float, int, str, str]]:
    """(time, pid, level, message) per log entry; lines without the prefix continue the entry before them."""
    current: list = []
    for line in text.splitlines():
        match = _ENTRY.match(line)
        if match:
            if current:
                yield current[0], current[1], current[2], current[3]
            current = [float(match[1]), int(match[2]), match[3], match[4]]
        elif current:
            current[3] += "\n" + line
    if current:
        yield current[0], current[1], current[2], current[3]


def _parameters(detail: str) -> dict[int, str | None]:
    """`$1 = '42', $2 = NULL, $3 = 'it''s'` -> {1: "42", 2: None, 3: "it's"}."""
    return {int(n): None if value == "NULL" else value[1:-1].replace("''", "'")
            for n, value in _PARAM.findall(detail.removeprefix("parameters: "))}


def parse_log(text: str, windows: list[tuple[float, float]]) -> list[Capture]:
    """The statements executed inside each (start, end) window, in order, with their parameters."""
    captures = [Capture([], 0) for _ in windows]
    last: dict[int, Statement | None] = {}  # per backend: the execute a DETAIL line belongs to

    def window_of(at: float) -> Capture | None:
        for (start, end), capture in zip(windows, captures, strict=True):
            if start - MARGIN <= at <= end + MARGIN:
                return capture
        return None

    for at, pid, level, message in _entries(text):
        if level == "DETAIL":
            statement = last.get(pid)
            if statement is not None and message.startswith("parameters: "):
                statement.params = _parameters(message)
            continue
        last[pid] = None
        match = _DURATION.match(message) if level == "LOG" else None
        capture = window_of(at) if match else None
        if match is None or capture is None:
            continue
        kind, sql = match[1], match[3]
        if kind == "parse":
            capture.parsed += 1
        elif kind in ("statement", "execute") and not sql.startswith("fetch from"):
            statement = Statement(sql.strip().rstrip(";").strip())
            capture.statements.append(statement)
            last[pid] = statement if kind == "execute" else None
    return captures


class Postgres:
    """The benchmark's embedded PostgreSQL: its log, statement logging on demand, and pgbench against it."""

    def __init__(self, database_url: str) -> None:
        parsed = urlparse(database_url)
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        self.socket_dir = query.get("host", "")
        if not self.socket_dir.startswith("/"):
            raise RuntimeError("the limit columns need the embedded PostgreSQL (unset DATABASE_URL)")
        self.port = query.get("port", "5432")
        self.user = unquote(parsed.username or "postgres")
        self.database = unquote(parsed.path.lstrip("/"))
        self.log = Path(db.fetch_value("SHOW data_directory")) / "log"  # where pgserver's pg_ctl -l writes
        if not self.log.is_file():
            raise RuntimeError(f"no server log at {self.log}")
        self.pgbench = pgbench_path()

    def _setting(self, name: str, value: str | None) -> None:
        if value is None:
            db.execute(f"ALTER SYSTEM RESET {name}")
        else:
            db.execute(f"ALTER SYSTEM SET {name} = '{value}'")

    def _reload(self, expected: str) -> None:
        """pg_reload_conf, then wait until backends run with it (a backend applies it before its next command)."""
        db.fetch_value("SELECT pg_reload_conf()")
        deadline = time.monotonic() + 10
        while db.fetch_value("SHOW log_min_duration_statement") != expected:
            if time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL did not reload its configuration")
            time.sleep(0.02)
        time.sleep(0.05)  # the postmaster signals every backend at once; let the signals land

    @contextmanager
    def statement_logging(self) -> Iterator[int]:
        """Every statement logged, with its parameters, while inside; yields the log's offset at the start."""
        self._setting("log_line_prefix", LOG_PREFIX)
        self._setting("log_min_duration_statement", "0")
        try:
            self._reload("0")
            yield self.log.stat().st_size
        finally:
            self._setting("log_min_duration_statement", None)
            self._setting("log_line_prefix", None)
            self._reload("-1")

    def capture(self, sends: list[Callable[[], object]]) -> list[Capture]:
        """One request per sender (say, one per video id) to warm caches and connections, then one more each,
        logged, one at a time: a capture per sender, with what its request answered."""
        for send in sends:
            send()
        windows: list[tuple[float, float]] = []
        statuses: list[object] = []
        with self.statement_logging() as offset:
            for send in sends:
                time.sleep(0.01)
                started = time.time()
                statuses.append(send())
                windows.append((started, time.time()))
            time.sleep(0.03)
            with self.log.open("rb") as f:
                f.seek(offset)
                text = f.read().decode("utf-8", "replace")
        captures = parse_log(text, windows)
        for capture, status in zip(captures, statuses, strict=True):
            capture.status = status
        return captures

    def _command(self, script: Path, variables: dict[str, str], *options: str) -> list[str]:
        defines = [arg for name, value in variables.items() for arg in ("-D", f"{name}={value}")]
        return [self.pgbench, "-h", self.socket_dir, "-p", self.port, "-U", self.user, "-n", "-M", "prepared",
                *options, "-f", str(script), *defines, self.database]

    def check(self, script: Path, variables: dict[str, str]) -> str | None:
        """Run a script three times on one client: None when it runs cleanly (it can be replayed in a loop),
        else pgbench's complaint."""
        done = subprocess.run(self._command(script, variables, "-c", "1", "-t", "3"), capture_output=True,
                              text=True, timeout=120)
        if done.returncode == 0 and "number of failed transactions: 0" in done.stdout:
            return None
        lines = [line for line in (done.stderr + done.stdout).splitlines() if "error" in line.lower()]
        return (lines or ["pgbench failed"])[0].strip()

    def run(self, scripts: list[tuple[Path, dict[str, str]]], *, clients: int, threads: int, duration: int) -> float:
        """Transactions per second (without the initial connection time), all clients together.

        One script: `pgbench -c clients -j threads`. Several (one request each, on different rows): the clients
        are shared out among them, one pgbench each, all at once, and their rates summed. (pgbench prepares a
        statement per script, so several scripts in one pgbench would prepare each statement once per script,
        where our server would prepare it once per connection.)"""
        if len(scripts) == 1:
            script, variables = scripts[0]
            return self._finish(subprocess.Popen(
                self._command(script, variables, "-c", str(clients), "-j", str(min(threads, clients)),
                              "-T", str(duration)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
                duration)
        shares = [clients // len(scripts) + (k < clients % len(scripts)) for k in range(len(scripts))]
        procs = [subprocess.Popen(self._command(script, variables, "-c", str(share), "-j", "1", "-T", str(duration)),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for (script, variables), share in zip(scripts, shares, strict=True) if share]
        rates = [self._finish(proc, duration) for proc in procs]
        return sum(rates)

    @staticmethod
    def _finish(proc: subprocess.Popen, duration: int) -> float:
        try:
            out, err = proc.communicate(timeout=duration + 120)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
        if proc.returncode != 0 or match is None:
            lines = [line for line in err.splitlines() if "error" in line.lower()] or ["pgbench failed"]
            raise RuntimeError(lines[0].strip())
        failed = re.search(r"number of failed transactions: (\d+)", out)
        if failed and int(failed[1]):
            raise RuntimeError(f"pgbench: {failed[1]} failed transactions")
        return float(match[1])


WRITES = re.compile(r"\b(INSERT|UPDATE|DELETE|MERGE|pg_advisory\w*lock\w*)\b", re.I)


def writes(shape: tuple[str, ...]) -> bool:
    """Whether the statements write or lock (their replays by many clients then queue on the same rows)."""
    return any(WRITES.search(sql) for sql in shape)


def candidates(captures: list[Capture]) -> list[list[Capture]]:
    """The captures grouped by statement sequence: the most frequent first, then the shortest (a job poll that
    slipped into a window adds statements). A toggle alternates between two sequences: both are offered."""
    groups: dict[tuple[str, ...], list[Capture]] = {}
    for capture in captures:
        groups.setdefault(capture.shape, []).append(capture)
    return sorted(groups.values(), key=lambda group: (-len(group), len(group[0].statements)))


def _scan_placeholders(sql: str, replace: Callable[[int], str]) -> str:
    """Replace $n placeholders outside quoted literals, quoted identifiers and comments."""
    out: list[str] = []
    i = 0
    while i < len(sql):
        ch = sql[i]
        if ch in "'\"":
            end = i + 1
            while end < len(sql):
                if sql[end] == ch:
                    if end + 1 < len(sql) and sql[end + 1] == ch:
                        end += 2
                        continue
                    break
                end += 1
            out.append(sql[i:end + 1])
            i = end + 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            end = len(sql) if end < 0 else end
            out.append(sql[i:end])
            i = end
        elif ch == "$" and (match := re.match(r"\$(\d+)", sql[i:])) and not (i and (sql[i - 1].isalnum()
                                                                                   or sql[i - 1] == "_")):
            out.append(replace(int(match[1])))
            i += len(match[0])
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _literal(value: str | None) -> str:
    """A SQL literal. pgbench takes any `:name`, even inside quotes, for a variable: a colon is written as an
    escape (E'\\x3a'), the same constant."""
    if value is None:
        return "NULL"
    if ":" in value:
        return "E'" + value.replace("\\", "\\\\").replace("'", "''").replace(":", "\\x3a") + "'"
    return "'" + value.replace("'", "''") + "'"


def replay_script(capture: Capture, *, literals: bool, title: str, prefix: str = "") -> tuple[str, dict[str, str]]:
    """A pgbench script (and its -D variables, named with `prefix`) replaying the captured request as one
    transaction.

    With `literals` False the parameters stay parameters (pgbench variables, sent by `-M prepared` as the
    bind values of a prepared statement, as our server does); True writes them into the SQL, for a statement
    whose parameter types PostgreSQL cannot infer without pg8000's type codes. NULL is always written as-is.
    """
    variables: dict[str, str] = {}
    lines = [f"-- {title}: {len(capture.statements)} statements, {capture.parsed} parsed in the request"]
    for index, statement in enumerate(capture.statements, 1):
        def placeholder(n: int, index: int = index, statement: Statement = statement) -> str:
            value = statement.params.get(n)
            if literals or value is None:
                return _literal(value)
            name = f"{prefix}s{index}p{n}"
            variables[name] = value
            return f":{name}"

        lines.append(_scan_placeholders(statement.sql, placeholder) + ";")
    return "\n".join(lines) + "\n", variables
