"""An incomplete HLS output never publishes a video (issue #10): ffmpeg can exit 0 on a full disk and leave empty
playlists. The output is checked first; a failed check is retried, and FAILED once the attempts are spent.
Real ffmpeg throughout: a real ladder to damage, and a real ffmpeg run behind a wrapper that empties the playlists."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from shared import db, jobs
from shared.media import probe as media_probe
from shared.media.hls import TranscodeError, check_output, ladder_for, transcode
from shared.media.probe import probe_video
from shared.settings import reset_settings
from tests.conftest import TEST_HOME, jpeg_bytes, multipart, video_bytes


@pytest.fixture(scope="module")
def good_output(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """A whole HLS output of a 2 s clip with two renditions (240p, 360p), made once."""
    folder = tmp_path_factory.mktemp("hls")
    source = folder / "clip.mp4"
    source.write_bytes(video_bytes("mp4", seconds=2.0, size="640x360"))
    rungs = transcode(source, folder / "out", probe_video(source))
    return folder / "out", rungs


def _blank(path: Path) -> None:
    path.write_bytes(b"")


def _drop_rendition(out: Path) -> None:
    master = out / "master.m3u8"
    master.write_text("".join(line for line in master.read_text().splitlines(keepends=True)
                              if not line.startswith("360p/")))


def _cut_short(path: Path) -> None:
    """Stopped after the first segment: no #EXT-X-ENDLIST, as when the writer ran out of room."""
    text = path.read_text()
    start = text.index("#EXTINF")
    path.write_text(text[:start] + "\n".join(text[start:].split("\n")[:2]) + "\n")


DAMAGE: dict[str, Callable[[Path], None]] = {
    "empty master": lambda out: _blank(out / "master.m3u8"),
    "a rendition missing from the master": _drop_rendition,
    "an empty rendition playlist": lambda out: _blank(out / "360p" / "index.m3u8"),
    "a playlist cut short": lambda out: _cut_short(out / "240p" / "index.m3u8"),
    "a missing segment": lambda out: (out / "240p" / "seg_000.ts").unlink(),
    "an empty segment": lambda out: _blank(out / "360p" / "seg_000.ts"),
    "an empty poster": lambda out: _blank(out / "poster.jpg"),
}


def test_a_whole_output_passes_the_check(good_output):
    out, rungs = good_output

    check_output(out, rungs)

    assert [r.name for r in rungs] == [r.name for r in ladder_for(360)] == ["240p", "360p"]


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_any_gap_in_the_output_fails_the_check_as_worth_retrying(good_output, tmp_path, damage):
    out, rungs = good_output
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    DAMAGE[damage](copy)

    with pytest.raises(TranscodeError, match="incomplete HLS output") as raised:
        check_output(copy, rungs)
    assert raised.value.transient


@pytest.fixture
def full_disk_ffmpeg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """FFMPEG_BINARY set to the real ffmpeg behind a wrapper that, after an HLS run, empties every rendition's
    playlist and still exits with ffmpeg's status (0), as a full disk can leave them."""
    real = media_probe.ffmpeg_exe()
    wrapper = tmp_path / "ffmpeg"
    wrapper.write_text(f"""#!/bin/sh
"{real}" "$@"
status=$?
for last in "$@"; do :; done
case "$last" in
  */index.m3u8) for playlist in "${{last%/*/index.m3u8}}"/*/index.m3u8; do : > "$playlist"; done ;;
esac
exit $status
""")
    wrapper.chmod(0o755)
    monkeypatch.setenv("FFMPEG_BINARY", str(wrapper))
    reset_settings()
    media_probe.ffmpeg_exe.cache_clear()
    yield
    media_probe.ffmpeg_exe.cache_clear()


def test_a_transcode_with_empty_playlists_is_retried_then_failed_never_completed(client, make_user, auth,
                                                                                full_disk_ffmpeg):
    headers = auth(make_user())
    body, form_headers = multipart({"title": "full disk"}, {
        "videoFile": ("v.mp4", video_bytes("mp4", seconds=2.0, size="160x120"), "video/mp4"),
        "thumbnail": ("t.jpg", jpeg_bytes(), "image/jpeg")})
    video = client.post("/api/v2/videos", body=body, headers={**headers, **form_headers}).json_body["data"]["video"]

    def state() -> tuple[Any, ...]:
        data = client.get(f"/api/v2/videos/{video['id']}", headers=headers).json_body["data"]
        job = db.fetch_one("SELECT status, last_error FROM jobs WHERE kind = 'transcode_hls'")
        assert job is not None
        return data["processingStatus"], data["hlsUrl"], job["status"], job["last_error"]

    jobs.run_pending()  # probe, then the transcode: ffmpeg exits 0 with empty playlists

    status, hls_url, job_status, error = state()
    assert (status, hls_url, job_status) == ("PROCESSING", None, "pending")  # to be tried again, not published
    assert "incomplete HLS output" in error and "120p/index.m3u8" in error
    assert list((TEST_HOME / "media" / "hls").glob("*")) == []  # nothing half-made left, nothing published

    # The last attempt fails the same way: the job gives up and the video says why.
    db.execute("UPDATE jobs SET attempts = max_attempts - 1, run_after = now() WHERE kind = 'transcode_hls'")
    jobs.run_pending()

    status, hls_url, job_status, error = state()
    assert (status, hls_url, job_status) == ("FAILED", None, "failed")
    processing_error = client.get(f"/api/v2/videos/{video['id']}", headers=headers).json_body["data"]["processingError"]
    assert processing_error.startswith("incomplete HLS output")
