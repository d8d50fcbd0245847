"""Subscribers in the admin: search, state, subscriptions, delivery history, resend."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from digest.digests.models import Delivery, Suppression
from digest.digests.subscriber_state import SubscriberState, state_of
from tests.admin_support import eager_tasks, make_curator
from tests.factories import DeliveryFactory, DigestFactory, SubscriptionFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:accounts_user_changelist"


@pytest.fixture
def curator_client(client):
    client.force_login(make_curator())
    return client


@pytest.fixture
def people():
    people = {
        "active": UserFactory(email="active@example.org"),
        "unverified": UserFactory(email="new@example.org", verified=False),
        "paused": UserFactory(email="holiday@example.org", frequency="paused"),
        "suppressed": UserFactory(email="Bounced@Example.org"),
        "unsubscribed": UserFactory(email="gone@example.org", unsubscribed_at=timezone.now()),
        "inactive": UserFactory(email="banned@example.org", is_active=False),
    }
    # The suppression list keeps the address as the mail server wrote it.
    Suppression.objects.create(email="bounced@example.org", reason=Suppression.Reason.BOUNCE)
    return people


def test_each_subscriber_has_a_state(people):
    for state, user in people.items():
        assert state_of(user) == SubscriberState(state), user.email


def test_suppression_wins_over_pause_and_unsubscribe_wins_over_unverified(people):
    people["suppressed"].frequency = "paused"
    people["suppressed"].save()
    gone = UserFactory(verified=False, unsubscribed_at=timezone.now())
    assert state_of(people["suppressed"]) == SubscriberState.SUPPRESSED
    assert state_of(gone) == SubscriberState.UNSUBSCRIBED


def test_the_list_shows_the_state_and_filters_by_it(curator_client, people):
    response = curator_client.get(reverse(CHANGELIST))
    html = response.content.decode()
    for state in ("Active", "Email not verified", "Paused", "Suppressed", "Unsubscribed"):
        assert state in html
    for state, user in people.items():
        filtered = curator_client.get(reverse(CHANGELIST), {"state": state})
        subscribers = [u.pk for u in filtered.context["cl"].result_list if not u.is_staff]
        assert subscribers == [user.pk], state


def test_search_by_email(curator_client, people):
    response = curator_client.get(reverse(CHANGELIST), {"q": "holiday@"})
    assert [u.pk for u in response.context["cl"].result_list] == [people["paused"].pk]


def test_the_subscriber_page_lists_subscriptions_and_delivery_history(curator_client):
    reader = UserFactory(email="reader@example.org")
    SubscriptionFactory(owner=reader, name="Diffusion", query="diffusion AND protein")
    sent = DeliveryFactory(
        digest=DigestFactory(user=reader, date=timezone.localdate()),
        status=Delivery.Status.SENT,
        sent_at=timezone.now(),
    )
    failed = DeliveryFactory(
        digest=DigestFactory(user=reader, date=timezone.localdate() - timezone.timedelta(days=1)),
        status=Delivery.Status.FAILED,
        last_error="550 5.1.1 mailbox unavailable",
    )
    html = curator_client.get(reverse("admin:accounts_user_change", args=[reader.pk])).content
    html = html.decode()
    assert "Diffusion" in html and "diffusion AND protein" in html
    assert "Delivery history" in html
    assert "550 5.1.1 mailbox unavailable" in html
    assert reverse("admin:digests_delivery_change", args=[sent.pk]) in html
    assert reverse("admin:digests_delivery_change", args=[failed.pk]) in html


def test_resend_a_subscribers_failed_delivery(
    curator_client, smtp_sink, django_capture_on_commit_callbacks
):
    reader = UserFactory(email="reader@example.org")
    SubscriptionFactory(owner=reader)
    failed = DeliveryFactory(
        digest=DigestFactory(user=reader),
        status=Delivery.Status.FAILED,
        attempts=8,
        last_error="421 try later",
    )
    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        response = curator_client.post(
            reverse(CHANGELIST), {"action": "resend_failed", "_selected_action": [reader.pk]}
        )
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.status == Delivery.Status.SENT
    assert [message["To"] for message in smtp_sink.messages] == ["reader@example.org"]
