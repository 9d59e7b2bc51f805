"""The database: a pg8000 connection pool, transactions, and database errors mapped once to API errors.

A statement outside `transaction()` runs on its own (autocommit: one round trip); inside, it joins the
transaction open on this thread, so `shared.sql` functions compose inside a service's transaction. No other
module imports pg8000.
"""

from __future__ import annotations

import json
import logging
import re
import ssl
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import orjson
import pg8000.converters
import pg8000.dbapi
from dbutils.pooled_db import PooledDB, TooManyConnections
from pg8000.converters import make_params

from shared import errors
from shared.settings import get_settings

log = logging.getLogger(__name__)

# pg8000's DB-API takes its parameter style from a module global; `:name` matches the native API.
pg8000.dbapi.paramstyle = "named"
_convert_paramstyle = pg8000.dbapi.convert_paramstyle


class _NameRecorder(dict[str, Any]):
    """Stands in for the parameters once, to learn the order in which pg8000 reads them."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def __getitem__(self, key: str) -> None:
        self.names.append(key)


@lru_cache(maxsize=2048)
def _statement_template(query: str) -> tuple[str, tuple[str, ...]]:
    recorder = _NameRecorder()
    converted, _ = _convert_paramstyle("named", query, recorder)
    return converted, tuple(recorder.names)


def _cached_convert_paramstyle(style: str, query: str, args: Any) -> tuple[str, Any]:
    """pg8000 rewrites `:name` into `$n` by scanning the SQL character by character on every execution
    (~0.2 ms for our longer statements: a sixth of a request). The result depends only on the SQL text, so it
    is worked out once per statement by pg8000's own parser and reused."""
    if style != "named" or not isinstance(args, dict):
        return _convert_paramstyle(style, query, args)
    converted, names = _statement_template(query)
    return converted, tuple(args[name] for name in names)


pg8000.dbapi.convert_paramstyle = _cached_convert_paramstyle

# Unique constraints → the field named in the 409 message ("username already exists").
UNIQUE_FIELDS: dict[str, str] = {
    "users_username_key": "username",
    "users_email_key": "email",
}


@dataclass(frozen=True)
class ConnectionParams:
    user: str
    password: str | None
    database: str
    host: str | None
    port: int
    unix_sock: str | None
    ssl_context: Any

    def connect_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"user": self.user, "database": self.database, "password": self.password,
                                  "ssl_context": self.ssl_context, "timeout": 30, "application_name": "viztube"}
        if self.unix_sock:
            kwargs["unix_sock"] = self.unix_sock
        else:
            kwargs["host"], kwargs["port"] = self.host, self.port
        return kwargs


def parse_database_url(url: str) -> ConnectionParams:
    """postgresql://user:pass@host:5432/db?sslmode=verify-full&sslrootcert=/path/ca.pem, or ?host=/socket/dir."""
    parsed = urlparse(url)
    if parsed.scheme not in ("postgres", "postgresql", "postgresql+pg8000"):
        raise errors.InternalError("DATABASE_URL must start with postgresql://")
    query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
    host = query.get("host") or (unquote(parsed.hostname) if parsed.hostname else None)
    port = parsed.port or int(query.get("port", 5432))
    unix_sock = f"{host}/.s.PGSQL.{port}" if host and host.startswith("/") else None
    sslmode = query.get("sslmode", "prefer")
    ssl_context: Any
    if unix_sock or sslmode == "disable":
        ssl_context = False
    elif sslmode in ("verify-full", "verify-ca"):
        ssl_context = ssl.create_default_context(cafile=query.get("sslrootcert"))
        ssl_context.check_hostname = sslmode == "verify-full"
    elif sslmode == "require":
        ssl_context = True
    else:
        ssl_context = None  # pg8000: try TLS, fall back to plaintext
    return ConnectionParams(
        user=unquote(parsed.username or "postgres"),
        password=unquote(parsed.password) if parsed.password else None,
        database=unquote(parsed.path.lstrip("/")) or "postgres",
        host=None if unix_sock else (host or "localhost"),
        port=port,
        unix_sock=unix_sock,
        ssl_context=ssl_context,
    )


PING_AFTER_IDLE_SECONDS = 10.0  # a connection used more recently than this is not pinged when checked out


def _timestamptz_in(text: str) -> Any:
    """PostgreSQL's timestamptz text ("2026-11-24 08:07:10.208+00") in C, where pg8000 runs strptime (5 µs
    each, a dozen per listed page); pg8000's own parser still takes what ISO does not cover (BC, infinity)."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return pg8000.converters.timestamptz_in(text)


_LONG_DIGITS = re.compile(r"\d{19}")


def _json_in(text: str) -> Any:
    """json and jsonb columns through orjson (5x pg8000's json.loads). orjson reads an integer beyond 64 bits as
    a float, so text with a run of 19 digits or more (anywhere: a cheap scan, a false alarm only costs speed)
    goes to the standard library, which keeps it exact, as pg8000 did."""
    if _LONG_DIGITS.search(text):
        return json.loads(text)
    return orjson.loads(text)


_new_object, _set_slot, _UNKNOWN_SAFETY = object.__new__, object.__setattr__, uuid.SafeUUID.unknown


def _uuid_in(text: str) -> uuid.UUID:
    """PostgreSQL's canonical uuid text as a uuid.UUID without UUID.__init__'s parsing of every spelling it
    accepts (half the time; a listed page carries a few dozen ids)."""
    value = _new_object(uuid.UUID)
    _set_slot(value, "int", int(text.replace("-", ""), 16))
    _set_slot(value, "is_safe", _UNKNOWN_SAFETY)
    return value


# What each column type becomes, where pg8000's converter is a Python function wrapping a builtin: the builtin
# itself (one call less per column of every row), or a faster equivalent. Same values as pg8000's.
_IN_ADAPTERS: dict[int, Callable[[str], Any]] = {
    pg8000.converters.TIMESTAMPTZ: _timestamptz_in,
    pg8000.converters.JSON: _json_in,
    pg8000.converters.JSONB: _json_in,
    pg8000.converters.UUID_TYPE: _uuid_in,
    pg8000.converters.BOOLEAN: "t".__eq__,
    pg8000.converters.SMALLINT: int,
    pg8000.converters.INTEGER: int,
    pg8000.converters.BIGINT: int,
    pg8000.converters.TEXT: str,
    pg8000.converters.STRING: str,
    pg8000.converters.NAME: str,
}


def _connect(params: ConnectionParams) -> Any:
    """A pg8000 connection in autocommit mode: single statements cost one round trip; transactions say BEGIN."""
    conn = pg8000.dbapi.connect(**params.connect_kwargs())
    conn.autocommit = True
    for oid, adapter in _IN_ADAPTERS.items():
        conn.register_in_adapter(oid, adapter)
    return conn


def _connection_lost(exc: Exception) -> bool:
    """Which failures mean the connection is gone (DBUtils then reconnects, and retries a statement that was not
    inside a transaction); other database errors (a unique violation, say) are the caller's to handle."""
    if isinstance(exc, (pg8000.dbapi.InterfaceError, OSError)):  # pg8000 lets a reset socket's error through
        return True
    info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    code = info.get("C", "")
    return code.startswith("08") or code in ("57P01", "57P02", "57P03")


def _ping(conn: Any) -> bool | None:
    """Liveness check on checkout, for connections that sat idle (a recently used one is almost surely alive,
    and if not, its first statement fails before anything ran and DBUtils retries it on a new connection)."""
    if getattr(conn, "viztube_discarded", False):
        return False  # closed on purpose (_discard)
    if time.monotonic() - getattr(conn, "viztube_used", 0.0) < PING_AFTER_IDLE_SECONDS:
        return None
    conn.cursor().execute("SELECT 1")
    return None


_pool: PooledDB | None = None
_pool_lock = threading.Lock()
_local = threading.local()


def database_url() -> str:
    settings = get_settings()
    if settings.database_url:
        return settings.database_url
    from shared.embedded_pg import ensure_embedded  # imported lazily: pgserver is not in the Lambda zip

    return ensure_embedded(settings.pgdata_dir)


_on_pool_created: list[Callable[[], object]] = []


def on_pool_created(callback: Callable[[], object]) -> None:
    """Run `callback` once this process's pool exists (the app's wiring brings a dev database up to date)."""
    _on_pool_created.append(callback)


def _get_pool() -> PooledDB:
    global _pool
    created = False
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                created = True
                params = parse_database_url(database_url())
                size = get_settings().db_pool_size
                _pool = PooledDB(
                    lambda: _connect(params),
                    failures=(pg8000.dbapi.InterfaceError, pg8000.dbapi.DatabaseError, OSError),
                    isfatal=_connection_lost,
                    mincached=0,
                    maxcached=size,
                    maxconnections=size,
                    blocking=True,  # a request waits for a free connection instead of failing
                    ping=(1, _ping),  # checked when taken from the pool: a dropped connection is replaced
                    # Prepared statements, but each execution planned for its own parameters, as unnamed ones
                    # were: a generic plan cannot see that an optional filter (`CAST(:q AS text) IS NULL OR ...`)
                    # is off, and would scan where the custom plan uses an index.
                    setsession=["SET TIME ZONE 'UTC'", "SET statement_timeout = '30s'",
                                "SET plan_cache_mode = force_custom_plan"],
                    reset=False,  # transactions end in COMMIT or ROLLBACK here; nothing to reset on return
                )
    if created:
        for callback in _on_pool_created:
            callback()
    assert _pool is not None
    return _pool


def close_pool() -> None:
    """Close every pooled connection (tests, shutdown, and after a fork)."""
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.close()
            _pool = None


def _discard(conn: Any) -> None:
    """Close a pooled connection whose protocol state is unknown; the pool replaces it on its next checkout.

    pg8000 sends a statement's Parse/Describe before it encodes the parameters, and reads their replies only
    after: a failure in between (a parameter UTF-8 cannot encode, an unconvertible type) leaves unread replies
    on the socket, and the next statement on that connection would read them as its own (issue #10: a correct
    login answered "Invalid credentials"). Only an error the server reported leaves the protocol in step.
    """
    raw = getattr(getattr(conn, "_con", None), "_con", None)  # the pg8000 connection under DBUtils' wrappers
    if raw is None:
        return
    raw.viztube_discarded = True  # _ping says so on its next checkout, and DBUtils opens a fresh one
    try:
        raw.close()
    except Exception:
        log.debug("closing a discarded connection failed", exc_info=True)


PREPARED_PER_CONNECTION = 512  # statements kept prepared on each pooled connection (the app has ~150)
_STALE_PREPARED = ("0A000", "26000")  # "cached plan must not change result type", "prepared statement ... not exist"


@dataclass
class _Result:
    """What one statement answered: its column names and rows, or the rows it changed."""

    names: list[str] | None
    rows: list[list[Any]]
    row_count: int


def _prepared(raw: Any, sql: str) -> tuple[Any, ...]:
    """`sql` prepared on this connection (once: named statements are kept per connection, least recently used
    closed past PREPARED_PER_CONNECTION). An unnamed statement costs three round trips in pg8000 (Parse+Sync,
    Describe+Bind, Execute+Sync) and a plan each time; a prepared one costs one round trip, Bind+Execute+Sync."""
    cache: OrderedDict[str, tuple[Any, ...]] | None = getattr(raw, "viztube_prepared", None)
    if cache is None:
        cache = raw.viztube_prepared = OrderedDict()
    found = cache.get(sql)
    if found is not None:
        cache.move_to_end(sql)
        return found
    converted, names = _statement_template(sql)
    name_bin, columns, input_funcs = raw.prepare_statement(converted, ())
    found = cache[sql] = (name_bin, columns, input_funcs, converted, names)
    if len(cache) > PREPARED_PER_CONNECTION:
        _, (old_name, *_) = cache.popitem(last=False)
        raw.close_prepared_statement(old_name)
    return found


def _forget_prepared(raw: Any, sql: str) -> None:
    cache = getattr(raw, "viztube_prepared", None)
    if cache is not None:
        cache.pop(sql, None)


class Tx:
    """One open transaction: run statements, get dicts back."""

    def __init__(self, conn: Any, *, single: bool = False) -> None:
        self._conn = conn
        self._cursor = conn.cursor()
        self._single = single  # one statement on its own (autocommit): safe to retry on a fresh connection
        self.after_commit: list[Callable[[], None]] = []

    def _execute(self, sql: str, params: dict[str, Any]) -> _Result:
        """Statements with parameters run prepared on the underlying pg8000 connection; the others (BEGIN, SET)
        as simple queries through DBUtils' cursor, which reconnects a dropped connection before anything ran."""
        if not params:
            self._cursor.execute(sql)
            description = self._cursor.description
            rows = self._cursor.fetchall() if description is not None else []
            return _Result([d[0] for d in description] if description else None, list(rows), self._cursor.rowcount)
        steady = self._conn._con  # DBUtils' steady connection; its _con is the pg8000 one
        for attempt in (1, 2):
            raw = steady._con
            try:
                name_bin, columns, input_funcs, converted, names = _prepared(raw, sql)
                values = make_params(raw.py_types, [params[name] for name in names])
                context = raw.execute_named(name_bin, values, columns, input_funcs, converted)
            except pg8000.dbapi.DatabaseError as exc:
                info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
                if attempt == 1 and info.get("C") in _STALE_PREPARED and not raw._in_transaction:
                    _forget_prepared(raw, sql)  # the schema changed under it (a migration): prepare it again
                    continue
                raise
            except (pg8000.dbapi.InterfaceError, OSError):
                if attempt == 2 or not self._single:
                    raise
                # The server dropped this pooled connection (a restart): nothing ran, so, as DBUtils does for
                # unprepared statements, reconnect and run the statement once more.
                _discard(self._conn)
                if not steady._ping_check(1):
                    raise
                continue
            break
        names_out = None if columns is None else [c["name"] for c in columns]
        return _Result(names_out, context.rows or [], context.row_count)

    def _run(self, sql: str, params: dict[str, Any]) -> _Result:
        try:
            return self._execute(sql, params)
        except pg8000.dbapi.DatabaseError as exc:  # reported by the server: the connection is still in step
            raise map_database_error(exc) from exc
        except (pg8000.dbapi.InterfaceError, OSError) as exc:
            _discard(self._conn)
            raise errors.ServiceUnavailable("Database unavailable") from exc
        except UnicodeEncodeError as exc:  # text the edge should have refused (shared.text): still a 400
            _discard(self._conn)
            raise errors.BadRequest("Text contains characters that cannot be stored") from exc
        except BaseException:
            _discard(self._conn)
            raise

    def fetch_all(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        result = self._run(sql, params)
        if result.names is None:
            return []
        names = result.names
        return [dict(zip(names, row, strict=True)) for row in result.rows]

    def fetch_one(self, sql: str, **params: Any) -> dict[str, Any] | None:
        rows = self.fetch_all(sql, **params)
        return rows[0] if rows else None

    def fetch_value(self, sql: str, **params: Any) -> Any:
        row = self.fetch_one(sql, **params)
        return None if row is None else next(iter(row.values()))

    def execute(self, sql: str, **params: Any) -> int:
        return self._run(sql, params).row_count


def _checkout() -> Any:
    try:
        return _get_pool().connection()
    except TooManyConnections as exc:
        raise errors.ServiceUnavailable("Database busy") from exc
    except (pg8000.dbapi.Error, pg8000.dbapi.InterfaceError, OSError) as exc:
        log.error("database connection failed: %s", exc)
        raise errors.ServiceUnavailable("Database unavailable") from exc


def _release(conn: Any) -> None:
    try:
        conn._con._con.viztube_used = time.monotonic()  # the pg8000 connection under DBUtils' wrappers
    except AttributeError:
        pass
    conn.close()  # back to the pool


def _commit(conn: Any) -> None:
    """COMMIT, its failures mapped like any statement's: the server's own errors by their code (a deferred
    constraint, a shutdown's 57P01), and a connection dropped under it (the postmaster killed) as a 503; the
    outcome is then unknown to us, which is what 503 tells the client (retry), where a bare error was a 500."""
    try:
        conn.commit()
    except pg8000.dbapi.DatabaseError as exc:
        raise map_database_error(exc) from exc
    except (pg8000.dbapi.InterfaceError, OSError) as exc:
        raise errors.ServiceUnavailable("Database unavailable") from exc


@contextmanager
def transaction(*, wait_for_disk: bool = True, snapshot: bool = False,
                settings: tuple[str, ...] = ()) -> Iterator[Tx]:
    """Open a transaction (or join the one already open on this thread); commit on success, roll back on error.

    `wait_for_disk=False` commits without waiting for the WAL flush (synchronous_commit off, for this
    transaction only): for writes a crash may forget without harm, such as a view or a history entry.
    `snapshot=True`: a read-only transaction whose statements all see one snapshot (REPEATABLE READ READ ONLY).
    `settings`: SET LOCAL assignments (constant text) for this transaction, sent with the BEGIN.
    """
    current: Tx | None = getattr(_local, "tx", None)
    if current is not None:
        yield current
        return
    conn = _checkout()
    tx = Tx(conn)
    try:
        # BEGIN is the first statement: if the pooled connection died meanwhile, DBUtils reconnects and
        # retries it, nothing having run yet. begin() then tells DBUtils never to retry a later statement.
        # Without parameters it goes as one simple-protocol message, SET LOCAL included: one round trip.
        begin = ["BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" if snapshot else "BEGIN"]
        begin += [f"SET LOCAL {setting}" for setting in settings]
        if not wait_for_disk:
            begin.append("SET LOCAL synchronous_commit TO off")
        tx.execute("; ".join(begin))
    except BaseException:
        _release(conn)
        raise
    conn.begin()
    _local.tx = tx
    committed = False
    try:
        yield tx
        _commit(conn)
        committed = True
    except BaseException:
        try:
            conn.rollback()
        except Exception:  # the connection is gone; the server rolled back already
            log.warning("rollback failed; discarding connection", exc_info=True)
        raise
    finally:
        _local.tx = None
        _release(conn)
    if committed:
        for callback in tx.after_commit:
            try:
                callback()
            except Exception:
                log.warning("after-commit callback failed", exc_info=True)


@contextmanager
def _statement() -> Iterator[Tx]:
    """One statement on its own (autocommit, one round trip), or inside the thread's open transaction."""
    current: Tx | None = getattr(_local, "tx", None)
    if current is not None:
        yield current
        return
    conn = _checkout()
    try:
        yield Tx(conn, single=True)
    finally:
        _release(conn)


def on_commit(callback: Callable[[], None]) -> None:
    """Run `callback` once the current transaction commits (at once when there is none)."""
    current: Tx | None = getattr(_local, "tx", None)
    if current is None:
        callback()
    else:
        current.after_commit.append(callback)


def in_transaction() -> bool:
    return getattr(_local, "tx", None) is not None


def fetch_all(sql: str, **params: Any) -> list[dict[str, Any]]:
    with _statement() as tx:
        return tx.fetch_all(sql, **params)


def fetch_one(sql: str, **params: Any) -> dict[str, Any] | None:
    with _statement() as tx:
        return tx.fetch_one(sql, **params)


def fetch_value(sql: str, **params: Any) -> Any:
    with _statement() as tx:
        return tx.fetch_value(sql, **params)


def execute(sql: str, **params: Any) -> int:
    with _statement() as tx:
        return tx.execute(sql, **params)


def _field_from_detail(detail: str) -> str | None:
    match = re.match(r"Key \((?:lower\()?([a-z_]+)\)?\)=", detail or "")
    return match.group(1) if match else None


def map_database_error(exc: Exception) -> errors.AppError:
    """Turn a PostgreSQL error into the API error it means (the only place this happens)."""
    info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    code = info.get("C", "")
    if code == "23505":  # unique_violation
        field = UNIQUE_FIELDS.get(info.get("n", "")) or _field_from_detail(info.get("D", "")) or "Field"
        return errors.Conflict(f"{field} already exists")
    if code == "23503":  # foreign_key_violation: the row referred to is gone
        return errors.NotFound("Related record not found")
    if code in ("22P02", "22003", "22007", "22008"):  # bad uuid / number / date text
        return errors.BadRequest("Invalid identifier or value")
    if code == "22021":  # character_not_in_repertoire: a NUL in text the edge should have refused (shared.text)
        return errors.BadRequest("Text contains characters that cannot be stored")
    if code == "22001":  # string_data_right_truncation
        return errors.ValidationFailed("Value too long")
    if code in ("40001", "40P01", "55P03", "57014"):  # serialization, deadlock, lock/statement timeout
        return errors.ServiceUnavailable("Database busy, please retry")
    if code.startswith("08") or code in ("57P01", "57P02", "57P03"):  # connection gone / server shutting down
        return errors.ServiceUnavailable("Database unavailable")
    log.error("unmapped database error %s: %s", code, info.get("M"))
    return errors.InternalError()
