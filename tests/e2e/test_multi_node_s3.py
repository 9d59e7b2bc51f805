"""N API nodes + M workers on S3 (issue #13, point 7): two API processes (`python -m infra.serve`, JOBS=off) and one
worker process (`python -m infra.worker`), each with a VIZTUBE_HOME of its own (no shared disk), one PostgreSQL, one
redis-server and one S3 endpoint (moto's server). A video uploaded through node A is transcoded by the worker from the
bucket, played (master playlist, a rendition, a segment) through node B, published and unpublished, deleted through
node B, and then nothing of it is left in the bucket or on any node's disk."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from tests.conftest import PGDATA, PROJECT_DIR, WORKER, jpeg_bytes, video_bytes
from tests.e2e.conftest import free_port, server_env, signed_in_user, stop, until, wait_until_up

BUCKET = "viztube-media"
SECRETS = {"ACCESS_TOKEN_SECRET": "a" * 40, "REFRESH_TOKEN_SECRET": "r" * 40, "MEDIA_URL_SECRET": "m" * 40}
# What a node may keep in its home: its identity and its logs, and the development mailbox (mail/*.eml: the nodes
# run without SMTP_URL, so account mails are written there); no media, no upload, no scratch file.
NODE_FILES = {"node-id", "secrets.json"}
MAILBOX = "mail"


@dataclass
class Cluster:
    root: Path
    s3: Any
    env: dict[str, str]
    nodes: dict[str, str] = field(default_factory=dict)  # name → base URL
    homes: dict[str, Path] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")

    def leftovers(self) -> dict[str, list[str]]:
        """Every file a node's home holds beyond its identity: media, uploads, scratch copies, HLS output."""
        found = {}
        for name, home in self.homes.items():
            files = [str(p.relative_to(home)) for p in home.rglob("*") if p.is_file() and p.name not in NODE_FILES
                     and p.relative_to(home).parts[0] != MAILBOX]
            if files:
                found[name] = files
        return found


DATABASE = f"viztube_multinode_{WORKER}"


def _admin(*statements: str) -> str:
    """Run statements on the suite's PostgreSQL cluster; its URL (database postgres)."""
    import pg8000.native

    from shared.db import parse_database_url
    from shared.embedded_pg import ensure_embedded

    admin = ensure_embedded(PGDATA, database="postgres")
    conn = pg8000.native.Connection(**parse_database_url(admin).connect_kwargs())
    for statement in statements:
        conn.run(statement)
    conn.close()
    return admin


def _database_url() -> str:
    """A database of its own in the suite's PostgreSQL cluster, shared by every process of the deployment."""
    admin = _admin(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)', f'CREATE DATABASE "{DATABASE}"')
    return admin.replace("/postgres?", f"/{DATABASE}?")


@pytest.fixture(scope="module")
def cluster(redis_server: str) -> Iterator[Cluster]:
    from moto.server import ThreadedMotoServer

    root = Path(tempfile.mkdtemp(prefix="viztube-multinode-"))
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    endpoint = f"http://127.0.0.1:{port}"
    requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
    aws = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    s3 = boto3.client("s3", endpoint_url=endpoint, **{k.lower(): v for k, v in aws.items() if k != "AWS_DEFAULT_REGION"},
                      region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    # Published media come straight from the bucket here (a CDN in production): anyone may read its objects.
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}]}))
    env = {**aws, **SECRETS, "AWS_ENDPOINT_URL": endpoint, "DATABASE_URL": _database_url(), "REDIS_URL": redis_server,
           "STORAGE": "s3", "S3_BUCKET": BUCKET, "S3_ENDPOINT_URL": endpoint, "S3_ADDRESSING": "path",
           "WEB_CONCURRENCY": "1", "WEB_THREADS": "4", "LOG_LEVEL": "INFO"}
    cluster = Cluster(root, s3, env)
    try:
        for name in ("a", "b"):
            home, port = root / f"node-{name}", free_port()
            cluster.homes[name] = home
            with open(root / f"{name}.log", "wb") as out:
                proc = subprocess.Popen([sys.executable, "-m", "infra.serve"], cwd=PROJECT_DIR, stdout=out,
                                        stderr=subprocess.STDOUT, env=server_env(home, port, JOBS="off", **env))
            cluster.procs[name] = proc
            cluster.nodes[name] = f"http://127.0.0.1:{port}"
        for name, base in cluster.nodes.items():
            wait_until_up(base, cluster.procs[name], root / f"{name}.log")
        home = root / "worker"
        cluster.homes["worker"] = home
        with open(root / "worker.log", "wb") as out:
            cluster.procs["worker"] = subprocess.Popen(
                [sys.executable, "-m", "infra.worker"], cwd=PROJECT_DIR, stdout=out, stderr=subprocess.STDOUT,
                env=server_env(home, free_port(), **env))
        until(lambda: "worker started" in cluster.log("worker") or cluster.procs["worker"].poll() is not None, 60,
               "the worker starts", lambda: cluster.log("worker"))
        assert cluster.procs["worker"].poll() is None, cluster.log("worker")
        yield cluster
    finally:
        for proc in cluster.procs.values():
            if proc.poll() is None:
                stop(proc)
        moto.stop()
        _admin(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        shutil.rmtree(root, ignore_errors=True)


def _video(cluster: Cluster, node: str, headers: dict[str, str], video_id: str) -> dict[str, Any]:
    answer = requests.get(f"{cluster.nodes[node]}/api/v2/videos/{video_id}", headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def _processed(cluster: Cluster, node: str, headers: dict[str, str], video_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        video = _video(cluster, node, headers, video_id)
        return video if video["processingStatus"] != "PROCESSING" and video["hlsUrl"] else None

    video = until(done, 120, f"video {video_id} processed by the worker",
                   lambda: cluster.log("worker")[-4000:])
    assert video["processingStatus"] == "COMPLETED", (video, cluster.log("worker")[-4000:])
    return video


def _get(url: str, **kwargs: Any) -> requests.Response:
    answer = requests.get(url, timeout=10, **kwargs)
    assert answer.status_code == 200, (url, answer.status_code, answer.text[:300])
    return answer


def _play(master_url: str, **kwargs: Any) -> tuple[str, bytes]:
    """What a player does: the master playlist, one rendition's playlist, its first segment."""
    master = _get(master_url, **kwargs).text
    assert "#EXT-X-STREAM-INF" in master, master
    rendition_uri = next(line for line in master.splitlines() if line and not line.startswith("#"))
    rendition_url = requests.compat.urljoin(master_url, rendition_uri)
    rendition = _get(rendition_url, **kwargs).text
    segment_uri = next(line for line in rendition.splitlines() if line and not line.startswith("#"))
    segment = _get(requests.compat.urljoin(rendition_url, segment_uri), **kwargs).content
    assert segment[:1] == b"\x47" and len(segment) > 1000  # an MPEG-TS segment (sync byte 0x47)
    return rendition_uri, segment


def _deleted_everywhere(cluster: Cluster, node: str, headers: dict[str, str], video: dict[str, Any]) -> None:
    deleted = requests.delete(f"{cluster.nodes[node]}/api/v2/videos/{video['id']}", headers=headers, timeout=30)
    assert deleted.status_code == 200, deleted.text
    mine = {video["videoFilePublicId"], video["thumbnailPublicId"]}

    def gone() -> bool:
        return not [k for k in cluster.keys() if k in mine or k.startswith(f"hls/{video['id']}/")]

    until(gone, 60, f"video {video['id']} removed from the bucket", lambda: str(cluster.keys()))
    assert requests.get(f"{cluster.nodes['a']}/api/v2/videos/{video['id']}", headers=headers,
                        timeout=10).status_code == 404


def test_uploaded_on_a_transcoded_by_the_worker_played_and_deleted_on_b(cluster: Cluster):
    headers, user = signed_in_user(cluster.nodes["a"], "mn")
    clip = video_bytes("mp4", seconds=3, size="320x240")
    published = requests.post(f"{cluster.nodes['a']}/api/v2/videos", headers=headers, timeout=120,
                              data={"title": "across nodes", "description": "d"},
                              files={"videoFile": ("c.mp4", clip, "video/mp4"),
                                     "thumbnail": ("t.jpg", jpeg_bytes(), "image/jpeg")})
    assert published.status_code == 200, published.text
    video_id = published.json()["data"]["video"]["id"]

    video = _processed(cluster, "b", headers, video_id)  # the worker did it: both API nodes run JOBS=off

    assert _get(video["videoFileUrl"]).content == clip  # the bucket's URL, from node B
    assert _get(video["thumbnailUrl"]).content == jpeg_bytes()
    assert video["hlsUrl"].startswith(cluster.env["S3_ENDPOINT_URL"])  # published: straight from the bucket
    _play(video["hlsUrl"])
    assert _get(video["posterUrl"]).content[:3] == b"\xff\xd8\xff"
    assert cluster.keys(f"hls/{video_id}/")  # the ladder lives in the bucket only

    # Unpublished through node B: its stream then comes through B's media route, signed, segments presigned.
    toggled = requests.patch(f"{cluster.nodes['b']}/api/v2/videos/toggle/publish/{video_id}", headers=headers,
                             timeout=10)
    assert toggled.status_code == 200 and toggled.json()["data"]["isPublished"] is False
    private = _video(cluster, "b", headers, video_id)
    assert private["hlsUrl"].startswith(f"{cluster.nodes['b']}/api/v2/media/hls/{video_id}/")
    assert "signature=" in private["hlsUrl"] and "X-Amz-Signature=" in private["videoFileUrl"]
    _play(private["hlsUrl"], headers={"Accept": "*/*"})
    unsigned = requests.get(private["hlsUrl"].split("?", 1)[0], headers={"Accept": "*/*"}, timeout=10)
    assert unsigned.status_code in (403, 404)

    _deleted_everywhere(cluster, "b", headers, private)

    avatar = user["avatar"].rsplit("/", 1)[-1]
    assert [k for k in cluster.keys() if not k.endswith(avatar)] == []  # the user's avatar is all that is left
    assert cluster.leftovers() == {}
    assert all(proc.poll() is None for proc in cluster.procs.values())


def test_a_resumable_upload_started_on_a_finishes_on_b_and_goes_the_same_way(cluster: Cluster):
    """tus across nodes: created and half sent through node A, finished through node B (whose disk never saw the
    first half), registered through B, then played and deleted like any video."""
    from tusclient.client import TusClient

    headers, _ = signed_in_user(cluster.nodes["a"], "tus")
    clip = video_bytes("mp4", seconds=3, size="320x240")
    chunk = max(len(clip) // 3, 1)
    metadata = {"kind": "video", "filetype": "video/mp4", "filename": "clip.mp4"}
    on_a = TusClient(f"{cluster.nodes['a']}/api/v2/uploads/tus", headers=headers).uploader(
        file_stream=io.BytesIO(clip), chunk_size=chunk, metadata=metadata, upload_checksum=True)
    on_a.upload_chunk()
    assert 0 < on_a.offset < len(clip)
    url_on_b = on_a.url.replace(cluster.nodes["a"], cluster.nodes["b"])
    if not url_on_b.startswith(cluster.nodes["b"]):  # a path-only Location
        url_on_b = cluster.nodes["b"] + on_a.url
    on_b = TusClient(f"{cluster.nodes['b']}/api/v2/uploads/tus", headers=headers).uploader(
        file_stream=io.BytesIO(clip), chunk_size=chunk, metadata=metadata, upload_checksum=True, url=url_on_b)
    on_b.upload()
    upload_id = url_on_b.rstrip("/").rsplit("/", 1)[-1]

    thumb = requests.post(f"{cluster.nodes['b']}/api/v2/uploads", headers=headers, timeout=10,
                          json={"kind": "thumbnail", "contentType": "image/jpeg", "size": len(jpeg_bytes())})
    assert thumb.status_code == 201, thumb.text
    signed = thumb.json()["data"]
    sent = requests.request(signed["method"], signed["url"], data=jpeg_bytes(), headers=signed.get("headers") or {},
                            timeout=10)
    assert sent.status_code in (200, 204), sent.text
    registered = requests.post(f"{cluster.nodes['b']}/api/v2/videos", headers=headers, timeout=60, json={
        "title": "resumed on b", "description": "d", "videoUploadId": upload_id,
        "thumbnailUploadId": signed["uploadId"]})
    assert registered.status_code in (200, 201), registered.text
    video_id = registered.json()["data"]["video"]["id"]

    video = _processed(cluster, "a", headers, video_id)

    assert _get(video["videoFileUrl"]).content == clip
    _play(video["hlsUrl"])
    _deleted_everywhere(cluster, "b", headers, video)
    assert cluster.leftovers() == {}
