"""Resumable uploads over real HTTP (issue #13, points 2 and 7): tus-py-client, a tus client from PyPI, drives the
server `make run` starts; a connection is cut in the middle of a chunk and the server is killed mid-upload, and
the upload still ends with the bytes it started with, registered as a video and served back identical."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import signal
import socket
from urllib.parse import urlparse

import requests
from tusclient.client import TusClient

from tests.conftest import jpeg_bytes, video_bytes
from tests.e2e.conftest import signed_in_user
from tests.e2e.test_faults import Lab, lab  # noqa: F401 - the fixture: a home of its own, servers killed at the end

CHUNK = 64 * 1024


def _uploader(base: str, headers: dict[str, str], data: bytes, *, url: str | None = None, kind: str = "video",
              filetype: str = "video/mp4"):
    client = TusClient(f"{base}/api/v2/uploads/tus", headers=headers)
    return client.uploader(file_stream=io.BytesIO(data), chunk_size=CHUNK, url=url, upload_checksum=True,
                           metadata={"kind": kind, "filetype": filetype, "filename": f"clip.{filetype[6:]}"})


def _offset(url: str, headers: dict[str, str]) -> int:
    head = requests.head(url, headers={**headers, "Tus-Resumable": "1.0.0"}, timeout=10)
    assert head.status_code == 200, head.text
    return int(head.headers["Upload-Offset"])


def _cut_mid_chunk(url: str, headers: dict[str, str], offset: int, chunk: bytes) -> None:
    """Send a PATCH whose body stops half-way, then drop the connection (a train entering a tunnel)."""
    target = urlparse(url)
    with socket.create_connection((target.hostname, target.port), timeout=10) as sock:
        lines = [f"PATCH {target.path} HTTP/1.1", f"Host: {target.netloc}", "Tus-Resumable: 1.0.0",
                 "Content-Type: application/offset+octet-stream", f"Upload-Offset: {offset}",
                 f"Content-Length: {len(chunk)}", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
        sock.sendall("\r\n".join(lines).encode() + chunk[: len(chunk) // 2])
        sock.shutdown(socket.SHUT_RDWR)


def test_an_upload_survives_a_cut_connection_and_a_killed_server(lab: Lab):  # noqa: F811 - the fixture
    server = lab.launch()
    headers, _ = signed_in_user(server.base)
    video = video_bytes("mp4", seconds=4.0, size="320x240")
    assert len(video) > 4 * CHUNK
    uploader = _uploader(server.base, headers, video)
    uploader.upload_chunk()
    uploader.upload_chunk()
    url = uploader.url
    assert _offset(url, headers) == 2 * CHUNK

    _cut_mid_chunk(url, headers, 2 * CHUNK, video[2 * CHUNK: 3 * CHUNK])
    assert _offset(url, headers) == 2 * CHUNK  # nothing half-written counts

    os.killpg(server.proc.pid, signal.SIGKILL)  # mid-upload, no goodbye
    server.proc.wait()
    restarted = lab.launch()
    url = url.replace(server.base, restarted.base)
    assert _offset(url, headers) == 2 * CHUNK
    resumed = _uploader(restarted.base, headers, video, url=url)
    assert resumed.offset == 2 * CHUNK  # the client asked the server where to go on from
    resumed.upload()
    thumb = _uploader(restarted.base, headers, jpeg_bytes(), kind="thumbnail", filetype="image/jpeg")
    thumb.upload()

    published = requests.post(f"{restarted.base}/api/v2/videos", headers=headers, timeout=30, json={
        "title": "Resumed", "description": "over a bad network", "videoUploadId": url.rsplit("/", 1)[1],
        "thumbnailUploadId": thumb.url.rsplit("/", 1)[1]})
    assert published.status_code == 200, published.text
    served = requests.get(published.json()["data"]["video"]["videoFileUrl"].replace(server.base, restarted.base),
                          headers=headers, timeout=30)
    assert hashlib.sha256(served.content).hexdigest() == hashlib.sha256(video).hexdigest()
    assert not list((lab.home / "resumable").iterdir())


def test_a_corrupted_chunk_is_refused_and_sent_again(lab: Lab):  # noqa: F811 - the fixture
    server = lab.launch()
    headers, _ = signed_in_user(server.base)
    video = video_bytes("mp4")
    uploader = _uploader(server.base, headers, video)
    uploader.upload_chunk()
    wrong = base64.b64encode(hashlib.sha1(b"not these bytes").digest()).decode()

    refused = requests.patch(uploader.url, data=video[CHUNK: 2 * CHUNK], timeout=10, headers={
        **headers, "Tus-Resumable": "1.0.0", "Content-Type": "application/offset+octet-stream",
        "Upload-Offset": str(CHUNK), "Upload-Checksum": f"sha1 {wrong}"})

    assert refused.status_code == 460 and refused.headers["Tus-Resumable"] == "1.0.0"
    assert _offset(uploader.url, headers) == CHUNK
    uploader.upload()
    assert _offset(uploader.url, headers) == len(video)
