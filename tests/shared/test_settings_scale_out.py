"""Several server processes without Redis (issue #10, point 6): prod refuses, elsewhere the start log warns and
says the server assumes it is the only instance (the real server's output is checked in
tests/e2e/test_redis_outage.py)."""

import logging

import pytest

from shared.scale_out import start_messages
from shared.settings import SettingsError, load_settings

PROD = {"VIZTUBE_STAGE": "prod", **dict.fromkeys(("ACCESS_TOKEN_SECRET", "REFRESH_TOKEN_SECRET", "MEDIA_URL_SECRET"),
                                                 "x" * 40)}


def test_prod_refuses_several_workers_without_redis(tmp_path):
    with pytest.raises(SettingsError, match="WEB_CONCURRENCY=2 needs REDIS_URL"):
        load_settings({**PROD, "VIZTUBE_HOME": str(tmp_path), "WEB_CONCURRENCY": "2"})


def test_prod_takes_several_workers_with_redis_and_one_without(tmp_path):
    shared = load_settings({**PROD, "VIZTUBE_HOME": str(tmp_path), "WEB_CONCURRENCY": "3",
                            "REDIS_URL": "redis://cache.internal:6379/0"})
    alone = load_settings({**PROD, "VIZTUBE_HOME": str(tmp_path)})

    assert (shared.web_concurrency, shared.cache_backend) == (3, "redis")
    assert (alone.web_concurrency, alone.cache_backend) == (1, "memory")


def test_web_concurrency_must_be_a_positive_integer(tmp_path):
    for wrong in ("0", "two", "-1"):
        with pytest.raises(SettingsError, match="WEB_CONCURRENCY must be a positive integer"):
            load_settings({"VIZTUBE_HOME": str(tmp_path), "WEB_CONCURRENCY": wrong})


def test_outside_prod_several_workers_without_redis_start_with_a_warning(tmp_path):
    settings = load_settings({"VIZTUBE_HOME": str(tmp_path), "WEB_CONCURRENCY": "2"})

    messages = start_messages(settings)

    assert settings.cache_backend == "off"  # no process could tell the others what to forget
    assert "assumes it is the only instance" in messages[0][1]
    assert messages[1][0] == logging.WARNING and "WEB_CONCURRENCY=2 without REDIS_URL" in messages[1][1]


def test_a_lone_prod_server_without_redis_warns_that_it_assumes_it_is_alone(tmp_path):
    """Several single-process nodes cannot be detected: the one thing to do is to say it, loudly in prod."""
    level, message = start_messages(load_settings({**PROD, "VIZTUBE_HOME": str(tmp_path)}))[0]

    assert level == logging.WARNING
    assert "in-process (this process only)" in message and "assumes it is the only instance" in message


def test_with_redis_the_start_log_names_it_for_both_and_warns_of_nothing(tmp_path):
    settings = load_settings({"VIZTUBE_HOME": str(tmp_path), "WEB_CONCURRENCY": "2", "REDIS_URL": "redis://r:6379/0"})

    assert start_messages(settings) == [(logging.INFO, "cache: redis (shared by every process); rate limits: redis"
                                         " (shared by every process; counted per process while Redis is unreachable)")]
