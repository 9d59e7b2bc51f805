"""Build the ffmpeg Lambda layer: a zip holding `bin/ffmpeg`, which Lambda unpacks to /opt/bin (on PATH).

    python layers/ffmpeg/build.py build/package/ffmpeg-layer.zip

The binary is taken from the pinned imageio-ffmpeg wheel (requirements.txt beside this file, hash-checked),
downloaded for manylinux2014 x86_64 whatever machine builds it. `make package` runs this next to
`chalice package`; infra/sam/resources.yaml publishes the zip as a layer and gives it to the API function,
whose multipart publish probes videos with ffmpeg (shared/media_probe.py finds it on PATH).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
BINARY_PREFIX = "imageio_ffmpeg/binaries/ffmpeg-"
LAYER_PATH = "bin/ffmpeg"
EXECUTABLE = 0o100755 << 16  # a regular file, rwxr-xr-x, as zip "external attributes"


def download_wheel(into: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                    "--platform", "manylinux2014_x86_64", "--python-version", "3.11", "--implementation", "py",
                    "--require-hashes", "-r", str(HERE / "requirements.txt"), "-d", str(into)], check=True)
    wheels = list(into.glob("imageio_ffmpeg-*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"expected one imageio-ffmpeg wheel, found {[w.name for w in wheels]}")
    return wheels[0]


def build(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ffmpeg-layer-") as tmp:
        wheel = download_wheel(Path(tmp))
        with zipfile.ZipFile(wheel) as source:
            names = [n for n in source.namelist() if n.startswith(BINARY_PREFIX) and not n.endswith(".md")]
            if len(names) != 1:
                raise SystemExit(f"expected one ffmpeg binary in {wheel.name}, found {names}")
            partial = out.with_name(out.name + ".part")
            with source.open(names[0]) as binary, zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as layer:
                entry = zipfile.ZipInfo(LAYER_PATH, date_time=(2024, 1, 1, 0, 0, 0))
                entry.external_attr = EXECUTABLE
                entry.compress_type = zipfile.ZIP_DEFLATED
                with layer.open(entry, "w", force_zip64=True) as target:
                    while chunk := binary.read(1 << 20):
                        target.write(chunk)
            partial.replace(out)  # a failed build never leaves a half-written layer behind
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="where to write the layer zip")
    zip_path = build(parser.parse_args().out)
    print(f"{zip_path}: {zip_path.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
