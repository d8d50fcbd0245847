"""Every form is rate limited through the real, shared cache (the file cache on the embedded
defaults, Redis with REDIS_URL) — allauth's forms by ACCOUNT_RATE_LIMITS, ours by
WEB_RATE_LIMITS. Each test uses its own client address so counters from other runs do not
matter."""

from __future__ import annotations

import random

import pytest
from django.conf import settings
from django.urls import reverse

from digest.digests.links import feedback_url
from digest.web.ratelimit import Rate, parse_rates
from tests.factories import PaperFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def address():
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 25)}"


def test_the_cache_is_a_real_shared_backend():
    backend = settings.CACHES["default"]["BACKEND"]
    assert backend.rsplit(".", 1)[-1] in ("FileBasedCache", "RedisCache")


def test_every_allauth_form_has_a_limit():
    for action in (
        "login",
        "login_failed",
        "signup",
        "confirm_email",
        "reset_password",
        "reset_password_from_key",
        "request_login_code",
    ):
        assert settings.ACCOUNT_RATE_LIMITS.get(action), action


def test_rates_parse_like_allauths():
    assert parse_rates("30/m/ip, 5/5m/user,2/h") == [
        Rate(30, 60, "ip"),
        Rate(5, 300, "user"),
        Rate(2, 3600, "ip"),
    ]


def test_sign_up_is_limited_per_address(client, address):
    limit = int(settings.ACCOUNT_RATE_LIMITS["signup"].split("/")[0])
    data = {"email": "x@example.org", "password1": "one thing", "password2": "another"}
    statuses = [
        client.post(reverse("account_signup"), data, REMOTE_ADDR=address).status_code
        for _ in range(limit + 1)
    ]
    assert statuses[:limit] == [200] * limit  # the form, with its error
    assert statuses[limit] == 429
    # Another address is not affected.
    other = client.post(reverse("account_signup"), data, REMOTE_ADDR=address + "0")
    assert other.status_code == 200


def test_feedback_posts_are_limited_per_address(client, address, settings):
    settings.WEB_RATE_LIMITS = {**settings.WEB_RATE_LIMITS, "feedback": "3/m/ip"}
    user, paper = UserFactory(), PaperFactory()
    path = feedback_url(user, paper, "more").removeprefix(settings.SITE_URL)
    statuses = [client.post(path, REMOTE_ADDR=address).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    page = client.post(path, REMOTE_ADDR=address)
    assert "You've sent too many requests" in page.content.decode()


@pytest.mark.usefixtures("isolated_cache")  # user ids repeat between runs on SQLite
def test_subscription_forms_are_limited_per_user(client, settings):
    settings.WEB_RATE_LIMITS = {**settings.WEB_RATE_LIMITS, "subscriptions": "2/m/user"}
    client.force_login(UserFactory())
    statuses = [
        client.post(reverse("subscriptions:add"), {"name": "", "query": ""}).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
