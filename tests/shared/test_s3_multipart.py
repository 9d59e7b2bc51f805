"""Resumable uploads gathered as the bucket's own multipart upload (issue #13, point 2), against moto in server mode,
which refuses a part under 5 MiB but the last as S3 does: tus chunks of any size become parts of at least 5 MiB, the
bytes between them wait in a tail object of the bucket, and nothing is left of an upload once it ends."""

import hashlib
import json
import os
import uuid

import pytest

from shared import errors
from shared.settings import get_settings
from shared.storage import get_storage, reset_storage
from tests.conftest import video_bytes

MIB = 1024 * 1024


def _source(size: int) -> bytes:
    head = video_bytes("mp4")  # the first bytes say what it is
    return head + os.urandom(size - len(head))


def _send(assembly, state, data: bytes, offset: int, tmp_path) -> dict:
    chunk = tmp_path / f"chunk-{offset}"
    chunk.write_bytes(data)
    try:
        return assembly.append(state, offset=offset, chunk=chunk)
    finally:
        chunk.unlink()


def _recorded(state: dict) -> dict:
    """The state as the upload's row keeps it (jsonb) and hands back."""
    return json.loads(json.dumps(state))


def _multipart_uploads(bucket) -> list:
    return bucket.client.list_multipart_uploads(Bucket=bucket.name).get("Uploads", [])


def _scratch_left() -> list:
    base = get_settings().scratch_dir
    return [entry for folder in base.iterdir() for entry in folder.iterdir()] if base.exists() else []


@pytest.mark.parametrize("chunk_size", [MIB, 7 * MIB])
def test_chunks_of_any_size_become_parts_and_the_object_is_the_source(s3_bucket, tmp_path, chunk_size):
    store = s3_bucket.use()
    source = _source(17 * MIB + 12345)
    assembly = store.resumable_assembly()
    state = assembly.start(uuid.uuid4(), node="this-node", kind="video", mime="video/mp4")
    assert assembly.reachable(state, node="another-node")  # any node takes the next chunk
    assert [u["Key"] for u in _multipart_uploads(s3_bucket)] == [state["key"]]  # begun on the final key

    for offset in range(0, len(source), chunk_size):
        state = _recorded(_send(assembly, state, source[offset:offset + chunk_size], offset, tmp_path))
        assert sum(p[2] for p in state["parts"]) + state["tail"] == min(offset + chunk_size, len(source))
        assert all(p[2] >= 5 * MIB for p in state["parts"])
        assert [k for k in s3_bucket.keys() if not k.startswith("tus/")] == []  # nothing whole before the end
    stored = assembly.complete(state, kind="video", mime="video/mp4")

    body = s3_bucket.client.get_object(Bucket=s3_bucket.name, Key=stored.public_id)
    assert hashlib.sha256(body["Body"].read()).digest() == hashlib.sha256(source).digest()
    assert body["ContentType"] == "video/mp4" and stored.size == len(source)
    assert stored.public_id.startswith("videos/") and stored.public_id.endswith(".mp4") and stored.format == "mp4"
    assert s3_bucket.keys() == [stored.public_id]  # no tail object left
    assert _multipart_uploads(s3_bucket) == [] and _scratch_left() == []
    sizes = [p[2] for p in state["parts"]]
    assert sizes == ([5 * MIB, 5 * MIB, 5 * MIB] if chunk_size == MIB else [7 * MIB, 7 * MIB])


def test_a_restart_and_requests_that_died_before_recording_change_nothing(s3_bucket, tmp_path):
    source = _source(13 * MIB + 777)
    store = s3_bucket.use()
    state = store.resumable_assembly().start(uuid.uuid4(), node=None, kind="video", mime="video/mp4")
    offset = 0
    for size in (2 * MIB, 2 * MIB):  # a tail of 4 MiB
        state = _recorded(_send(store.resumable_assembly(), state, source[offset:offset + size], offset, tmp_path))
        offset += size
    # A request appends (a longer tail object, then a part made of it) and dies before its state is recorded.
    lost = _send(store.resumable_assembly(), state, source[offset:offset + MIB // 2], offset, tmp_path)
    _send(store.resumable_assembly(), lost, source[offset + MIB // 2:offset + 3 * MIB], offset + MIB // 2, tmp_path)

    reset_storage()  # the server restarts: a new store, the state from the row
    store = get_storage()
    for size in (3 * MIB, 3 * MIB, len(source)):
        chunk = source[offset:offset + size]
        state = _recorded(_send(store.resumable_assembly(), state, chunk, offset, tmp_path))
        offset += len(chunk)
    stored = store.resumable_assembly().complete(state, kind="video", mime="video/mp4")

    body = s3_bucket.client.get_object(Bucket=s3_bucket.name, Key=stored.public_id)["Body"].read()
    assert hashlib.sha256(body).digest() == hashlib.sha256(source).digest()
    assert s3_bucket.keys() == [stored.public_id] and _multipart_uploads(s3_bucket) == []


def test_an_aborted_upload_leaves_nothing_and_aborting_twice_is_fine(s3_bucket, tmp_path):
    store = s3_bucket.use()
    source = _source(6 * MIB)
    assembly = store.resumable_assembly()
    state = assembly.start(uuid.uuid4(), node=None, kind="video", mime="video/mp4")
    state = _recorded(_send(assembly, state, source[:5 * MIB + 10], 0, tmp_path))  # a part
    state = _recorded(_send(assembly, state, source[5 * MIB + 10:5 * MIB + 20], 5 * MIB + 10, tmp_path))  # a tail
    assert s3_bucket.keys() and _multipart_uploads(s3_bucket)

    assembly.abort(state)
    assembly.abort(state)

    assert s3_bucket.keys() == [] and _multipart_uploads(s3_bucket) == []
    with pytest.raises(errors.NotFound):
        _send(assembly, state, source[5 * MIB + 20:], 5 * MIB + 20, tmp_path)


def test_bytes_of_another_type_than_declared_are_stored_as_what_they_are(s3_bucket, tmp_path):
    store = s3_bucket.use()
    webm = video_bytes("webm")
    assembly = store.resumable_assembly()
    state = assembly.start(uuid.uuid4(), node=None, kind="video", mime="video/mp4")

    state = _send(assembly, state, webm, 0, tmp_path)
    stored = assembly.complete(state, kind="video", mime="video/webm")

    assert stored.public_id.endswith(".webm") and stored.format == "webm"
    head = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key=stored.public_id)
    assert head["ContentType"] == "video/webm" and head["ContentLength"] == len(webm)
    assert s3_bucket.keys() == [stored.public_id] and _multipart_uploads(s3_bucket) == []
