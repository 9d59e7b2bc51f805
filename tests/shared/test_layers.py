"""layers/ffmpeg: the build script makes a layer whose ffmpeg runs without the server's wheel, as on Lambda."""

import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from shared.media import probe as media_probe
from shared.settings import reset_settings
from tests.conftest import PROJECT_DIR, jpeg_bytes, multipart, video_bytes

LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
PT_INTERP = 3


@pytest.fixture(scope="module")
def layer_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("layer") / "ffmpeg-layer.zip"
    result = subprocess.run([sys.executable, "layers/ffmpeg/build.py", str(out)], cwd=PROJECT_DIR,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture
def opt(layer_zip: Path, tmp_path: Path) -> Path:
    """The layer unpacked as Lambda does it (into /opt, here a temporary folder), modes kept."""
    target = tmp_path / "opt"
    with zipfile.ZipFile(layer_zip) as archive:
        for info in archive.infolist():
            path = Path(archive.extract(info, target))
            path.chmod(info.external_attr >> 16 & 0o777)
    return target


@pytest.fixture
def lambda_like(monkeypatch: pytest.MonkeyPatch):
    """No imageio-ffmpeg (the Lambda package has none), PATH as given; the ffmpeg lookup starts afresh."""
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # `import imageio_ffmpeg` now raises ImportError
    monkeypatch.delenv("FFMPEG_BINARY", raising=False)
    reset_settings()
    media_probe.ffmpeg_exe.cache_clear()

    def with_path(path: str) -> None:
        monkeypatch.setenv("PATH", path)
        media_probe.ffmpeg_exe.cache_clear()

    yield with_path
    media_probe.ffmpeg_exe.cache_clear()


def _has_interpreter(binary: Path) -> bool:
    """Whether an ELF64 executable asks for a dynamic loader (and so for the build machine's glibc)."""
    data = binary.read_bytes()[:1 << 16]
    assert data[:4] == b"\x7fELF" and data[4] == 2, "not an ELF64 file"
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    return any(struct.unpack_from("<I", data, phoff + i * phentsize)[0] == PT_INTERP for i in range(phnum))


def test_the_layer_holds_one_static_executable_ffmpeg_within_lambdas_limits(layer_zip, opt):
    with zipfile.ZipFile(layer_zip) as archive:
        (info,) = archive.infolist()
    assert info.filename == "bin/ffmpeg"
    assert info.external_attr >> 16 & 0o111, "ffmpeg must be executable once unpacked"
    assert info.file_size + 10 * 1024 * 1024 < LAMBDA_UNZIPPED_LIMIT  # room left for the function's own zip
    binary = opt / "bin" / "ffmpeg"
    assert not _has_interpreter(binary), "a dynamically linked ffmpeg would need a newer glibc than Lambda's"
    version = subprocess.run([str(binary), "-hide_banner", "-version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("ffmpeg version")


def test_the_probe_uses_ffmpeg_from_path_when_the_wheel_is_absent(opt, lambda_like, tmp_path):
    lambda_like(f"{opt / 'bin'}:/usr/bin:/bin")
    clip = tmp_path / "clip.webm"
    clip.write_bytes(video_bytes("webm", seconds=2.0))

    facts = media_probe.probe_video(clip)

    assert media_probe.ffmpeg_exe() == str(opt / "bin" / "ffmpeg")
    assert facts.duration == pytest.approx(2.0, abs=0.1)
    assert (facts.width, facts.height) == (160, 120)


def _publish(client, headers):
    body, form = multipart({"title": "On Lambda", "description": ""},
                           {"videoFile": ("clip.mp4", video_bytes("mp4"), "video/mp4"),
                            "thumbnail": ("t.jpg", jpeg_bytes(), "image/jpeg")})
    return client.post("/api/v2/videos", body=body, headers={**headers, **form})


def test_publish_on_the_lambda_profile_probes_with_the_layers_ffmpeg(client, make_user, auth, fake_cloudinary, opt,
                                                                     lambda_like):
    lambda_like(f"{opt / 'bin'}:/usr/bin:/bin")

    response = _publish(client, auth(make_user()))

    assert response.status_code == 200, response.body
    assert response.json_body["data"]["video"]["duration"] == pytest.approx(2.0, abs=0.1)


def test_publish_without_any_ffmpeg_is_a_503_not_a_crash(client, make_user, auth, lambda_like, tmp_path):
    lambda_like(str(tmp_path))  # nothing named ffmpeg there

    response = _publish(client, auth(make_user()))

    assert response.status_code == 503
    assert response.json_body["success"] is False
    assert "ffmpeg" in response.json_body["message"]
