"""A COMMIT that meets a dropped connection is a 503 (ServiceUnavailable), not a bare driver error (a 500).

Against the suite's real PostgreSQL: the connection is dropped for real, either by the server
(pg_terminate_backend, what a shutdown or an administrator does) or under the driver (the socket shut down,
as when the postmaster is killed and the kernel closes its end).
"""

from __future__ import annotations

import os
import socket

import pg8000.native
import pytest

from shared import db, errors


def _terminate(backend_pid: int) -> None:
    """End a backend from another session, as an administrator (or a stopping server) would."""
    other = pg8000.native.Connection(**db.parse_database_url(os.environ["DATABASE_URL"]).connect_kwargs())
    try:
        other.run("SELECT pg_terminate_backend(:pid, 5000)", pid=backend_pid)
    finally:
        other.close()


def test_a_commit_on_a_connection_the_server_ended_is_a_503() -> None:
    with pytest.raises(errors.ServiceUnavailable), db.transaction() as tx:
        tx.fetch_value("CREATE TEMP TABLE fault_probe (n int)")  # something for COMMIT to do
        _terminate(tx.fetch_value("SELECT pg_backend_pid()"))
    assert db.fetch_value("SELECT 1") == 1  # the pool replaced the connection: the next statement works


def test_a_commit_whose_socket_is_gone_is_a_503() -> None:
    with pytest.raises(errors.ServiceUnavailable), db.transaction() as tx:
        tx.fetch_value("CREATE TEMP TABLE fault_probe (n int)")
        raw = tx._conn._con._con  # the pg8000 connection under DBUtils' wrappers
        raw._usock.shutdown(socket.SHUT_RDWR)  # the peer is gone: COMMIT can neither be sent nor answered
    assert db.fetch_value("SELECT 1") == 1
