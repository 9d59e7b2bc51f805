"""Playable in seconds (issue #17.1) and seek previews (#17.2), with the real ffmpeg on short, small clips: the master
playlist grows as renditions finish and parses at every stage, the first rendition plays while the video is still
PROCESSING, a qualifying source is remuxed (and nothing else is), the storyboard lines up with the duration, and a
retried transcode does not make again what it published."""

from __future__ import annotations

import math
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse

import pytest
import requests

from shared import db, jobs
from shared.media import progressive
from shared.media.hls import TranscodeError
from shared.media.probe import probe_video, run_ffmpeg
from shared.services import progressive_hls
from tests.conftest import jpeg_bytes, multipart

ACCEPT = {"Accept": "*/*"}
_CLIPS: dict[str, bytes] = {}


def clip(name: str, *, seconds: float = 5.0, size: str = "320x180", video: list[str] | None = None,
         audio: bool = True, container: str = "mp4") -> bytes:
    """A test clip made once per session: testsrc2 (+ a tone), H.264 with a keyframe every second unless told."""
    if name not in _CLIPS:
        import tempfile

        out = Path(tempfile.mkdtemp(prefix="prog-")) / f"clip.{container}"
        codec = video or ["-c:v", "libx264", "-preset", "ultrafast", "-g", "15", "-pix_fmt", "yuv420p"]
        inputs = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate=15"]
        if audio:
            inputs += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
        result = run_ffmpeg(["-v", "error", "-y", *inputs, "-t", str(seconds), *codec,
                             *(["-c:a", "aac"] if audio else []), str(out)], timeout=120)
        assert result.returncode == 0, result.stderr
        _CLIPS[name] = out.read_bytes()
    return _CLIPS[name]


def _publish(client: Any, headers: dict[str, str], data: bytes) -> str:
    body, form_headers = multipart({"title": "progressive"}, {
        "videoFile": ("v.mp4", data, "video/mp4"), "thumbnail": ("t.jpg", jpeg_bytes(), "image/jpeg")})
    answer = client.post("/api/v2/videos", body=body, headers={**headers, **form_headers})
    assert answer.status_code in (200, 201), answer.json_body
    return answer.json_body["data"]["video"]["id"]


def _get(client: Any, url: str) -> Any:
    return client.get(url.split("testserver", 1)[1], headers=ACCEPT)


def _variants(master: str) -> list[tuple[dict[str, str], str]]:
    """A master playlist's variants (attributes, URI), checked to be well formed on the way (RFC 8216 §4.3.4.2)."""
    lines = master.splitlines()
    assert lines[0] == "#EXTM3U"
    out = []
    for i, line in enumerate(lines):
        if line.startswith("#EXT-X-STREAM-INF:"):
            attributes = dict(re.findall(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)', line.split(":", 1)[1]))
            assert int(attributes["BANDWIDTH"]) > 0 and re.fullmatch(r"\d+x\d+", attributes["RESOLUTION"])
            uri = lines[i + 1]
            assert uri and not uri.startswith("#")
            out.append((attributes, uri))
    return out


def _download_stream(client: Any, master_url: str, folder: Path) -> list[str]:
    """The master and every playlist and segment it lists, fetched through the API into `folder` as laid out there;
    the variant URIs."""
    master = _get(client, master_url)
    assert master.status_code == 200 and master.headers["Content-Type"] == "application/vnd.apple.mpegurl"
    text = master.body.decode()
    (folder / "master.m3u8").write_text(text)
    uris = [uri for _, uri in _variants(text)]
    for uri in uris:
        playlist_url = urljoin(master_url, uri)
        playlist = _get(client, playlist_url)
        assert playlist.status_code == 200
        local = folder / urlparse(uri).path
        local.parent.mkdir(parents=True, exist_ok=True)
        body = playlist.body.decode()
        assert "#EXT-X-PLAYLIST-TYPE:VOD" in body and body.rstrip().endswith("#EXT-X-ENDLIST")
        local.write_text(re.sub(r"\?.*$", "", body, flags=re.M))
        for line in body.splitlines():
            if line and not line.startswith("#"):
                segment = _get(client, urljoin(playlist_url, line))
                assert segment.status_code == 200 and segment.body[:1] == b"\x47"
                (local.parent / urlparse(line).path).write_bytes(segment.body)
    return uris


def _decoded_seconds(playlist: Path, stream: str = "0:v:0") -> float:
    """How much of a stream ffmpeg decodes from an HLS playlist on disk (it plays)."""
    result = run_ffmpeg(["-v", "error", "-stats", "-i", str(playlist), "-map", stream, "-f", "null", "-"],
                        timeout=60)
    assert result.returncode == 0, result.stderr
    times = re.findall(r"time=(\d+):(\d+):(\d+(?:\.\d+)?)", result.stderr)
    h, m, s = times[-1]
    return int(h) * 3600 + int(m) * 60 + float(s)


def _profile(segment: bytes, tmp: Path) -> str:
    path = tmp / "probe.ts"
    path.write_bytes(segment)
    report = run_ffmpeg(["-i", str(path)], timeout=30).stderr
    found = re.search(r"Video: h264 \(([^)]*)\)", report)
    assert found, report
    return found.group(1)


@pytest.fixture
def stages(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The stage indexes `run_stage` ran, in order."""
    ran: list[int] = []
    real = progressive.run_stage

    def spy(*args: Any, index: int, **kwargs: Any) -> None:
        ran.append(index)
        real(*args, index=index, **kwargs)

    monkeypatch.setattr(progressive, "run_stage", spy)
    return ran


def _after_each_publication(monkeypatch: pytest.MonkeyPatch, look: Callable[[], Any]) -> list[Any]:
    seen: list[Any] = []
    real = progressive_hls._publish_stage

    def spy(*args: Any, **kwargs: Any) -> None:
        real(*args, **kwargs)
        seen.append(look())

    monkeypatch.setattr(progressive_hls, "_publish_stage", spy)
    return seen


def test_a_qualifying_upload_plays_from_its_remuxed_rendition_while_the_ladder_grows(client, make_user, auth,
                                                                                      monkeypatch, tmp_path, stages):
    headers = auth(make_user())
    video_id = _publish(client, headers, clip("h264-360p", size="640x360", seconds=5.0))

    def look() -> dict[str, Any]:
        video = client.get(f"/api/v2/videos/{video_id}", headers=headers).json_body["data"]
        folder = tmp_path / f"stage{len(seen)}"
        folder.mkdir()
        uris = _download_stream(client, video["hlsUrl"], folder)
        return {"video": video, "uris": uris, "plays": {uri: _decoded_seconds(folder / uri) for uri in uris},
                "sounds": {uri: _decoded_seconds(folder / uri, "0:a:0") for uri in uris},
                "profile": {uri: _profile(next((folder / uri).parent.glob("seg_*.ts")).read_bytes(), tmp_path)
                            for uri in uris}}

    seen = _after_each_publication(monkeypatch, look)
    jobs.run_pending()

    assert stages == [0, 1]
    first, second = seen
    # Playable from the source's own rendition (copied: the encoder's Main profile would say otherwise) while the
    # 240p one is still to come: the master lists only what is finished.
    assert first["video"]["processingStatus"] == "PROCESSING" and first["video"]["playable"] is True
    assert first["video"]["renditions"] == [{"height": 240, "state": "pending"}, {"height": 360, "state": "ready"}]
    assert first["uris"] == ["360p/index.m3u8"]
    assert first["plays"] == {"360p/index.m3u8": pytest.approx(5.0, abs=0.2)}
    assert first["sounds"] == {"360p/index.m3u8": pytest.approx(5.0, abs=0.2)}  # the AAC copied along
    assert first["profile"] == {"360p/index.m3u8": "Constrained Baseline"}  # the source's, as it was uploaded
    assert second["video"]["processingStatus"] == "PROCESSING"  # the job's last step says COMPLETED
    assert second["uris"] == ["240p/index.m3u8", "360p/index.m3u8"]
    assert second["profile"] == {"240p/index.m3u8": "Main", "360p/index.m3u8": "Constrained Baseline"}
    assert all(seconds == pytest.approx(5.0, abs=0.2) for seconds in second["plays"].values())
    done = client.get(f"/api/v2/videos/{video_id}", headers=headers).json_body["data"]
    assert done["processingStatus"] == "COMPLETED" and done["playable"] is True
    assert done["renditions"] == [{"height": 240, "state": "ready"}, {"height": 360, "state": "ready"}]
    assert done["hlsUrl"] == first["video"]["hlsUrl"]  # one master URL throughout: players re-read it


def test_a_source_that_does_not_qualify_plays_from_its_lowest_rung_first(client, make_user, auth, monkeypatch,
                                                                         tmp_path, stages):
    headers = auth(make_user())
    # H.264, but a keyframe only every 16 s (x264's default at 15 fps): copied segments would be 5 s long.
    video_id = _publish(client, headers, clip("h264-long-gop", size="640x360", seconds=5.0,
                                              video=["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt",
                                                     "yuv420p"]))
    def look() -> tuple[dict[str, Any], str]:
        video = client.get(f"/api/v2/videos/{video_id}", headers=headers).json_body["data"]
        return video, _get(client, video["hlsUrl"]).body.decode()

    seen = _after_each_publication(monkeypatch, look)
    jobs.run_pending()

    assert stages == [0, 1]
    video, master = seen[0]
    assert video["renditions"] == [{"height": 240, "state": "ready"}, {"height": 360, "state": "pending"}]
    assert video["playable"] is True and video["storyboard"] is not None  # made with the first rendition
    assert [uri for _, uri in _variants(master)] == ["240p/index.m3u8"]
    assert [uri for _, uri in _variants(seen[1][1])] == ["240p/index.m3u8", "360p/index.m3u8"]


def _mislabelled(tmp: Path) -> Path:
    """An HEVC bitstream whose MP4 sample entry claims H.264 (`hev1` relabelled `avc1`)."""
    hevc = tmp / "hevc.mp4"
    hevc.write_bytes(clip("hevc", seconds=2.0, audio=False,
                          video=["-c:v", "libx265", "-preset", "ultrafast", "-g", "15", "-x265-params", "log-level=0"]))
    lie = tmp / "lie.mp4"
    lie.write_bytes(hevc.read_bytes().replace(b"hev1", b"avc1"))
    return lie


SOURCES: dict[str, tuple[Callable[[Path], Path], str | None]] = {
    "H.264 with AAC": (lambda tmp: _write(tmp, clip("h264-180p")), None),
    "H.264 alone": (lambda tmp: _write(tmp, clip("h264-silent", audio=False)), None),
    "keyframes too far apart": (lambda tmp: _write(tmp, clip("h264-gop6", seconds=7.0, video=[
        "-c:v", "libx264", "-preset", "ultrafast", "-g", "90", "-pix_fmt", "yuv420p"])), "keyframes"),
    "10-bit H.264": (lambda tmp: _write(tmp, clip("h264-10bit", seconds=2.0, video=[
        "-c:v", "libx264", "-preset", "ultrafast", "-g", "15", "-pix_fmt", "yuv420p10le"])), "High 10"),
    "VP9 in a file named .mp4": (lambda tmp: _write(tmp, clip("vp9", seconds=2.0, container="webm", video=[
        "-c:v", "libvpx-vp9", "-deadline", "realtime", "-g", "15"], audio=False)), "vp9"),
    "HEVC": (lambda tmp: _write(tmp, clip("hevc", seconds=2.0, audio=False, video=[
        "-c:v", "libx265", "-preset", "ultrafast", "-g", "15", "-x265-params", "log-level=0"])), "hevc"),
    "HEVC labelled as H.264": (_mislabelled, "profile unreadable"),
    "a bitrate no stream should carry": (lambda tmp: _write(tmp, clip("h264-fat", seconds=2.0, video=[
        "-c:v", "libx264", "-preset", "ultrafast", "-g", "15", "-pix_fmt", "yuv420p", "-qp", "2"])), "bitrate"),
}


def _write(tmp: Path, data: bytes) -> Path:
    path = tmp / "source.mp4"  # whatever the content: the name claims MP4
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("source", SOURCES, ids=list(SOURCES))
def test_remux_is_chosen_only_when_the_source_qualifies(tmp_path, source):
    make, refusal = SOURCES[source]
    path = make(tmp_path)

    decision = progressive.remux_decision(path, probe_video(path) if refusal != "profile unreadable" else
                                          progressive.VideoFacts(2.0, 320, 180, "h264", False))

    if refusal is None:
        assert decision.chosen, decision.reason
        plan = progressive.plan_stream(path, probe_video(path))
        assert [r.copy for r in plan.renditions] == [True] and plan.stages[0].renditions[0].copy
    else:
        assert not decision.chosen and refusal in decision.reason, decision.reason


def test_the_storyboard_lines_up_with_the_duration_and_follows_the_video_s_visibility(client, make_user, auth,
                                                                                     tmp_path):
    headers = auth(make_user())
    # 23 s at a frame every 2 s: 12 tiles, one sheet of 10 × 2 with 8 tiles left empty.
    video_id = _publish(client, headers, clip("h264-23s", seconds=23.0, size="192x108", audio=False))
    jobs.run_pending()
    video = client.get(f"/api/v2/videos/{video_id}", headers=headers).json_body["data"]
    board = video["storyboard"]
    assert len(board["spriteUrls"]) == 1

    track = _get(client, board["vttUrl"])
    assert track.status_code == 200 and track.headers["Content-Type"].startswith("text/vtt")
    cues = _cues(track.body.decode())
    assert len(cues) == math.ceil(23.0 / 2) == 12
    assert cues[0][0] == 0.0 and cues[-1][1] == pytest.approx(video["duration"], abs=0.01)
    assert all(a[1] == b[0] for a, b in zip(cues, cues[1:], strict=False))  # no gap, no overlap
    sprite = _get(client, urljoin(board["vttUrl"], cues[0][2]))
    assert sprite.status_code == 200 and sprite.body[:3] == b"\xff\xd8\xff"
    assert _get(client, board["spriteUrls"][0]).body == sprite.body
    luma = _tile_luma(sprite.body, tmp_path)
    assert set(luma) == {(x, y) for x in range(0, 1600, 160) for y in (0, 90)}  # a 1600x180 sheet
    used = {(x, y) for _, _, _, (x, y) in cues}
    assert all(luma[tile] > 40 for tile in used)  # every cue's tile holds a frame
    assert all(luma[tile] < 20 for tile in set(luma) - used)  # and the sheet has no frame the track misses

    # Unpublished: the track and the sheets only through the signed URLs, which the track carries on to its tiles.
    client.patch(f"/api/v2/videos/toggle/publish/{video_id}", headers=headers)
    private = client.get(f"/api/v2/videos/{video_id}", headers=headers).json_body["data"]["storyboard"]
    assert _get(client, board["vttUrl"]).status_code == 404
    assert _get(client, board["spriteUrls"][0]).status_code == 404
    signed = _get(client, private["vttUrl"]).body.decode()
    tile_uri = _cues(signed)[0][2]
    assert "signature=" in tile_uri and tile_uri.endswith("#xywh=0,0,160,90")
    assert _get(client, urljoin(private["vttUrl"], tile_uri.split("#")[0])).body == sprite.body
    assert _get(client, private["spriteUrls"][0]).status_code == 200


def _cues(text: str) -> list[tuple[float, float, str, tuple[int, int]]]:
    assert text.startswith("WEBVTT")
    out = []
    blocks = [b.splitlines() for b in text.strip().split("\n\n")[1:]]
    for timing, uri in blocks:
        start, end = (_seconds(t) for t in timing.split(" --> "))
        x, y, w, h = (int(v) for v in uri.rsplit("#xywh=", 1)[1].split(","))
        assert (w, h) == (160, 90)
        out.append((start, end, uri, (x, y)))
    return out


def _seconds(stamp: str) -> float:
    h, m, s = stamp.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def _tile_luma(jpeg: bytes, tmp: Path) -> dict[tuple[int, int], float]:
    """The mean brightness of each 160×90 tile of a sprite sheet (decoded to grey by ffmpeg)."""
    path = tmp / "sheet.jpg"
    path.write_bytes(jpeg)
    size = re.search(r", (\d+)x(\d+)", run_ffmpeg(["-i", str(path)], timeout=30).stderr)
    assert size
    width, height = int(size.group(1)), int(size.group(2))
    raw = subprocess.run([*_ffmpeg(), "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                         capture_output=True, check=True).stdout
    tiles = {}
    for y in range(0, height, 90):
        for x in range(0, width, 160):
            pixels = [raw[row * width + col] for row in range(y + 10, y + 80, 7) for col in range(x + 10, x + 150, 7)]
            tiles[(x, y)] = sum(pixels) / len(pixels)
    return tiles


def _ffmpeg() -> list[str]:
    from shared.media.probe import ffmpeg_exe

    return [ffmpeg_exe(), "-hide_banner", "-nostdin"]


def test_a_retried_transcode_resumes_without_making_again_what_it_published(client, make_user, auth, monkeypatch):
    headers = auth(make_user())
    video_id = _publish(client, headers, clip("h264-360p", size="640x360", seconds=5.0))
    real = progressive.run_stage
    ran: list[int] = []

    def dies_in_the_ladder(*args: Any, index: int, **kwargs: Any) -> None:
        ran.append(index)
        if index == 1 and ran.count(1) == 1:  # as a full disk would: after the first rendition was published
            raise TranscodeError("incomplete HLS output: 240p/index.m3u8 is cut short", transient=True)
        real(*args, index=index, **kwargs)

    monkeypatch.setattr(progressive, "run_stage", dies_in_the_ladder)
    jobs.run_pending()
    half = client.get(f"/api/v2/videos/{video_id}", headers=headers).json_body["data"]
    assert half["processingStatus"] == "PROCESSING" and half["playable"] is True
    assert half["renditions"] == [{"height": 240, "state": "processing"}, {"height": 360, "state": "ready"}]
    stream = next(Path(p) for p in _stream_files(video_id) if p.endswith("360p/index.m3u8")).parent
    published = {p.name: p.stat().st_ino for p in stream.iterdir()}

    db.execute("UPDATE jobs SET run_after = now() WHERE kind = 'transcode_hls'")
    jobs.run_pending()  # the same job, tried again

    assert ran == [0, 1, 1]  # the remux is not made again
    assert {p.name: p.stat().st_ino for p in stream.iterdir()} == published  # nor published again
    done = client.get(f"/api/v2/videos/{video_id}", headers=headers).json_body["data"]
    assert done["processingStatus"] == "COMPLETED"
    assert done["renditions"] == [{"height": 240, "state": "ready"}, {"height": 360, "state": "ready"}]
    assert [uri for _, uri in _variants(_get(client, done["hlsUrl"]).body.decode())] == ["240p/index.m3u8",
                                                                                        "360p/index.m3u8"]


def _stream_files(video_id: str) -> list[str]:
    from tests.conftest import media_files

    return [str(p) for p in media_files() if f"/hls/{video_id}/" in str(p)]


def test_renditions_never_made_say_failed_once_the_transcode_gives_up(client, make_user, auth, monkeypatch):
    headers = auth(make_user())
    video_id = _publish(client, headers, clip("h264-360p", size="640x360", seconds=5.0))
    real = progressive.run_stage

    def broken_ladder(*args: Any, index: int, **kwargs: Any) -> None:
        if index == 1:
            raise TranscodeError("transcoding failed: the encoder crashed")  # not worth retrying
        real(*args, index=index, **kwargs)

    monkeypatch.setattr(progressive, "run_stage", broken_ladder)
    jobs.run_pending()

    video = client.get(f"/api/v2/videos/{video_id}", headers=headers).json_body["data"]
    assert video["processingStatus"] == "FAILED"
    assert video["renditions"] == [{"height": 240, "state": "failed"}, {"height": 360, "state": "ready"}]


def test_on_s3_the_stream_grows_in_one_generation_and_the_storyboard_is_served_from_the_bucket(
        client, make_user, auth, s3_bucket, monkeypatch):
    headers = auth(make_user())
    video_id = _publish(client, headers, clip("h264-360p", size="640x360", seconds=5.0))
    seen = _after_each_publication(monkeypatch, lambda: sorted(k for k in s3_bucket.keys(f"hls/{video_id}/")))

    jobs.run_pending()

    video = client.get(f"/api/v2/videos/{video_id}", headers=headers).json_body["data"]
    assert video["processingStatus"] == "COMPLETED"
    generation = {key.split("/")[2] for key in seen[-1]}
    assert len(generation) == 1 and all(key.split("/")[2] in generation for keys in seen for key in keys)
    assert any(k.endswith("360p/index.m3u8") for k in seen[0]) and not any("240p/" in k for k in seen[0])
    master = requests.get(video["hlsUrl"], timeout=10)
    assert [uri for _, uri in _variants(master.text)] == ["240p/index.m3u8", "360p/index.m3u8"]
    track = requests.get(video["storyboard"]["vttUrl"], timeout=10)
    assert track.status_code == 200
    tile = _cues(track.text)[0][2]
    sheet = requests.get(urljoin(video["storyboard"]["vttUrl"], tile.split("#")[0]), timeout=10)
    assert sheet.status_code == 200 and sheet.content[:3] == b"\xff\xd8\xff"
    assert requests.get(video["storyboard"]["spriteUrls"][0], timeout=10).content == sheet.content
