"""AWS clients, created once per process (boto3 comes with the Lambda runtime; the server pins it)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from shared.settings import get_settings


@lru_cache(maxsize=4)
def _client(service: str, endpoint_url: str | None) -> Any:
    import boto3

    return boto3.client(service, endpoint_url=endpoint_url)


def sqs_client() -> Any:
    return _client("sqs", get_settings().aws_endpoint_url)
