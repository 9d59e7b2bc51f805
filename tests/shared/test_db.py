"""The database layer: transactions, error mapping, reconnects, migrations."""

import os
import subprocess
import sys
import threading

import pg8000.native
import pytest

from shared import db, errors
from shared.migrate import migrate, migration_files
from tests.conftest import PROJECT_DIR


def test_a_failed_transaction_leaves_nothing_behind(make_user):
    with pytest.raises(RuntimeError), db.transaction() as tx:
        tx.execute("INSERT INTO users (username, email, fullname, password_hash) VALUES ('tx', 'tx@x.io', 'T', 'h')")
        raise RuntimeError("step two failed")

    assert db.fetch_value("SELECT count(*) FROM users WHERE username = 'tx'") == 0


def test_nested_transactions_join_the_outer_one(make_user):
    with pytest.raises(RuntimeError), db.transaction():
        db.execute("INSERT INTO users (username, email, fullname, password_hash) VALUES ('in', 'in@x.io', 'I', 'h')")
        with db.transaction() as inner:
            assert inner.fetch_value("SELECT count(*) FROM users WHERE username = 'in'") == 1
        raise RuntimeError("outer fails")

    assert db.fetch_value("SELECT count(*) FROM users WHERE username = 'in'") == 0


def test_unique_violations_become_409_naming_the_field(make_user):
    make_user(username="dup", email="dup@example.com")

    with pytest.raises(errors.Conflict) as info:
        make_user(username="dup", email="other@example.com")

    assert info.value.message == "username already exists"
    with pytest.raises(errors.Conflict) as info:
        make_user(username="other", email="dup@example.com")
    assert info.value.message == "email already exists"


def test_bad_values_become_400_not_500():
    with pytest.raises(errors.BadRequest):
        db.fetch_one("SELECT id FROM users WHERE id = CAST(:id AS uuid)", id="not-a-uuid")


def test_the_pool_reconnects_after_its_connections_are_dropped():
    assert db.fetch_value("SELECT 1") == 1
    params = db.parse_database_url(db.database_url())
    killer = pg8000.native.Connection(**params.connect_kwargs())
    killed = killer.run("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                        " AND application_name = 'viztube'")
    killer.close()
    assert killed[0][0] >= 1

    assert db.fetch_value("SELECT 2") == 2


def test_the_pool_is_safe_across_threads():
    results: list[int] = []

    def work(n: int) -> None:
        for _ in range(20):
            results.append(db.fetch_value("SELECT CAST(:n AS int)", n=n))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(results) == sorted(n for n in range(16) for _ in range(20))


def test_migrating_twice_changes_nothing():
    assert migrate() == []


def test_a_migration_runs_without_the_request_timeouts_in_utc_and_whole_or_not_at_all(tmp_path):
    """A migration on a large database may run for minutes: it gets no statement timeout (the pool's requests have
    30 s) and a UTC session; and when one file fails, the files before it in the same run are not kept either."""
    (tmp_path / "9001_check.sql").write_text(
        "CREATE TABLE migrate_probe AS SELECT current_setting('statement_timeout') AS timeout,"
        " current_setting('TimeZone') AS zone;")
    (tmp_path / "9002_broken.sql").write_text("SELECT no_such_function();")
    try:
        with pytest.raises(Exception, match="no_such_function"):
            migrate(tmp_path)
        assert db.fetch_value("SELECT to_regclass('migrate_probe') IS NULL")  # rolled back with the broken one
        (tmp_path / "9002_broken.sql").unlink()

        assert migrate(tmp_path) == ["9001_check.sql"]
        assert db.fetch_one("SELECT timeout, zone FROM migrate_probe") == {"timeout": "0", "zone": "UTC"}
        assert db.fetch_value("SELECT current_setting('statement_timeout')") == "30s"  # the pool's, unchanged
    finally:
        db.execute("DROP TABLE IF EXISTS migrate_probe")
        db.execute("DELETE FROM schema_migrations WHERE name LIKE '900%'")


def test_two_processes_can_migrate_a_fresh_database_at_once():
    base = os.environ["DATABASE_URL"]
    params = db.parse_database_url(base)
    admin = pg8000.native.Connection(**{**params.connect_kwargs(), "database": "postgres"})
    admin.run('DROP DATABASE IF EXISTS "viztube_migrate_race" WITH (FORCE)')
    admin.run('CREATE DATABASE "viztube_migrate_race"')
    url = base.replace(f"/{params.database}?", "/viztube_migrate_race?")
    env = {**os.environ, "DATABASE_URL": url}
    try:
        procs = [subprocess.Popen([sys.executable, "-m", "shared.migrate"], cwd=PROJECT_DIR, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(2)]
        outputs = [p.communicate(timeout=60)[0].decode() for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outputs
        check = pg8000.native.Connection(**{**params.connect_kwargs(), "database": "viztube_migrate_race"})
        names = [r[0] for r in check.run("SELECT name FROM schema_migrations ORDER BY name")]
        check.close()
        assert names == [p.name for p in migration_files()]
        assert sum("none (up to date)" in out for out in outputs) == 1
    finally:
        admin.run('DROP DATABASE IF EXISTS "viztube_migrate_race" WITH (FORCE)')
        admin.close()


def test_database_urls_are_parsed_for_sockets_and_tls():
    sock = db.parse_database_url("postgresql://postgres@/viztube?host=/tmp/pg&port=5433")
    rds = db.parse_database_url("postgresql://app:p%40ss@db.example.com:5432/viztube?sslmode=require")

    assert (sock.unix_sock, sock.database, sock.ssl_context) == ("/tmp/pg/.s.PGSQL.5433", "viztube", False)
    assert (rds.host, rds.port, rds.user, rds.password, rds.ssl_context) == ("db.example.com", 5432, "app", "p@ss", True)


def test_the_memoised_parameter_rewrite_matches_pg8000s_own():
    query = ("SELECT :a::text AS x, CAST(:b AS int) WHERE :a IS NOT NULL AND ':c' <> :b -- :d in a comment\n"
             "AND x = :e")
    args = {"a": "one", "b": 2, "e": 5, "unused": 9}

    assert db._cached_convert_paramstyle("named", query, args) == db._convert_paramstyle("named", query, args)
    assert db._cached_convert_paramstyle("named", query, {**args, "a": "two"})[1][0] == "two"
    assert db.fetch_value("SELECT CAST(:n AS int) + CAST(:n AS int)", n=21) == 42


def test_timestamptz_values_come_back_as_aware_datetimes_and_odd_ones_still_parse():
    import datetime as dt

    row = db.fetch_one("SELECT timestamptz '2026-11-24 08:07:10.208123+00' AS exact,"
                       " timestamptz '2026-11-24 08:07:10+00' AS whole, timestamptz 'infinity' AS forever")

    assert row["exact"] == dt.datetime(2026, 11, 24, 8, 7, 10, 208123, tzinfo=dt.UTC)
    assert row["whole"] == dt.datetime(2026, 11, 24, 8, 7, 10, tzinfo=dt.UTC)
    assert row["forever"] == "infinity"  # pg8000's own parser, as before


def test_every_column_type_we_convert_ourselves_comes_back_as_pg8000_would_give_it():
    """shared.db's own converters (orjson for json/jsonb, a direct uuid, builtins for the rest) against
    pg8000's, value for value, on one row of each type (NULLs stay None)."""
    import uuid

    import pg8000.converters as pg

    sql = ("SELECT uuid '0b5e7d0c-3a4e-4c1f-9d2b-6f1a2b3c4d5e' AS id, '{\"a\": [1, 2.5, null], \"b\": \"é\"}'::jsonb AS doc,"
           " '{\"big\": 123456789012345678901234567890}'::json AS big, true AS yes, false AS no,"
           " 7::int2 AS small, 2147483647::int4 AS mid, 9223372036854775807::int8 AS large, 'text'::text AS t,"
           " 'v'::varchar AS v, 'n'::name AS n, NULL::uuid AS none")
    row = db.fetch_one(sql)
    assert row is not None
    expected = {"id": pg.uuid_in("0b5e7d0c-3a4e-4c1f-9d2b-6f1a2b3c4d5e"), "doc": {"a": [1, 2.5, None], "b": "é"},
                "big": {"big": 123456789012345678901234567890}, "yes": True, "no": False, "small": 7,
                "mid": 2147483647, "large": 9223372036854775807, "t": "text", "v": "v", "n": "n", "none": None}
    assert row == expected
    assert type(row["id"]) is uuid.UUID and str(row["id"]) == "0b5e7d0c-3a4e-4c1f-9d2b-6f1a2b3c4d5e"
    assert hash(row["id"]) == hash(expected["id"]) and row["id"].version == 4
    assert {type(row[k]) for k in ("yes", "no")} == {bool}
@pytest.mark.parametrize("bad", ["\ud800", "a\x00b", b"\x00".decode() + "\udfff"])
def test_text_a_connection_cannot_send_never_poisons_the_pool(bad):
    # pg8000 writes Parse/Describe before it encodes the parameters and reads their replies after: a value it
    # cannot encode used to leave those replies unread, and the next statement on the pooled connection read
    # them as its own (a correct login then answered "Invalid credentials").
    with pytest.raises(errors.BadRequest) as info:
        db.fetch_value("SELECT length(CAST(:v AS text))", v=bad)

    assert info.value.status_code == 400
    for n in range(20):  # every later statement gets its own answer, with and without a transaction
        assert db.fetch_value("SELECT CAST(:n AS int) + 1 AS next", n=n) == n + 1
        with db.transaction() as tx:
            assert tx.fetch_one("SELECT CAST(:n AS int) * 2 AS twice, 'x' AS tag", n=n) == {"twice": 2 * n, "tag": "x"}


def test_a_failure_inside_a_transaction_discards_that_connection_too():
    with pytest.raises(errors.BadRequest), db.transaction() as tx:
        tx.execute("SELECT 1")
        tx.fetch_value("SELECT CAST(:v AS text)", v="\udc80")

    assert db.fetch_value("SELECT 41 + 1") == 42
