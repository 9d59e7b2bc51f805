"""Captions and resume positions over real HTTP (issue #17, points 3 and 4): the production server hands a caption
body of its own type (text/vtt, application/x-subrip) or a multipart form to the handler, and serves the WebVTT
back as text/vtt."""

from __future__ import annotations

import requests

from tests.conftest import jpeg_bytes, video_bytes
from tests.e2e.conftest import signed_in_user

SRT = "1\r\n00:00:00,500 --> 00:00:02,000\r\nHello <i>there</i>\r\n"
WEBVTT = "WEBVTT\n\n1\n00:00:00.500 --> 00:00:02.000\nHello <i>there</i>\n"


def test_captions_and_progress_through_the_production_server(server):
    headers, _ = signed_in_user(server, "cap")
    published = requests.post(f"{server}/api/v2/videos", headers=headers, timeout=120, data={"title": "captioned"},
                              files={"videoFile": ("clip.mp4", video_bytes("mp4", seconds=2, size="160x120"),
                                                   "video/mp4"), "thumbnail": ("t.jpg", jpeg_bytes(), "image/jpeg")})
    assert published.status_code == 200, published.text
    video_id = published.json()["data"]["video"]["id"]
    base = f"{server}/api/v2/videos/{video_id}"

    raw = requests.put(f"{base}/captions/en-gb?label=English%20(UK)", data=SRT.encode(), timeout=30,
                       headers={**headers, "Content-Type": "application/x-subrip"})
    form = requests.put(f"{base}/captions/fr", headers=headers, timeout=30, data={"label": "Français"},
                        files={"captionFile": ("fr.vtt", WEBVTT.encode(), "text/vtt")})
    bad = requests.put(f"{base}/captions/de", data=b"WEBVTT\n\n00:01.000 -> 00:02.000\nx\n", timeout=30,
                       headers={**headers, "Content-Type": "text/vtt"})
    served = requests.get(f"{base}/captions/en-GB", headers=headers, timeout=30)
    progress = requests.post(f"{base}/progress", json={"currentTime": 1.25}, headers=headers, timeout=30)
    detail = requests.get(base, headers=headers, timeout=30).json()["data"]

    assert (raw.status_code, form.status_code) == (201, 201), (raw.text, form.text)
    assert bad.status_code == 400 and "line 3" in bad.json()["message"]
    assert served.status_code == 200 and served.headers["Content-Type"] == "text/vtt; charset=utf-8"
    assert served.text == WEBVTT
    assert [(t["language"], t["label"]) for t in detail["captions"]] == [("en-GB", "English (UK)"), ("fr", "Français")]
    track = requests.get(detail["captions"][1]["url"], timeout=30)  # a <track> element's fetch: no token
    assert track.status_code == 200 and track.text == WEBVTT
    assert progress.status_code == 200 and progress.json()["data"]["saved"] is True
    assert detail["watchPosition"] == {"currentTime": 1.25, "finished": False}
