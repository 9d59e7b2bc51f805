"""Resumable (tus) uploads with STORAGE=s3 (issue #13, point 2), through the API: chunks of 1 MiB and of 7 MiB become
the bucket's own multipart upload, a server restart in the middle goes on from the state in the upload's row, and
once the upload completes the object is the source, byte for byte, with nothing of it on the API host's disk."""

import base64
import hashlib
import os

import pytest

from shared import db
from shared.settings import get_settings, reset_settings
from shared.storage import reset_storage
from tests.conftest import video_bytes

MIB = 1024 * 1024
TUS = {"Tus-Resumable": "1.0.0"}


def _on_disk() -> list:
    """What an upload may have left on this host's disk: chunk files, staged bodies, scratch work."""
    settings = get_settings()
    left = [p for base in (settings.resumable_dir, settings.staging_dir) if base.exists() for p in base.iterdir()]
    scratch = settings.scratch_dir
    return left + ([p for folder in scratch.iterdir() for p in folder.iterdir()] if scratch.exists() else [])


@pytest.mark.parametrize("chunk", [MIB, 7 * MIB])
def test_a_large_upload_in_chunks_survives_a_restart_and_ends_as_the_source(client, make_user, auth, s3_bucket,
                                                                              chunk):
    headers = auth(make_user())
    source = video_bytes("mp4") + os.urandom(15 * MIB)
    meta = f"kind {base64.b64encode(b'video').decode()},filetype {base64.b64encode(b'video/mp4').decode()}"
    created = client.post("/api/v2/uploads/tus", headers={**headers, **TUS, "Upload-Length": str(len(source)),
                                                          "Upload-Metadata": meta})
    path = created.headers["Location"].split("testserver", 1)[1]
    restarted = False

    for offset in range(0, len(source), chunk):
        data = source[offset:offset + chunk]
        answer = client.patch(path, body=data, headers={
            **headers, **TUS, "Content-Type": "application/offset+octet-stream", "Upload-Offset": str(offset),
            "Upload-Checksum": "sha1 " + base64.b64encode(hashlib.sha1(data).digest()).decode()})
        assert answer.status_code == 204, answer.body
        if not restarted and offset + len(data) < len(source):
            assert [k for k in s3_bucket.keys() if not k.startswith("tus/")] == []  # parts, not an object yet
            assert _on_disk() == []
        if not restarted and offset >= len(source) // 2:
            reset_settings()  # the server restarts: a new store, and the upload goes on from its row
            reset_storage()
            restarted = True
            head = client.head(path, headers={**headers, **TUS})
            assert head.headers["Upload-Offset"] == str(offset + len(data))

    row = db.fetch_one("SELECT status, public_id, stored_size, assembly FROM uploads")
    assert (row["status"], row["stored_size"], row["assembly"]) == ("received", len(source), None)
    stored = s3_bucket.client.get_object(Bucket=s3_bucket.name, Key=row["public_id"])["Body"].read()
    assert hashlib.sha256(stored).digest() == hashlib.sha256(source).digest()
    assert s3_bucket.keys() == [row["public_id"]]
    assert s3_bucket.client.list_multipart_uploads(Bucket=s3_bucket.name).get("Uploads", []) == []
    assert _on_disk() == []
