"""`chalice package` produces a Lambda zip that holds functions/ and shared/ and imports on its own."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import yaml

from tests.conftest import PROJECT_DIR


def test_chalice_package_contains_functions_shared_and_dependencies(tmp_path):
    out = tmp_path / "package"
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "PYTHONDONTWRITEBYTECODE": "1"}
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "DATABASE_URL"):
        env.pop(name, None)
    chalice = Path(sys.executable).with_name("chalice")

    result = subprocess.run([str(chalice), "package", "--stage", "prod", "--template-format", "yaml", "--merge-template",
                             "infra/sam/resources.yaml", str(out)], cwd=PROJECT_DIR, env=env,
                            capture_output=True, text=True, timeout=600)

    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(out / "deployment.zip") as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "unzipped")
    for required in ("app.py", "functions/users.py", "functions/healthcheck.py", "shared/db.py", "shared/auth.py",
                     "shared/sql/users.py", "shared/storage/cloudinary_store.py", "pg8000/__init__.py",
                     "cloudinary/__init__.py", "chalice/app.py"):
        assert required in names, required
    assert not any(n.startswith(("pgserver/", "granian/", "tests/", "infra/")) for n in names)
    # Import the app from the unzipped package alone (no site-packages), as the Lambda runtime would.
    check = subprocess.run(
        [sys.executable, "-S", "-c", "import sys; sys.path.insert(0, sys.argv[1]); import app;"
         " print(len(app.app.routes))", str(tmp_path / "unzipped")],
        capture_output=True, text=True, timeout=60, env={"PATH": os.environ["PATH"], "VIZTUBE_STAGE": "prod"})
    assert check.returncode == 0, check.stderr
    assert int(check.stdout.strip()) > 10

    template = yaml.safe_load((out / "sam.yaml").read_text())
    resources = template["Resources"]
    assert resources["JobsQueue"]["Type"] == "AWS::SQS::Queue"
    sqs_events = [e for e in resources["RunQueuedJobs"]["Properties"]["Events"].values() if e["Type"] == "SQS"]
    assert sqs_events and "viztube-jobs" in json.dumps(sqs_events[0])
    assert any(e["Type"] == "Schedule" for e in resources["SweepJobs"]["Properties"]["Events"].values())
    assert resources["APIHandler"]["Properties"]["Environment"]["Variables"]["SECRETS_SSM_PATH"] == {"Ref": "SecretsPath"}
    # The ffmpeg layer (tests/shared/test_layers.py builds it) sits beside sam.yaml after `make package`.
    assert resources["FfmpegLayer"]["Type"] == "AWS::Serverless::LayerVersion"
    assert resources["FfmpegLayer"]["Properties"]["ContentUri"] == "./ffmpeg-layer.zip"
    assert {"Ref": "FfmpegLayer"} in resources["APIHandler"]["Properties"]["Layers"]
