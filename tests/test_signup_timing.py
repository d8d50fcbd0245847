"""Signing up with a taken address must not be told apart from a new one by how long it takes:
the pages are the same (allauth's ACCOUNT_PREVENT_ENUMERATION), so the work must be too."""

from __future__ import annotations

import statistics
import time

import pytest
from django.conf import global_settings
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.slow, pytest.mark.usefixtures("isolated_cache")]

PASSWORD = "a long enough passphrase 42"
ROUNDS = 9
# The medians may differ by this factor at most. Before the taken-address path hashed the
# password they differed ten-fold (70 ms against 670 ms with Django's PBKDF2).
FACTOR = 1.5


def timed_sign_up(email: str) -> float:
    client = Client()
    started = time.perf_counter()
    response = client.post(
        reverse("account_signup"),
        {"email": email, "password1": PASSWORD, "password2": PASSWORD, "timezone": "UTC"},
    )
    elapsed = time.perf_counter() - started
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    return elapsed


def test_signing_up_takes_as_long_with_a_taken_address_as_with_a_new_one(settings, smtp_sink):
    # A different taken address each time, as a prober would try them (and so that allauth's
    # per-address limit on "you already have an account" mails never skips one).
    taken = [UserFactory(email=f"taken{n}@example.org").email for n in range(ROUNDS)]
    # The production hasher: its cost is what used to give a new address away.
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    settings.ACCOUNT_RATE_LIMITS = False  # twenty sign-ups a minute from one test client
    timed_sign_up("warm-up@example.org")  # template and MJML compilation, first queries
    new, existing = [], []
    for n in range(ROUNDS):
        # Interleaved, alternating which goes first, so a busy machine slows both alike.
        pair = [("new", f"new{n}@example.org"), ("taken", taken[n])]
        for kind, email in pair if n % 2 else reversed(pair):
            (new if kind == "new" else existing).append(timed_sign_up(email))
    assert len(smtp_sink.messages) == 1 + 2 * ROUNDS  # every attempt sent its one mail
    slow, fast = sorted([statistics.median(new), statistics.median(existing)], reverse=True)
    assert slow / fast < FACTOR, f"new {sorted(new)}, taken {sorted(existing)}"
