"""The worker role (issue #13, point 3): an API server with JOBS=off queues work it never runs; `python -m
infra.worker`, a process of its own on the same node, claims it from PostgreSQL, transcodes the HLS ladder and
reports progress on the video; SIGTERM stops it cleanly."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import requests

from tests.conftest import PROJECT_DIR, jpeg_bytes, video_bytes
from tests.e2e.conftest import server_env, signed_in_user
from tests.e2e.test_faults import Lab, lab  # noqa: F401 - the fixture: a home of its own, servers killed at the end


def _status(base: str, headers: dict[str, str], video_id: str) -> dict:
    return requests.get(f"{base}/api/v2/videos/{video_id}", headers=headers, timeout=10).json()["data"]


def test_jobs_off_api_and_a_worker_process_share_the_work(lab: Lab):  # noqa: F811 - the fixture
    server = lab.launch(JOBS="off")
    headers, _ = signed_in_user(server.base)
    published = requests.post(f"{server.base}/api/v2/videos", headers=headers, timeout=120, data={"title": "w"},
                              files={"videoFile": ("c.mp4", video_bytes("mp4", seconds=3, size="320x240"),
                                                   "video/mp4"),
                                     "thumbnail": ("t.jpg", jpeg_bytes(), "image/jpeg")})
    assert published.status_code == 200, published.text
    video_id = published.json()["data"]["video"]["id"]
    time.sleep(3)  # more than the engine's poll: an API process with jobs on would have started by now
    assert _status(server.base, headers, video_id)["processingStatus"] == "PROCESSING"

    log = lab.home / "worker.log"
    with open(log, "wb") as out:
        worker = subprocess.Popen([sys.executable, "-m", "infra.worker"], cwd=PROJECT_DIR, stdout=out,
                                  stderr=subprocess.STDOUT, env=server_env(lab.home, server.port, LOG_LEVEL="INFO"))
    try:
        deadline = time.monotonic() + 60
        video = _status(server.base, headers, video_id)
        while time.monotonic() < deadline and (video["processingStatus"] == "PROCESSING" or not video["hlsUrl"]):
            time.sleep(0.5)
            video = _status(server.base, headers, video_id)
        assert video["processingStatus"] == "COMPLETED", log.read_text()
        master = requests.get(video["hlsUrl"], timeout=10)
        assert master.status_code == 200 and "#EXT-X-STREAM-INF" in master.text
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=40)
    assert code == 0, log.read_text()
    assert "worker started" in log.read_text()
