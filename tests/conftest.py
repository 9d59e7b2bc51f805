"""Test set-up: a real PostgreSQL (embedded pgserver unless TEST_DATABASE_URL is given), migrated once per
session, one database per xdist worker, tables truncated after each test; Chalice's own test client."""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import tempfile
import uuid
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
# Everything a run writes goes under one directory that the run's first process (xdist's controller, or the only
# process) makes and, with the embedded database, removes at the end (pytest_unconfigure): TMPDIR points there, so
# temporary files of tests, servers and tools do too. pytest's own tmp_path stays where it was (its artefacts, the
# browser tests' screenshots among them, are kept for the last 3 runs).
OWNS_RUN_DIR = "VIZTUBE_TEST_RUN_DIR" not in os.environ
os.environ.setdefault("PYTEST_DEBUG_TEMPROOT", tempfile.gettempdir())
# pgserver's inter-process lock lives in the runtime directory (platformdirs falls back to TMPDIR/runtime-<uid>):
# kept where it always was, not in the run's directory, which its exit handler would otherwise make again.
if "XDG_RUNTIME_DIR" not in os.environ:
    _runtime = Path(tempfile.gettempdir()) / f"runtime-{os.getuid()}"
    _runtime.mkdir(mode=0o700, exist_ok=True)
    _runtime.chmod(0o700)  # platformdirs takes no other mode
    os.environ["XDG_RUNTIME_DIR"] = str(_runtime)
RUN_DIR = Path(os.environ.get("VIZTUBE_TEST_RUN_DIR") or tempfile.mkdtemp(prefix="viztube-tests-"))
os.environ.update({"VIZTUBE_TEST_RUN_DIR": str(RUN_DIR), "TMPDIR": str(RUN_DIR / "tmp")})
(RUN_DIR / "tmp").mkdir(exist_ok=True)
tempfile.tempdir = None  # read TMPDIR again
TEST_HOME = Path(tempfile.mkdtemp(prefix=f"viztube-test-{WORKER}-"))
PGDATA = Path(os.environ.get("VIZTUBE_TEST_PGDATA") or RUN_DIR / "pgdata")

# Settings are read from the environment, so it is set before any project module is imported.
os.environ.update({
    "VIZTUBE_STAGE": "test",
    "VIZTUBE_HOME": str(TEST_HOME),
    "BCRYPT_ROUNDS": "4",
    "STORAGE": "local",
    "LOG_LEVEL": "WARNING",
    "PUBLIC_URL": "http://testserver",
    "CORS_ORIGINS": "https://app.example.com",
    "RATE_LIMITS": "off",  # tests/functions/test_rate_limits.py turns them on
})
for _name in ("DATABASE_URL", "CLOUDINARY_URL", "REDIS_URL", "ACCESS_TOKEN_SECRET", "REFRESH_TOKEN_SECRET"):
    os.environ.pop(_name, None)


def _database_url() -> str:
    base = os.environ.get("TEST_DATABASE_URL")
    name = f"viztube_test_{WORKER}"
    from shared.embedded_pg import ensure_embedded

    if base:
        import pg8000.native

        from shared.db import parse_database_url

        params = parse_database_url(base)
        conn = pg8000.native.Connection(**params.connect_kwargs())
        conn.run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.run(f'CREATE DATABASE "{name}"')
        conn.close()
        return base.rsplit("/", 1)[0] + "/" + name + ("?" + base.split("?", 1)[1] if "?" in base else "")
    url = ensure_embedded(PGDATA, database="postgres")
    import pg8000.native

    from shared.db import parse_database_url

    conn = pg8000.native.Connection(**parse_database_url(url).connect_kwargs())
    conn.run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.run(f'CREATE DATABASE "{name}"')
    conn.close()
    return url.replace("/postgres?", f"/{name}?")


os.environ["DATABASE_URL"] = _database_url()

from shared import cache, db, ratelimit  # noqa: E402
from shared.migrate import migrate  # noqa: E402
from shared.services import job_handlers  # noqa: E402, F401 - the job kinds, registered as the app's wiring does
from shared.settings import reset_settings  # noqa: E402
from shared.storage import reset_storage  # noqa: E402

migrate()
TABLES = [r["tablename"] for r in db.fetch_all(
    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    # counters is kept by triggers (TRUNCATE videos resets it), not wiped: its rows are part of the schema.
    " AND tablename NOT IN ('schema_migrations', 'counters')")]


def pytest_unconfigure(config: pytest.Config) -> None:
    """The run's first process, last: stop the embedded database (whichever process started it; a crashed worker's
    handle would keep pgserver from stopping it) and remove the run's directory."""
    if not OWNS_RUN_DIR or hasattr(config, "workerinput"):
        return
    from infra.pg_supervisor import stop_postmaster
    from shared.embedded_pg import release_embedded

    db.close_pool()
    release_embedded(PGDATA)
    stop_postmaster(PGDATA)
    for data_dir in _postmasters_under(RUN_DIR):  # a server a test killed leaves its database running
        stop_postmaster(data_dir)
    shutil.rmtree(RUN_DIR, ignore_errors=True)


def _postmasters_under(root: Path) -> list[Path]:
    import psutil

    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        args = proc.info["cmdline"] or []
        if proc.info["name"] == "postgres" and "-D" in args[:-1]:
            data_dir = Path(args[args.index("-D") + 1])
            if data_dir.is_relative_to(root):
                found.append(data_dir)
    return found


@pytest.fixture(autouse=True)
def _clean_state(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if request.node.get_closest_marker("seeded_module"):  # the module's own fixture seeds once and cleans up
        return
    db.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
    shutil.rmtree(TEST_HOME / "media", ignore_errors=True)
    shutil.rmtree(TEST_HOME / "resumable", ignore_errors=True)
    reset_settings()
    reset_storage()
    ratelimit.reset()
    cache.reset()


@pytest.fixture
def rate_limits(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Turn the rate limits on for this test (the suite runs with them off), each named one overridden:
    `rate_limits(REPORTS="2/hour")` sets RATE_LIMIT_REPORTS."""
    def turn_on(**limits: str) -> None:
        monkeypatch.setenv("RATE_LIMITS", "on")
        for name, value in limits.items():
            monkeypatch.setenv(f"RATE_LIMIT_{name}", value)
        reset_settings()
        ratelimit.reset()

    return turn_on


@pytest.fixture
def sent_statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SQL text of every statement shared.db sends while the test runs (each one a round trip)."""
    sent: list[str] = []
    original = db.Tx._run

    def run(self: db.Tx, sql: str, params: dict[str, Any]) -> Any:
        sent.append(sql)
        return original(self, sql, params)

    monkeypatch.setattr(db.Tx, "_run", run)
    return sent


@pytest.fixture(scope="session")
def app() -> Any:
    import app as app_module

    return app_module.app


@pytest.fixture
def chalice_client(app: Any) -> Iterator[Any]:
    """Chalice's test client: .http for routes, .lambda_ and .events for event handlers."""
    from chalice.test import Client

    with Client(app, stage_name="test", project_dir=str(PROJECT_DIR)) as c:
        yield c


@pytest.fixture
def client(chalice_client: Any) -> Any:
    return chalice_client.http


# ------------------------------------------------------------------------------ media fixtures


def png_bytes(width: int = 2, height: int = 2, extra: int = 0) -> bytes:
    """A real, decodable PNG (optionally padded with an ancillary chunk to reach a size)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    body = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw))
    if extra:
        body += chunk(b"teXt", b"pad\x00" + b"x" * extra)
    return b"\x89PNG\r\n\x1a\n" + body + chunk(b"IEND", b"")


_CLIPS: dict[str, bytes] = {}


def video_bytes(fmt: str = "mp4", seconds: float = 2.0, size: str = "160x120") -> bytes:
    """A real, short video made once per session by the bundled ffmpeg (testsrc2 + a sine tone)."""
    key = f"{fmt}-{seconds}-{size}"
    if key not in _CLIPS:
        from shared.media.probe import run_ffmpeg

        out = Path(tempfile.mkdtemp(prefix="clip-")) / f"clip.{fmt}"
        codecs = {"mp4": ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
                          "-movflags", "+faststart"],
                  "mov": ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"],
                  "webm": ["-c:v", "libvpx-vp9", "-b:v", "200k", "-deadline", "realtime", "-c:a", "libopus"],
                  "mkv": ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"]}[fmt]
        result = run_ffmpeg(["-loglevel", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=15",
                             "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", str(seconds),
                             *codecs, str(out)], timeout=120)
        assert result.returncode == 0, result.stderr
        _CLIPS[key] = out.read_bytes()
    return _CLIPS[key]


def jpeg_bytes() -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"


def multipart(fields: dict[str, str] | None = None,
              files: dict[str, tuple[str, bytes, str]] | None = None) -> tuple[bytes, dict[str, str]]:
    """Encode a multipart/form-data body with urllib3's encoder; return (body, headers)."""
    from urllib3 import encode_multipart_formdata

    parts: list[Any] = list((fields or {}).items())
    parts += [(name, spec) for name, spec in (files or {}).items()]
    body, content_type = encode_multipart_formdata(parts)
    return body, {"Content-Type": content_type}


# ------------------------------------------------------------------------------ factories

DEFAULT_PASSWORD = "Secret123"


@pytest.fixture
def make_user() -> Callable[..., dict[str, Any]]:
    """Create a user straight through shared.sql (no HTTP); returns the row plus its password."""
    from shared.auth import hash_password
    from shared.sql import users as users_sql

    def factory(username: str | None = None, email: str | None = None, password: str = DEFAULT_PASSWORD,
                fullname: str = "Test User") -> dict[str, Any]:
        name = username or f"user{uuid.uuid4().hex[:10]}"
        row = users_sql.insert(username=name, email=email or f"{name}@example.com", fullname=fullname,
                               password_hash=hash_password(password), avatar="http://testserver/a.png",
                               avatar_public_id=None, cover_image="", cover_image_public_id=None)
        return {**row, "password": password}

    return factory


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """A real redis-server process on a free port (make test installs Debian's redis-server when missing)."""
    import socket
    import subprocess
    import time

    exe = shutil.which("redis-server")
    assert exe, "redis-server is not installed: run `make test`, which installs it (apt-get install redis-server)"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(params=["memory", "redis"])
def store_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test against the in-process store and against a real Redis."""
    if request.param == "redis":
        url = request.getfixturevalue("redis_server")
        import redis

        redis.Redis.from_url(url).flushdb()
        monkeypatch.setenv("REDIS_URL", url)
    reset_settings()
    return request.param


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto in server mode (a real HTTP endpoint for boto3), with dummy credentials; yields its URL."""
    import socket

    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint}.items():
        monkeypatch.setenv(name, value)
    yield endpoint
    server.stop()


class S3Bucket:
    """The bucket of a STORAGE=s3 test, on moto's server: `use` configures the store (S3_ADDRESSING, MEDIA_BASE_URL,
    ...) and returns it; `client` and `keys` show what the bucket really holds."""

    def __init__(self, name: str, endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
        import boto3

        self.name, self.endpoint, self._monkeypatch = name, endpoint, monkeypatch
        self.client = boto3.client("s3", endpoint_url=endpoint)

    def use(self, **env: str) -> Any:
        from shared.storage import get_storage

        for variable, value in env.items():
            self._monkeypatch.setenv(variable, value)
        reset_settings()
        reset_storage()
        return get_storage()

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


@pytest.fixture
def s3_bucket(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> S3Bucket:
    """STORAGE=s3 with a fresh bucket on moto's server, reached as http://localhost:<port>. Names under .localhost
    resolve to it, as a wildcard DNS record does for a real endpoint, so virtual-host addressing
    (<bucket>.localhost) works too."""
    import socket

    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and (host == "localhost" or host.endswith(".localhost")):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    import requests

    # moto keeps one state per process, whichever server serves it: start from an empty one.
    requests.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    endpoint = moto_server.replace("127.0.0.1", "localhost")
    bucket = S3Bucket("viztube-media", endpoint, monkeypatch)
    bucket.client.create_bucket(Bucket=bucket.name)
    # Published media are delivered from the bucket's own URLs: anyone may read the objects tagged
    # visibility=public, i.e. a published video's media (and avatars, covers), nobody an unpublished one's, through
    # the policy the README gives, which moto is taught to evaluate as S3 does.
    from tests.fakes.s3_policy import install, public_media_policy

    install(monkeypatch)
    bucket.client.put_bucket_policy(Bucket=bucket.name, Policy=json.dumps(public_media_policy(bucket.name)))
    bucket.use(STORAGE="s3", S3_BUCKET=bucket.name, S3_ENDPOINT_URL=endpoint)
    return bucket


@pytest.fixture
def fake_cloudinary(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """STORAGE=cloudinary, with the real SDK pointed at a local fake Cloudinary API."""
    from tests.fakes.cloudinary_server import FakeCloudinary

    server = FakeCloudinary().start()
    monkeypatch.setenv("STORAGE", "cloudinary")
    monkeypatch.setenv("CLOUDINARY_URL", server.cloudinary_url)
    reset_settings()
    reset_storage()
    yield server
    server.stop()


@pytest.fixture
def storage_fails_for(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Make local storage refuse files of one kind (say "thumbnail"), as a storage outage midway would."""
    from shared import errors
    from shared.storage.local import LocalStorage

    def arm(failing_kind: str) -> None:
        real = LocalStorage.save

        def save(self: Any, path: Any, *, kind: str, mime: str, **options: Any) -> Any:
            if kind == failing_kind:
                raise errors.StorageFailed(f"Error uploading {kind}")
            return real(self, path, kind=kind, mime=mime, **options)

        monkeypatch.setattr(LocalStorage, "save", save)

    return arm


@pytest.fixture
def make_video() -> Callable[..., dict[str, Any]]:
    """A video row straight through shared.sql (no files): for tests about everything around videos."""
    from shared.sql import videos as videos_sql

    def factory(owner: dict[str, Any], title: str = "clip", published: bool = True, views: int = 0) -> dict[str, Any]:
        row = videos_sql.insert(user_id=owner["id"], title=title, description="d",
                                video_file_url="http://testserver/api/v2/media/videos/x.mp4",
                                video_file_public_id=f"videos/{uuid.uuid4().hex}.mp4",
                                thumbnail_url=f"http://testserver/thumb-{title}.jpg",
                                thumbnail_public_id=f"thumbnails/{uuid.uuid4().hex}.jpg", duration=10.0,
                                is_published=published)
        if views:
            db.execute("UPDATE videos SET views = :v WHERE id = :id", v=views, id=row["id"])
        return {**row, "views": views}

    return factory


@pytest.fixture
def sign_in() -> Callable[[dict[str, Any]], dict[str, str]]:
    """Open a session for a user (as login does) and return Bearer headers for it."""
    from shared.services.accounts import _start_session

    def factory(user: dict[str, Any]) -> dict[str, str]:
        signed = _start_session({k: v for k, v in user.items() if k != "password"}, user_agent="pytest", ip="127.0.0.1")
        return {"Authorization": f"Bearer {signed.access_token}", "X-Refresh-Token": signed.refresh_token}

    return factory


@pytest.fixture
def auth(sign_in: Callable[..., dict[str, str]]) -> Callable[[dict[str, Any]], dict[str, str]]:
    def factory(user: dict[str, Any]) -> dict[str, str]:
        headers = sign_in(user)
        headers.pop("X-Refresh-Token")
        return headers

    return factory


def register_form(**overrides: Any) -> tuple[bytes, dict[str, str]]:
    fields = {"fullname": "Ada Lovelace", "username": "ada", "email": "ada@example.com", "password": "Passw0rdX"}
    files: dict[str, tuple[str, bytes, str]] = {"avatar": ("me.png", png_bytes(), "image/png")}
    for key, value in overrides.items():
        if key in ("avatar", "coverImage"):
            if value is None:
                files.pop(key, None)
            else:
                files[key] = value
        elif value is None:
            fields.pop(key, None)
        else:
            fields[key] = value
    return multipart(fields, files)


def media_files(home: Path | None = None) -> list[Path]:
    root = (home or TEST_HOME) / "media"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


__all__ = ["io", "jpeg_bytes", "media_files", "multipart", "png_bytes", "register_form", "video_bytes"]


@pytest.fixture
def receiver() -> Iterator[Any]:
    """A local webhook receiver (tests/fakes/webhook_receiver.py), stopped at the end."""
    from tests.fakes.webhook_receiver import Receiver

    server = Receiver()
    yield server
    server.server.shutdown()
    server.server.server_close()
