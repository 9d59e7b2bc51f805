"""`make bench`'s driver ceiling (infra/bench/driver_replay.py): captured statements replayed through shared.db."""

import json
import uuid

import pytest

from infra.bench import driver_replay
from infra.bench.pg_replay import Capture, Statement
from shared import db, errors


def _captured(*statements: Statement) -> list:
    """What the bench hands the replay process: captures as JSON, read back as it reads them."""
    return [driver_replay._prepare(request) for request in json.loads(driver_replay.to_json([Capture(list(statements), 0)]))]


def test_captured_placeholders_become_named_parameters_outside_quotes():
    [request] = _captured(Statement("SELECT $1::int + $2::int, '$1' AS literal", {1: "40", 2: "2"}),
                          Statement("SELECT $1::text IS NULL AS missing", {1: None}))

    assert request == [("SELECT :p1::int + :p2::int, '$1' AS literal", {"p1": "40", "p2": "2"}),
                       ("SELECT :p1::text IS NULL AS missing", {"p1": None})]


def test_a_request_is_replayed_with_its_own_parameters_in_its_transaction():
    name = f"replay-{uuid.uuid4()}"
    db.execute("INSERT INTO counters (name, value) VALUES (:name, 0)", name=name)
    requests = _captured(Statement("BEGIN"),
                         Statement("UPDATE counters SET value = value + 1 WHERE name = $1", {1: name}),
                         Statement("COMMIT"))
    try:
        result = driver_replay.run(requests, threads=2, duration=0.3)

        replays = db.fetch_value("SELECT value FROM counters WHERE name = :name", name=name)
        assert replays >= 1 + result["rps"] * 0.3 * 0.5  # the check run, then the timed ones (elapsed >= duration)
        assert result["cpu_us"] > 0
    finally:
        db.execute("DELETE FROM counters WHERE name = :name", name=name)


def test_a_statement_that_cannot_run_stops_the_replay_before_timing():
    requests = _captured(Statement("SELECT * FROM no_such_table WHERE id = $1", {1: "1"}))

    with pytest.raises(errors.InternalError) as raised:
        driver_replay.run(requests, threads=1, duration=0.1)
    assert "no_such_table" in str(raised.value.__cause__)  # the server's own complaint, for the bench to print
