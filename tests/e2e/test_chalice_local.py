"""`chalice local` serves the same app on the embedded defaults (database started and migrated on first use)."""

import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import requests

from infra.pg_supervisor import stop_postmaster
from tests.conftest import PROJECT_DIR, png_bytes
from tests.e2e.conftest import free_port, server_env, stop, wait_until_up


def test_chalice_local_runs_on_the_embedded_defaults():
    home = Path(tempfile.mkdtemp(prefix="viztube-local-"))
    port = free_port()
    log = home / "local.log"
    chalice = Path(sys.executable).with_name("chalice")
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(chalice), "local", "--no-autoreload", "--port", str(port), "--stage", "dev"],
                                cwd=PROJECT_DIR, env=server_env(home, port), stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, proc, log)
        registered = requests.post(f"{base}/api/v2/user/register", timeout=30,
                                   data={"fullname": "Local", "username": "localuser", "email": "l@example.com",
                                         "password": "Passw0rdX"},
                                   files={"avatar": ("a.png", png_bytes(), "image/png")}, headers={"Connection": "close"})
        login = requests.post(f"{base}/api/v2/user/login", json={"username": "localuser", "password": "Passw0rdX"},
                              timeout=30, headers={"Connection": "close"})

        assert registered.status_code == 201, registered.text
        assert login.status_code == 200
        assert (home / "pgdata" / "PG_VERSION").exists()
    finally:
        stop(proc, signal.SIGINT)
        # `chalice local` leaves the embedded database it started running after Ctrl-C (pgserver stops it only
        # at a clean interpreter exit): stop it here, and remove the scratch home, so a test run leaves nothing.
        stop_postmaster(home / "pgdata")
        shutil.rmtree(home, ignore_errors=True)
