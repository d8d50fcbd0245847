"""Text from feeds and people is shown as text on every admin page, never as markup."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from digest.digests.models import Delivery, DigestItem, Suppression
from digest.papers.models import Sighting
from subscriptions.models import Feedback, Match
from tests.admin_support import HOSTILE, make_superuser
from tests.factories import (
    DeliveryFactory,
    DigestFactory,
    PaperFactory,
    SourceFactory,
    SubscriptionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

RAW_MARKUP = ("<script>alert", "<img src=x onerror", "onerror=alert(1)>")


@pytest.fixture
def hostile_world():
    source = SourceFactory(name=f"feed {HOSTILE}", last_status="error", last_error=HOSTILE)
    paper = PaperFactory(
        arxiv_id=None,
        key=f"url:https://example.org/{HOSTILE}",
        abs_url="https://example.org/paper",
        title=f"Title {HOSTILE}",
        abstract=f"Abstract {HOSTILE}",
        authors=[f"Author {HOSTILE}"],
        categories=["cs.LG", HOSTILE],
        primary_category="cs.LG",
        curator_note=f"Note {HOSTILE}",
        featured=True,
    )
    Sighting.objects.create(source=source, paper=paper, announce_type=HOSTILE[:20])
    reader = UserFactory(
        email="reader@example.org",
        first_name=HOSTILE[:150],
        last_name=HOSTILE[:150],
    )
    subscription = SubscriptionFactory(owner=reader, name=HOSTILE[:100], query=f"x {HOSTILE}")
    Match.objects.create(
        subscription=subscription,
        paper=paper,
        owner=reader,
        hits=[{"term": HOSTILE, "field": HOSTILE}],
    )
    yesterday = timezone.now() - dt.timedelta(days=1)
    digest = DigestFactory(user=reader, date=yesterday.date(), period_end=yesterday)
    yesterdays_paper = PaperFactory(title=f"Sent {HOSTILE}", authors=[HOSTILE])
    DigestItem.objects.create(
        digest=digest,
        user=reader,
        paper=yesterdays_paper,
        rank=1,
        hits=[{"term": HOSTILE, "field": "title"}],
    )
    delivery = DeliveryFactory(digest=digest, status=Delivery.Status.FAILED, last_error=HOSTILE)
    Suppression.objects.create(email="bad@example.org", reason="manual", detail=HOSTILE)
    Feedback.objects.create(user=reader, paper=paper, kind="less")
    return {
        "source": source,
        "paper": paper,
        "reader": reader,
        "subscription": subscription,
        "digest": digest,
        "delivery": delivery,
    }


def pages(world) -> list[str]:
    match = Match.objects.get()
    return [
        reverse("admin:index"),
        reverse("admin:digest_today"),
        reverse("admin:digest_today") + f"?subscriber={world['reader'].pk}",
        reverse("admin:papers_paper_changelist"),
        reverse("admin:papers_paper_changelist") + "?q=Title",
        reverse("admin:papers_paper_change", args=[world["paper"].pk]),
        reverse("admin:papers_source_changelist"),
        reverse("admin:papers_source_change", args=[world["source"].pk]),
        reverse("admin:papers_sighting_changelist"),
        reverse("admin:accounts_user_changelist"),
        reverse("admin:accounts_user_change", args=[world["reader"].pk]),
        reverse("admin:subscriptions_subscription_changelist"),
        reverse("admin:subscriptions_subscription_change", args=[world["subscription"].pk]),
        reverse("admin:subscriptions_match_changelist"),
        reverse("admin:subscriptions_match_change", args=[match.pk]),
        reverse("admin:digests_digest_changelist"),
        reverse("admin:digests_digest_change", args=[world["digest"].pk]),
        reverse("admin:digests_delivery_changelist"),
        reverse("admin:digests_delivery_change", args=[world["delivery"].pk]),
        reverse("admin:digests_suppression_changelist"),
        reverse("admin:subscriptions_feedback_changelist"),
        reverse("admin:digests_deliveryhold_changelist"),
    ]


def assert_shown_as_text(html: str, url: str) -> None:
    for markup in RAW_MARKUP:
        assert markup not in html, f"{url} renders {markup!r} as markup"


def test_hostile_text_is_escaped_on_every_admin_page(client, hostile_world):
    client.force_login(make_superuser())
    escaped_somewhere = False
    for url in pages(hostile_world):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert_shown_as_text(html, url)
        escaped_somewhere |= "&lt;script&gt;" in html
    assert escaped_somewhere


def test_hostile_text_in_a_curation_action_message_is_escaped(client, hostile_world):
    client.force_login(make_superuser())
    response = client.post(
        reverse("admin:papers_source_changelist"),
        {"action": "disable", "_selected_action": [hostile_world["source"].pk]},
        follow=True,
    )
    assert_shown_as_text(response.content.decode(), "source changelist after an action")
    client.post(
        reverse("admin:papers_paper_changelist"),
        {"action": "hide", "_selected_action": [hostile_world["paper"].pk]},
    )
    assert LogEntry.objects.filter(object_repr__contains="<script>").exists()
    history = client.get(reverse("admin:index")).content.decode()  # "Recent actions"
    assert_shown_as_text(history, "recent actions")


def test_the_email_preview_shows_hostile_text_as_text(client, hostile_world):
    client.force_login(make_superuser())
    preview = client.get(reverse("admin:digest_today_preview", args=[hostile_world["reader"].pk]))
    html = preview.content.decode()
    assert_shown_as_text(html, "email preview")
    assert "&lt;script&gt;" in html
