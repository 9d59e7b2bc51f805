"""STORAGE=cloudinary: the real SDK against a local fake Cloudinary API that checks every signature."""

import json

import pytest

from shared import db
from shared.settings import reset_settings
from shared.storage import reset_storage
from tests.conftest import jpeg_bytes, media_files, multipart, register_form

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def fake(fake_cloudinary):
    return fake_cloudinary


def _register(client, **overrides):
    body, headers = register_form(**overrides)
    return client.post("/api/v2/user/register", body=body, headers=headers)


def test_register_uploads_to_cloudinary_with_valid_signatures_and_https_urls(client, fake):
    response = _register(client, coverImage=("c.jpg", jpeg_bytes(), "image/jpeg"))

    assert response.status_code == 201
    user = response.json_body["data"]
    assert user["avatar"].startswith("https://res.cloudinary.com/demo/image/upload/")
    assert user["coverImage"].startswith("https://")
    assert [r["action"] for r in fake.requests] == ["upload", "upload"]
    assert all(r["signature_ok"] for r in fake.requests)
    assert len(fake.assets) == 2
    assert media_files() == []  # nothing written to local disk


def test_replacing_the_avatar_destroys_the_old_asset_on_cloudinary(client, fake):
    _register(client)
    old = next(iter(fake.assets))
    token = client.post("/api/v2/user/login", headers=JSON,
                        body=json.dumps({"username": "ada", "password": "Passw0rdX"})).json_body["data"]["accessToken"]
    body, headers = multipart({}, {"avatar": ("n.jpg", jpeg_bytes(), "image/jpeg")})

    response = client.patch("/api/v2/user/update-avatar", body=body,
                            headers={**headers, "Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    assert old not in fake.assets and len(fake.assets) == 1
    destroy = [r for r in fake.requests if r["action"] == "destroy"]
    assert destroy and destroy[0]["fields"]["public_id"] == old[1] and destroy[0]["signature_ok"]


def test_a_cloudinary_failure_is_a_clear_error_and_leaves_no_row_or_asset(client, fake):
    fake.fail_uploads = True

    response = _register(client)

    assert response.status_code == 502
    assert response.json_body["message"] == "Error uploading avatar"
    assert db.fetch_value("SELECT count(*) FROM users") == 0
    assert fake.assets == {}


def test_a_duplicate_user_removes_what_was_uploaded(client, fake, monkeypatch):
    from shared.sql import users as users_sql

    assert _register(client).status_code == 201
    monkeypatch.setattr(users_sql, "taken_field", lambda **_: None)

    response = _register(client, email="x@example.com")

    assert response.status_code == 409
    assert len(fake.assets) == 1


def test_a_tampered_secret_is_refused_by_the_fake(client, fake, monkeypatch):
    monkeypatch.setenv("CLOUDINARY_URL", fake.cloudinary_url.replace("s3cr3t", "wrong"))
    reset_settings()
    reset_storage()

    response = _register(client)

    assert response.status_code == 502
    assert fake.requests and not fake.requests[0]["signature_ok"]
