"""A job worker in a process of its own, for tests about nodes and dead workers: the real engine of
shared.jobs, run with whatever VIZTUBE_HOME (node), DATABASE_URL and JOB_LEASE the test gives it.

    python -m tests.e2e.job_worker serve   # start_worker() as the server does, until killed
    python -m tests.e2e.job_worker drain   # run_pending() once; print {"ran": n}

It registers one job kind of its own, `test_hold`: the handler notes which process started it, then runs
until the test removes the `hold` file in the job's folder, so a test can kill its worker mid-job.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from shared import jobs
from shared.logs import configure_logging
from shared.services import job_handlers  # noqa: F401 - the job kinds, registered as the app's wiring does
from shared.settings import get_settings


@jobs.handler("test_hold")
def hold(payload: dict[str, Any]) -> None:
    folder = Path(payload["dir"])
    (folder / f"started-{os.getpid()}").write_text(str(time.time()))
    while (folder / "hold").exists():
        time.sleep(0.05)


def main(mode: str) -> int:
    configure_logging(get_settings().log_level)
    if mode == "drain":
        print(json.dumps({"ran": jobs.run_pending()}), flush=True)
        return 0
    jobs.start_worker()
    (get_settings().home / f"worker-{os.getpid()}.ready").touch()
    while True:  # the worker threads are daemons: this thread keeps the process alive until it is killed
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
