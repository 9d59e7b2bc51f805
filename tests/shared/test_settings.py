"""Settings: one reader of the environment, safe defaults in dev, strict in prod."""

import json

import pytest

from shared.settings import SettingsError, load_settings


def test_dev_creates_random_secrets_once_and_keeps_them(tmp_path):
    first = load_settings({"VIZTUBE_HOME": str(tmp_path)})
    second = load_settings({"VIZTUBE_HOME": str(tmp_path)})

    assert len(first.access_token_secret) >= 32
    assert first.access_token_secret != first.refresh_token_secret
    assert (first.access_token_secret, first.refresh_token_secret) == (second.access_token_secret,
                                                                       second.refresh_token_secret)
    assert set(json.loads((tmp_path / "secrets.json").read_text())) >= {"ACCESS_TOKEN_SECRET", "REFRESH_TOKEN_SECRET"}
    assert (tmp_path / "secrets.json").stat().st_mode & 0o077 == 0


def test_prod_refuses_to_start_without_secrets(tmp_path):
    with pytest.raises(SettingsError, match="ACCESS_TOKEN_SECRET"):
        load_settings({"VIZTUBE_STAGE": "prod", "VIZTUBE_HOME": str(tmp_path)})
    assert not (tmp_path / "secrets.json").exists()


def test_prod_refuses_short_secrets(tmp_path):
    with pytest.raises(SettingsError, match="at least 32"):
        load_settings({"VIZTUBE_STAGE": "prod", "VIZTUBE_HOME": str(tmp_path), "ACCESS_TOKEN_SECRET": "x",
                       "REFRESH_TOKEN_SECRET": "y" * 40, "MEDIA_URL_SECRET": "z" * 40})


def test_defaults(tmp_path):
    settings = load_settings({"VIZTUBE_HOME": str(tmp_path)})

    assert (settings.host, settings.port, settings.storage) == ("127.0.0.1", 8000, "local")
    assert (settings.access_token_ttl, settings.refresh_token_ttl) == (900, 7 * 86400)
    assert settings.cookie_secure is False
    assert settings.database_url is None
    assert settings.pgdata_dir == tmp_path / "pgdata"


def test_cors_wildcard_is_refused(tmp_path):
    with pytest.raises(SettingsError, match="explicitly"):
        load_settings({"VIZTUBE_HOME": str(tmp_path), "CORS_ORIGINS": "*"})


def test_cloudinary_needs_its_url(tmp_path):
    with pytest.raises(SettingsError, match="CLOUDINARY_URL"):
        load_settings({"VIZTUBE_HOME": str(tmp_path), "STORAGE": "cloudinary"})


def test_expiries_accept_the_originals_style(tmp_path):
    settings = load_settings({"VIZTUBE_HOME": str(tmp_path), "ACCESS_TOKEN_EXPIRY": "1d",
                              "REFRESH_TOKEN_EXPIRY": "3600"})

    assert (settings.access_token_ttl, settings.refresh_token_ttl) == (86400, 3600)
    with pytest.raises(SettingsError):
        load_settings({"VIZTUBE_HOME": str(tmp_path), "ACCESS_TOKEN_EXPIRY": "soon"})


def test_a_dotenv_file_sits_under_the_environment(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("PORT=9001\nHOST=0.0.0.0\n")
    monkeypatch.chdir(tmp_path)

    settings = load_settings({"VIZTUBE_HOME": str(tmp_path), "HOST": "127.0.0.2"})

    assert (settings.port, settings.host) == (9001, "127.0.0.2")


def test_on_lambda_each_container_keeps_one_connection(tmp_path):
    settings = load_settings({"VIZTUBE_HOME": str(tmp_path), "AWS_LAMBDA_FUNCTION_NAME": "viztube-api"})

    assert settings.on_lambda and settings.db_pool_size == 1
    assert load_settings({"VIZTUBE_HOME": str(tmp_path)}).db_pool_size == 8
