"""Security headers: a strict Content-Security-Policy on every page, and an HSTS header that
only asks to be preloaded when it qualifies."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.urls import reverse

from tests.admin_support import make_superuser

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_cache")]

YEAR = 365 * 24 * 60 * 60


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: sources for name, *sources in directives}


def test_public_pages_carry_a_strict_content_security_policy(client):
    csp = policy(client.get(reverse("home")))
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]  # no inline script, no eval
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]


def test_images_come_from_the_site_and_hugging_faces_thumbnail_cdn_only(client):
    csp = policy(client.get(reverse("papers_today")))
    assert csp["img-src"] == ["'self'", "https://cdn-thumbnails.huggingface.co"]


def test_the_admin_gets_only_the_allowances_unfold_needs(client):
    client.force_login(make_superuser())
    csp = policy(client.get(reverse("admin:index")))
    assert csp["script-src"] == ["'self'", "'unsafe-eval'"]  # Alpine.js; still no inline script
    assert csp["style-src"] == ["'self'", "'unsafe-inline'"]
    assert csp["frame-ancestors"] == ["'none'"]


def production_hsts(**env: str) -> tuple[int, bool, bool]:
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    environment.update(
        DEBUG="false",
        SECRET_KEY="x" * 20 + "-production-secret-with-enough-entropy-1234567890",
        ALLOWED_HOSTS="papers.example.org",
        SITE_URL="https://papers.example.org",
        **env,
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import digest.settings as s;"
            "print(s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS,"
            " getattr(s, 'SECURE_HSTS_PRELOAD', False))",
        ],
        env=environment,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    seconds, subdomains, preload = result.stdout.split()
    return int(seconds), subdomains == "True", preload == "True"


@pytest.mark.parametrize("env", [{}, {"SECURE_HSTS_SECONDS": str(2 * YEAR)}])
def test_hsts_asks_for_preloading_only_with_a_year_and_subdomains(env):
    seconds, subdomains, preload = production_hsts(**env)
    assert seconds > 0
    if preload:
        assert seconds >= YEAR and subdomains
