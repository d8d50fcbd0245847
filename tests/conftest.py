"""Shared fixtures: recorded inputs, a real SMTP server on loopback, a real Redis."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from digest.mailsink import MailboxHandler, start_sink
from subscriptions import recommendations
from subscriptions.recent import clear_cache
from tests.browser_support import browser, context, site  # noqa: F401  (browser fixtures)

FIXTURES = Path(__file__).parent / "fixtures"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """PBKDF2's million rounds cost a second per factory user; tests do not need the strength."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def fixture_path():
    """``fixture_path("arxiv_api_query.xml")`` → the recorded file under tests/fixtures/."""
    return lambda name: FIXTURES / name


@pytest.fixture
def smtp_sink(settings, tmp_path) -> Iterator[MailboxHandler]:
    """A real SMTP server (aiosmtpd) on a free loopback port; Django sends to it over SMTP."""
    port = free_port()
    controller = start_sink("127.0.0.1", port, tmp_path / "mailbox")
    settings.EMAIL_BACKEND = "digest.digests.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.MAILBOX_DIR = tmp_path / "mailbox"
    try:
        yield controller.handler
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """``REDIS_URL`` when CI gives one; otherwise a private redis-server on a free port."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: run `make system-deps` (Debian: redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(autouse=True)
def fresh_recent_papers():
    """Each test starts with no recent papers (nor their embeddings) held in this process's
    memory: another test's (the same ids and times, other papers) are never read."""
    clear_cache()
    recommendations.clear_cache()
    yield
    clear_cache()
    recommendations.clear_cache()


@pytest.fixture
def isolated_cache(settings):
    """A private in-memory cache for one test, so rate-limit counters (kept in the real,
    shared cache) from other tests or runs cannot interfere."""
    import uuid

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"test-{uuid.uuid4()}",
        }
    }
    yield
