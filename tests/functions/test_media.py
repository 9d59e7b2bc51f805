"""GET /api/v2/media/...: local media with Content-Type, ETag, caching and HTTP Range."""

from pathlib import Path

from shared.settings import get_settings
from shared.storage.local import LocalStorage
from tests.conftest import png_bytes

ACCEPT = {"Accept": "*/*"}


def _stored(tmp_path: Path, data: bytes) -> str:
    source = tmp_path / "upload"
    source.write_bytes(data)
    settings = get_settings()
    return LocalStorage(settings.media_dir, settings.public_url).save(source, kind="avatar", mime="image/png").public_id


def test_a_stored_file_is_served_with_type_etag_and_long_caching(client, tmp_path):
    data = png_bytes(extra=5000)
    public_id = _stored(tmp_path, data)

    response = client.get(f"/api/v2/media/{public_id}", headers=ACCEPT)

    assert response.status_code == 200
    assert response.body == data
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert "immutable" in response.headers["Cache-Control"]
    assert response.headers["ETag"].startswith('"')


def test_range_requests_get_206_with_exactly_the_bytes_asked_for(client, tmp_path):
    data = png_bytes(extra=5000)
    public_id = _stored(tmp_path, data)

    middle = client.get(f"/api/v2/media/{public_id}", headers={**ACCEPT, "Range": "bytes=10-99"})
    suffix = client.get(f"/api/v2/media/{public_id}", headers={**ACCEPT, "Range": "bytes=-20"})
    open_ended = client.get(f"/api/v2/media/{public_id}", headers={**ACCEPT, "Range": "bytes=5000-"})

    assert middle.status_code == 206
    assert middle.body == data[10:100]
    assert middle.headers["Content-Range"] == f"bytes 10-99/{len(data)}"
    assert suffix.body == data[-20:]
    assert open_ended.body == data[5000:]


def test_an_unsatisfiable_range_is_416(client, tmp_path):
    public_id = _stored(tmp_path, png_bytes())

    response = client.get(f"/api/v2/media/{public_id}", headers={**ACCEPT, "Range": "bytes=999999-"})

    assert response.status_code == 416
    assert response.headers["Content-Range"].startswith("bytes */")


def test_a_matching_etag_is_304(client, tmp_path):
    public_id = _stored(tmp_path, png_bytes())
    etag = client.get(f"/api/v2/media/{public_id}", headers=ACCEPT).headers["ETag"]

    response = client.get(f"/api/v2/media/{public_id}", headers={**ACCEPT, "If-None-Match": etag})

    assert response.status_code == 304


def test_path_traversal_is_impossible(client, tmp_path):
    _stored(tmp_path, png_bytes())
    secret = get_settings().home / "secrets.json"
    assert secret.exists()

    for path in ("/api/v2/media/avatars/..%2F..%2Fsecrets.json", "/api/v2/media/..%2Fsecrets.json/x",
                 "/api/v2/media/avatars/secrets.json", "/api/v2/media/pgdata/PG_VERSION",
                 "/api/v2/media/avatars/%2e%2e", "/api/v2/media/../secrets.json"):
        response = client.get(path, headers=ACCEPT)
        assert response.status_code == 404, path
        assert b"ACCESS_TOKEN_SECRET" not in response.body


def test_an_unknown_file_is_404(client):
    response = client.get("/api/v2/media/avatars/" + "0" * 32 + ".png", headers=ACCEPT)

    assert (response.status_code, response.json_body["message"]) == (404, "Media not found")


# Media requests that send no Accept header get the file (issue #10, point 4): Chalice refuses a binary response
# unless Accept names a binary type, and no Accept means "anything" (RFC 9110 §12.5.1). The same request on
# Lambda is in tests/shared/test_lambda_emulation.py.


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

