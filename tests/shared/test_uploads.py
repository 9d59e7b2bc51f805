"""The multipart streaming parser and the per-route body limits the WSGI shim enforces."""

import pytest

from shared import errors
from shared.web.forms import stage_raw, stream_form
from shared.web.upload_policy import body_limit, is_raw_upload
from tests.conftest import multipart, png_bytes

MB = 1024 * 1024


def test_body_limits_follow_the_route_and_the_kind_of_body():
    assert body_limit("POST", "/api/v2/videos", "multipart/form-data; boundary=x") == 111 * MB
    assert body_limit("POST", "/api/v2/videos", "application/json") == 1 * MB
    assert body_limit("POST", "/api/v2/user/register", "multipart/form-data; boundary=x") == 21 * MB
    assert body_limit("PATCH", "/api/v2/user/update-avatar", "multipart/form-data; boundary=x") == 11 * MB
    assert body_limit("PUT", "/api/v2/uploads/abc", "video/mp4") == 101 * MB
    assert body_limit("POST", "/api/v2/user/login", "multipart/form-data; boundary=x") == 1 * MB
    assert is_raw_upload("PUT", "/api/v2/uploads/abc") and not is_raw_upload("POST", "/api/v2/uploads")


def test_a_streamed_form_keeps_text_in_memory_and_files_on_disk(tmp_path):
    body, headers = multipart({"title": "héllo"}, {"thumbnail": ("../../etc/t.png", png_bytes(), "image/png")})
    chunks = [body[i:i + 7] for i in range(0, len(body), 7)]  # tiny chunks: boundaries split everywhere

    form = stream_form(chunks, headers["Content-Type"], max_file_bytes=MB, staging_dir=tmp_path)

    assert form.fields == {"title": "héllo"}
    upload = form.files["thumbnail"]
    assert upload.filename == "t.png"  # directories stripped; stored under a random name
    assert upload.path.parent == form.directory and upload.path.read_bytes() == png_bytes()
    form.cleanup()
    assert list(tmp_path.iterdir()) == []


def test_a_file_over_its_limit_stops_the_parse_and_leaves_nothing(tmp_path):
    body, headers = multipart({}, {"avatar": ("a.png", png_bytes(extra=5000), "image/png")})

    with pytest.raises(errors.PayloadTooLarge, match="Avatar must be smaller"):
        stream_form([body], headers["Content-Type"], max_file_bytes=MB, file_limits={"avatar": 1000},
                    staging_dir=tmp_path)

    assert list(tmp_path.iterdir()) == []


def test_a_raw_body_is_staged_as_one_file(tmp_path):
    form = stage_raw([b"abc", b"def"], "video/mp4", staging_dir=tmp_path)

    assert form.files["file"].size == 6 and form.files["file"].path.read_bytes() == b"abcdef"
    form.cleanup()
