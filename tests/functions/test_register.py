"""POST /api/v2/user/register (contract §4.1, design deviations 4, 7, 12, 14)."""

from shared import db
from tests.conftest import jpeg_bytes, media_files, multipart, png_bytes, register_form


def _register(client, **overrides):
    body, headers = register_form(**overrides)
    return client.post("/api/v2/user/register", body=body, headers=headers)


def _user_count():
    return db.fetch_value("SELECT count(*) FROM users")


def test_register_answers_201_in_status_and_body_with_the_public_user(client):
    response = _register(client, username="  Ada_L ", email="Ada@Example.COM", fullname="  Ada  ")

    assert response.status_code == 201
    body = response.json_body
    assert body["statusCode"] == 201 and body["success"] is True
    assert body["message"] == "User registered successfully!"
    user = body["data"]
    assert list(user)[:8] == ["id", "username", "email", "fullname", "avatar", "coverImage", "createdAt", "updatedAt"]
    assert user["emailVerified"] is False  # added by issue #16: a link to verify it is mailed
    assert user["username"] == "ada_l"
    assert user["email"] == "ada@example.com"
    assert user["fullname"] == "Ada"
    assert user["coverImage"] == ""
    assert user["avatar"].startswith("http://testserver/api/v2/media/avatars/")
    assert user["createdAt"].endswith("Z") and len(user["createdAt"]) == 24
    assert "password" not in response.body.decode()


def test_register_stores_avatar_and_cover(client):
    response = _register(client, coverImage=("c.jpg", jpeg_bytes(), "image/jpeg"))

    assert response.status_code == 201
    assert response.json_body["data"]["coverImage"].endswith(".jpg")
    assert len(media_files()) == 2


def test_register_issues_no_tokens(client):
    response = _register(client)

    assert "Set-Cookie" not in response.headers


def test_register_reports_every_failing_rule_in_order(client):
    response = _register(client, fullname="  ", email="not-an-email", username="a b", password="short")

    assert response.status_code == 422
    assert response.json_body["message"] == "Validation failed"
    assert response.json_body["errors"] == [
        "Full name is required",
        "Invalid email address",
        "Username cannot contain spaces",
        "Password must be between 8 and 72 characters",
        "Password must contain at least one uppercase letter",
        "Password must contain at least one number",
        "fullname is required",  # after the original's strings: the field by its wire name
    ]
    assert _user_count() == 0 and media_files() == []


def test_a_short_username_is_refused(client):
    response = _register(client, username=" ab ")

    assert response.status_code == 422
    assert response.json_body["errors"] == ["Username must be at least 3 characters"]


def test_register_requires_every_field(client):
    body, headers = multipart({}, {"avatar": ("a.png", png_bytes(), "image/png")})

    response = client.post("/api/v2/user/register", body=body, headers=headers)

    assert response.status_code == 422
    assert response.json_body["errors"] == ["Full name is required", "Email is required", "Username is required",
                                            "Password is required", "fullname is required"]


def test_passwords_may_hold_any_printable_character_up_to_72_bytes(client):
    assert _register(client, password="Pass word!%^&*()1").status_code == 201
    too_long = _register(client, username="other", email="o@example.com", password="Aa1" + "x" * 70)
    assert too_long.status_code == 422
    assert too_long.json_body["errors"] == ["Password must be between 8 and 72 characters"]


def test_register_without_avatar_is_400(client):
    response = _register(client, avatar=None)

    assert response.status_code == 400
    assert response.json_body["message"] == "Avatar file is required"


def test_an_avatar_that_is_not_an_image_is_refused_whatever_its_declared_type(client):
    response = _register(client, avatar=("evil.png", b"<?php echo 1; ?>" * 10, "image/png"))

    assert response.status_code == 400
    assert response.json_body["message"] == "Avatar must be a JPG, PNG, or WEBP"
    assert _user_count() == 0 and media_files() == []


def test_a_bad_cover_image_leaves_nothing_behind(client):
    response = _register(client, coverImage=("c.gif", b"GIF89a" + b"\x00" * 40, "image/gif"))

    assert response.status_code == 400
    assert response.json_body["message"] == "Cover Image must be a JPG, PNG, or WEBP"
    assert _user_count() == 0 and media_files() == []


def test_an_avatar_over_10_mb_is_413_and_nothing_is_stored(client):
    response = _register(client, avatar=("big.png", png_bytes(extra=10 * 1024 * 1024), "image/png"))

    assert response.status_code == 413
    assert response.json_body["message"] == "Avatar must be smaller than 10MB"
    assert _user_count() == 0 and media_files() == []


def test_a_taken_username_is_409_naming_the_field_and_stores_no_file(client):
    assert _register(client).status_code == 201

    response = _register(client, username="ADA", email="new@example.com")

    assert response.status_code == 409
    assert response.json_body["message"] == "username already exists"
    assert len(media_files()) == 1


def test_a_taken_email_is_409_case_insensitively(client):
    assert _register(client).status_code == 201

    response = _register(client, username="someone", email="ADA@example.com")

    assert response.status_code == 409
    assert response.json_body["message"] == "email already exists"


def test_a_duplicate_that_slips_past_the_check_is_still_409_and_its_files_are_removed(client, monkeypatch):
    from shared.sql import users as users_sql

    assert _register(client).status_code == 201
    monkeypatch.setattr(users_sql, "taken_field", lambda **_: None)  # as if a concurrent request won the race

    response = _register(client, email="new@example.com")

    assert response.status_code == 409
    assert response.json_body["message"] == "username already exists"
    assert len(media_files()) == 1


def test_a_json_body_is_415(client):
    response = client.post("/api/v2/user/register", body=b'{"username": "x"}',
                           headers={"Content-Type": "application/json"})

    assert response.status_code == 415


def test_an_unexpected_file_field_is_400(client):
    body, headers = multipart({"fullname": "A", "username": "abc", "email": "a@b.co", "password": "Passw0rdX"},
                              {"avatar": ("a.png", png_bytes(), "image/png"), "resume": ("r.png", png_bytes(), "x")})

    response = client.post("/api/v2/user/register", body=body, headers=headers)

    assert response.status_code == 400
    assert response.json_body["message"] == "Unexpected field: resume"


def test_a_malformed_multipart_body_is_400(client):
    response = client.post("/api/v2/user/register", body=b"--nope\r\ngarbage",
                           headers={"Content-Type": "multipart/form-data; boundary=xyz"})

    assert response.status_code == 400


def test_a_truncated_multipart_body_is_400_and_leaves_nothing(client):
    body, headers = register_form()

    response = client.post("/api/v2/user/register", body=body[: len(body) - 40], headers=headers)

    assert response.status_code == 400
    assert _user_count() == 0 and media_files() == []


def test_a_storage_failure_rolls_back_the_files_already_stored(client, storage_fails_for):
    storage_fails_for("coverImage")
    response = _register(client, coverImage=("c.jpg", jpeg_bytes(), "image/jpeg"))

    assert response.status_code == 502
    assert _user_count() == 0 and media_files() == []
