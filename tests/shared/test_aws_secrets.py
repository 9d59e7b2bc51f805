"""Secrets from SSM Parameter Store or Secrets Manager (issue #6), against moto in server mode."""

import json

import boto3
import pytest

from shared import settings as settings_module
from shared.settings import SettingsError, load_settings

SECRETS = {"ACCESS_TOKEN_SECRET": "a" * 40, "REFRESH_TOKEN_SECRET": "r" * 40, "MEDIA_URL_SECRET": "m" * 40}


@pytest.fixture
def aws(moto_server):
    return {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": moto_server}


def test_prod_reads_its_secrets_from_ssm(aws, tmp_path):
    ssm = boto3.client("ssm", endpoint_url=aws["AWS_ENDPOINT_URL"])
    for name, value in SECRETS.items():
        ssm.put_parameter(Name=f"/viztube/prod/{name}", Value=value, Type="SecureString", Overwrite=True)

    settings = load_settings({**aws, "VIZTUBE_STAGE": "prod", "VIZTUBE_HOME": str(tmp_path),
                              "SECRETS_SSM_PATH": "/viztube/prod/"})

    assert (settings.access_token_secret, settings.refresh_token_secret) == ("a" * 40, "r" * 40)


def test_prod_reads_its_secrets_from_secrets_manager(aws, tmp_path):
    arn = boto3.client("secretsmanager", endpoint_url=aws["AWS_ENDPOINT_URL"]).create_secret(
        Name="viztube/prod", SecretString=json.dumps({**SECRETS, "DATABASE_URL": "postgresql://app@db/viztube"}))["ARN"]

    settings = load_settings({**aws, "VIZTUBE_STAGE": "prod", "VIZTUBE_HOME": str(tmp_path), "SECRETS_ARN": arn})

    assert settings.media_url_secret == "m" * 40
    assert settings.database_url == "postgresql://app@db/viztube"


def test_secrets_are_read_once_per_container(aws, tmp_path, monkeypatch):
    calls = []
    real = settings_module._secrets_from_aws
    monkeypatch.setattr(settings_module, "_secrets_from_aws", lambda env: calls.append(1) or real(env))
    ssm = boto3.client("ssm", endpoint_url=aws["AWS_ENDPOINT_URL"])
    for name, value in SECRETS.items():
        ssm.put_parameter(Name=f"/viztube/prod/{name}", Value=value, Type="SecureString", Overwrite=True)
    for name, value in {"VIZTUBE_STAGE": "prod", "VIZTUBE_HOME": str(tmp_path),
                        "SECRETS_SSM_PATH": "/viztube/prod/"}.items():
        monkeypatch.setenv(name, value)
    settings_module.reset_settings()

    first, second = settings_module.get_settings(), settings_module.get_settings()

    assert first is second and len(calls) == 1
    settings_module.reset_settings()


def test_an_unreachable_secret_store_stops_start_up_with_a_clear_reason(aws, tmp_path):
    with pytest.raises(SettingsError, match="could not read secrets from AWS"):
        load_settings({**aws, "VIZTUBE_STAGE": "prod", "VIZTUBE_HOME": str(tmp_path),
                       "SECRETS_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing"})
