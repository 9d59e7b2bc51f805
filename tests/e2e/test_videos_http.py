"""Videos end to end over real HTTP: the streaming upload path, the job worker, ranges, concurrency."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import pytest
import requests

from tests.conftest import jpeg_bytes, video_bytes
from tests.e2e.conftest import SERVER_HOME, signed_in_user


@pytest.fixture
def bearer(server):
    return signed_in_user(server, "v")[0]


def _publish(server, headers, title="e2e clip", data=None):
    return requests.post(f"{server}/api/v2/videos", headers=headers, timeout=120, data={"title": title},
                         files={"videoFile": ("clip.mp4", data or video_bytes("mp4", seconds=3, size="320x240"),
                                              "video/mp4"),
                                "thumbnail": ("t.jpg", jpeg_bytes(), "image/jpeg")})


def _staging_empty() -> bool:
    staging = SERVER_HOME / "staging"
    return not staging.exists() or not any(staging.iterdir())


def test_publish_streams_to_disk_and_the_worker_completes_processing(server, bearer):
    response = _publish(server, bearer)

    assert response.status_code == 200, response.text
    video = response.json()["data"]["video"]
    assert video["processingStatus"] == "PROCESSING"
    deadline = time.monotonic() + 20
    status = None
    while time.monotonic() < deadline:
        status = requests.get(f"{server}/api/v2/videos/{video['id']}", headers=bearer,
                              timeout=10).json()["data"]["processingStatus"]
        if status != "PROCESSING":
            break
        time.sleep(0.3)
    assert status == "COMPLETED"
    assert _staging_empty()


def test_a_browser_can_seek_the_video_with_range_requests(server, bearer):
    data = video_bytes("mp4", seconds=3, size="320x240")
    video = _publish(server, bearer, data=data).json()["data"]["video"]
    url = server + urlparse(video["videoFileUrl"]).path

    head = requests.head(url, timeout=10)
    middle = requests.get(url, headers={"Range": "bytes=1000-4999"}, timeout=10)
    tail = requests.get(url, headers={"Range": "bytes=-500"}, timeout=10)

    assert head.headers["Content-Type"] == "video/mp4"
    assert head.headers["Accept-Ranges"] == "bytes" and int(head.headers["Content-Length"]) == len(data)
    assert middle.status_code == 206 and middle.content == data[1000:5000]
    assert tail.content == data[-500:]


def test_four_concurrent_uploads_all_land(server, bearer):
    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(lambda i: _publish(server, bearer, title=f"parallel {i}"), range(4)))

    assert [r.status_code for r in responses] == [200] * 4
    ids = {r.json()["data"]["video"]["id"] for r in responses}
    assert len(ids) == 4
    assert _staging_empty()


def test_a_truncated_upload_leaves_nothing_behind(server, bearer):
    before = requests.get(f"{server}/api/v2/videos?limit=100", headers=bearer, timeout=10).json()["data"]["totalDocs"]
    body, content_type = requests.models.RequestEncodingMixin._encode_files(
        {"videoFile": ("clip.mp4", video_bytes("mp4"), "video/mp4"), "thumbnail": ("t.jpg", jpeg_bytes(), "image/jpeg")},
        {"title": "cut off"})
    host, port = urlparse(server).hostname, urlparse(server).port
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(f"POST /api/v2/videos HTTP/1.1\r\nHost: x\r\nAuthorization: {bearer['Authorization']}\r\n"
                     f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n".encode())
        sock.sendall(body[: len(body) // 2])
        sock.shutdown(socket.SHUT_WR)
        sock.recv(1024)
    time.sleep(0.5)

    after = requests.get(f"{server}/api/v2/videos?limit=100", headers=bearer, timeout=10).json()["data"]["totalDocs"]
    assert after == before
    assert _staging_empty()


def test_a_direct_upload_over_http_streams_to_disk_and_registers(server, bearer):
    data, thumb = video_bytes("mp4", seconds=3, size="320x240"), jpeg_bytes()
    signed = [requests.post(f"{server}/api/v2/uploads", headers=bearer, timeout=10,
                            json={"kind": kind, "contentType": ctype, "size": len(blob)}).json()["data"]
              for kind, ctype, blob in (("video", "video/mp4", data), ("thumbnail", "image/jpeg", thumb))]
    for answer, blob in zip(signed, (data, thumb), strict=True):
        url = server + answer["url"].split(urlparse(answer["url"]).netloc, 1)[1]
        put = requests.request(answer["method"], url, data=blob, headers=answer["headers"], timeout=30)
        assert put.status_code == 200, put.text

    response = requests.post(f"{server}/api/v2/videos", headers=bearer, timeout=30,
                             json={"title": "direct", "videoUploadId": signed[0]["uploadId"],
                                   "thumbnailUploadId": signed[1]["uploadId"]})

    assert response.status_code == 200, response.text
    assert response.json()["data"]["video"]["duration"] == pytest.approx(3.0, abs=0.1)


def test_an_unpublished_video_streams_only_through_its_signed_url(server, bearer):
    video = _publish(server, bearer).json()["data"]["video"]
    requests.patch(f"{server}/api/v2/videos/toggle/publish/{video['id']}", headers=bearer, timeout=10)
    signed = requests.get(f"{server}/api/v2/videos/{video['id']}", headers=bearer,
                          timeout=10).json()["data"]["videoFileUrl"]
    plain = server + urlparse(video["videoFileUrl"]).path
    signed_local = server + signed.split(urlparse(signed).netloc, 1)[1]

    assert requests.get(plain, timeout=10).status_code == 404
    ranged = requests.get(signed_local, headers={"Range": "bytes=0-99"}, timeout=10)
    assert ranged.status_code == 206 and len(ranged.content) == 100
    assert ranged.headers["Cache-Control"].startswith("private")
