"""The Lambda package, built once per test run: `chalice package --stage prod` with the merged SAM template, as
`make package` builds it (tests/shared/test_packaging.py checks it, tests/shared/test_lambda_emulation.py runs it)."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR


@dataclass(frozen=True)
class LambdaPackage:
    out: Path  # deployment.zip and sam.yaml, as `make package` leaves them in build/package
    unzipped: Path  # deployment.zip unpacked, as Lambda unpacks it into /var/task

    @property
    def template(self) -> Path:
        return self.out / "sam.yaml"


def _build(root: Path) -> LambdaPackage:
    out, unzipped = root / "package", root / "unzipped"
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "PYTHONDONTWRITEBYTECODE": "1"}
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "DATABASE_URL"):
        env.pop(name, None)
    chalice = Path(sys.executable).with_name("chalice")
    result = subprocess.run([str(chalice), "package", "--stage", "prod", "--template-format", "yaml",
                             "--merge-template", "infra/sam/resources.yaml", str(out)], cwd=PROJECT_DIR, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(out / "deployment.zip") as archive:
        archive.extractall(unzipped)
    return LambdaPackage(out, unzipped)


@pytest.fixture(scope="session")
def lambda_package(tmp_path_factory: pytest.TempPathFactory) -> LambdaPackage:
    """Built once per run. Under xdist every worker has its own session: they share the run's temporary root
    (the parent of each worker's base directory) and the first to get the lock builds for all."""
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "lambda-package"
    root.mkdir(exist_ok=True)
    with open(root / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            done = root / "built"
            if done.exists():
                return LambdaPackage(root / "package", root / "unzipped")
            package = _build(root)
            done.touch()
            return package
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
