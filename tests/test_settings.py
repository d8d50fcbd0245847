"""Settings come from the environment, with safe embedded defaults and a strict production mode."""

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from digest.settings import envbool, parse_email_url


def load_settings(**env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    environment.update(env)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import digest.settings as s;"
            "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL)",
        ],
        env=environment,
        capture_output=True,
        text=True,
    )


def test_embedded_defaults_need_no_server():
    result = load_settings()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "filesystem://"]


def test_database_and_redis_urls_switch_to_real_services():
    result = load_settings(
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/paperboy",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    assert result.stdout.split() == ["django.db.backends.postgresql", "redis://127.0.0.1:6379/0"]


def test_production_refuses_to_start_without_a_secret_key():
    result = load_settings(DEBUG="false", ALLOWED_HOSTS="papers.example.org", SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_a_misspelt_boolean_is_an_error_not_false(monkeypatch):
    monkeypatch.setenv("SOME_FLAG", "ture")
    with pytest.raises(ImproperlyConfigured, match="not a boolean"):
        envbool("SOME_FLAG", "false")


def test_email_url_parsing():
    smtp = parse_email_url("smtp://me%40x.org:s3cret@mail.example.org:587?tls=true")
    assert smtp["EMAIL_HOST"] == "mail.example.org"
    assert smtp["EMAIL_PORT"] == 587
    assert smtp["EMAIL_HOST_USER"] == "me@x.org"
    assert smtp["EMAIL_HOST_PASSWORD"] == "s3cret"
    assert smtp["EMAIL_USE_TLS"] is True
    assert parse_email_url("smtps://mail.example.org")["EMAIL_PORT"] == 465
    with pytest.raises(ImproperlyConfigured):
        parse_email_url("ftp://nope")


def test_production_settings_pass_djangos_deploy_checks():
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    environment.update(
        DEBUG="false",
        SECRET_KEY="x" * 20 + "-production-secret-with-enough-entropy-1234567890",
        ALLOWED_HOSTS="papers.example.org",
        SITE_URL="https://papers.example.org",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=environment,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_arxiv_categories_are_checked_when_the_settings_load():
    assert load_settings(ARXIV_CATEGORIES="cs.RO, eess.AS,hep-th,astro-ph.GA").returncode == 0
    result = load_settings(ARXIV_CATEGORIES="cs.RO,cs CV")
    assert result.returncode != 0
    assert "ARXIV_CATEGORIES: 'cs CV' is not an arXiv category" in result.stderr
