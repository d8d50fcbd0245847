"""A real digest does not look like spam: SpamAssassin's local rules score it below 1.0 (5.0
marks spam). Network tests (DNS blocklists, Razor, Pyzor) are off: they would judge this
machine's reputation, not the message."""

from __future__ import annotations

import datetime as dt
import re
import subprocess

import pytest

from digest.digests.compose import build_digest
from digest.digests.email import render_digest_email
from digest.digests.models import DigestItem
from digest.digests.smtp import signed_bytes
from subscriptions.models import Match
from tests.factories import PaperFactory, SubscriptionFactory, UserFactory
from tests.realpapers import real_rows

NOW = dt.datetime(2026, 11, 24, 7, 0, tzinfo=dt.UTC)


@pytest.mark.django_db
@pytest.mark.slow
def test_a_real_digest_scores_well_below_spamassassins_threshold(settings):
    settings.DEFAULT_FROM_EMAIL = "Paperboy <digest@paperboy.example.org>"
    subscription = SubscriptionFactory(owner=UserFactory(), name="Zero-shot", query="zero-shot")
    for row in real_rows()[:20]:
        paper = PaperFactory(
            created_at=NOW - dt.timedelta(hours=2),
            title=row["title"],
            abstract=row["abstract"],
            abs_url="https://arxiv.org/abs/2601.00001",
        )
        Match.objects.create(
            subscription=subscription,
            paper=paper,
            owner=subscription.owner,
            hits=[{"term": "zero-shot", "field": "abstract"}],
            score=1.0,
        )
    digest = build_digest(subscription.owner, now=NOW)
    # With a "You might also like" section, as a reader who rated papers gets.
    for rank, row in enumerate(real_rows()[20:23], start=21):
        DigestItem.objects.create(
            digest=digest,
            user=digest.user,
            rank=rank,
            section=DigestItem.Section.SUGGESTED,
            hits=[{"field": "liked", "term": real_rows()[0]["title"], "similarity": 2.0}],
            paper=PaperFactory(
                created_at=NOW - dt.timedelta(hours=2),
                title=row["title"],
                abstract=row["abstract"],
                abs_url="https://arxiv.org/abs/2601.00002",
            ),
        )
    message = render_digest_email(digest)
    assert "You might also like" in message.body
    result = subprocess.run(
        ["spamassassin", "--local", "--test-mode"],
        input=signed_bytes(message),
        capture_output=True,
        timeout=180,
    )
    status = re.search(rb"X-Spam-Status: (\w+), score=(-?[\d.]+)", result.stdout)
    assert status is not None, result.stderr.decode(errors="replace")[-2000:]
    assert status.group(1) == b"No"
    assert float(status.group(2)) < 1.0, result.stdout.decode(errors="replace")[-3000:]
