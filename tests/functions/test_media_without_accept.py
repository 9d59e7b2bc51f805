"""Media requests that send no Accept header get the file (issue #10, point 4): Chalice refuses a binary response
unless Accept names a binary type, and a request without Accept means "anything" (RFC 9110 §12.5.1).

The test client runs requests through Chalice's local gateway, the one the WSGI shim uses; the same request on
Lambda is in tests/shared/test_lambda_emulation.py."""

from pathlib import Path

from shared.settings import get_settings
from shared.storage.local import LocalStorage
from tests.conftest import png_bytes


def _stored(tmp_path: Path, data: bytes) -> str:
    source = tmp_path / "upload"
    source.write_bytes(data)
    settings = get_settings()
    return LocalStorage(settings.media_dir, settings.public_url).save(source, kind="avatar", mime="image/png").public_id


def test_a_media_get_without_accept_is_served(client, tmp_path):
    data = png_bytes(extra=3000)
    public_id = _stored(tmp_path, data)

    whole = client.get(f"/api/v2/media/{public_id}")
    part = client.get(f"/api/v2/media/{public_id}", headers={"Range": "bytes=0-99"})
    blank = client.get(f"/api/v2/media/{public_id}", headers={"Accept": ""})

    assert whole.status_code == 200, whole.body[:300]
    assert whole.body == data
    assert whole.headers["Content-Type"] == "image/png"
    assert part.status_code == 206
    assert part.body == data[:100]
    assert blank.status_code == 200
    assert blank.body == data


def test_a_media_head_without_accept_is_answered(client, tmp_path):
    data = png_bytes(extra=3000)
    public_id = _stored(tmp_path, data)

    response = client.head(f"/api/v2/media/{public_id}")

    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(len(data))
    assert response.headers["Content-Type"] == "image/png"

