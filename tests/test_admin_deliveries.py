"""The Delivery admin: today's run, history by day, failure reasons, resend."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from digest.curation import Resend, resend_delivery
from digest.digests.models import Delivery, Suppression
from digest.digests.reports import failure_reasons, run_counts, run_history
from tests.admin_support import eager_tasks, make_curator
from tests.factories import DeliveryFactory, DigestFactory, SubscriptionFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:digests_delivery_changelist"


@pytest.fixture
def curator_client(client):
    client.force_login(make_curator())
    return client


def delivery(status: str, *, date: dt.date | None = None, **fields) -> Delivery:
    digest = DigestFactory(date=date or timezone.localdate())
    return DeliveryFactory(digest=digest, status=status, **fields)


@pytest.fixture
def todays_run():
    for status, count in (("sent", 3), ("pending", 2), ("retrying", 1), ("failed", 1)):
        for _ in range(count):
            delivery(status)
    delivery("suppressed")
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    delivery("sent", date=yesterday)
    delivery("failed", date=yesterday, last_error="550 no such user")


def test_run_counts_count_todays_deliveries_by_status(todays_run):
    counts = run_counts(timezone.localdate())
    assert counts["due"] == 8
    assert (counts["sent"], counts["pending"], counts["retrying"]) == (3, 2, 1)
    assert (counts["failed"], counts["suppressed"]) == (1, 1)


def test_history_by_day_is_most_recent_first(todays_run):
    today = timezone.localdate()
    history = run_history(today=today, days=3)
    assert [day.date for day in history] == [today - dt.timedelta(days=n) for n in range(3)]
    assert history[1].counts["due"] == 2
    assert history[1].counts["failed"] == 1
    assert history[2].counts["due"] == 0


def test_the_delivery_list_shows_todays_run_and_history(curator_client, todays_run):
    response = curator_client.get(reverse(CHANGELIST))
    html = response.content.decode()
    assert response.context["run_today"]["due"] == 8
    assert 'data-count="due"' in html and 'data-count="suppressed"' in html
    assert "History by day" in html
    assert "550 no such user" in html  # failure reason column


def test_filter_by_status_and_by_failure_reason(curator_client, todays_run):
    failed = curator_client.get(reverse(CHANGELIST), {"status__exact": "failed"})
    assert {d.status for d in failed.context["cl"].result_list} == {"failed"}
    with_error = curator_client.get(reverse(CHANGELIST), {"has_error": "yes"})
    assert [d.last_error for d in with_error.context["cl"].result_list] == ["550 no such user"]


def test_resend_puts_a_failed_delivery_back_and_sends_it(
    curator_client, smtp_sink, django_capture_on_commit_callbacks
):
    reader = UserFactory(email="reader@example.org")
    SubscriptionFactory(owner=reader)
    failed = DeliveryFactory(
        digest=DigestFactory(user=reader),
        status=Delivery.Status.FAILED,
        attempts=8,
        last_error="421 4.7.0 try again later",
    )
    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        response = curator_client.post(
            reverse(CHANGELIST), {"action": "resend", "_selected_action": [failed.pk]}
        )
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.status == Delivery.Status.SENT
    assert failed.message_id
    assert len(smtp_sink.messages) == 1
    assert smtp_sink.messages[0]["Message-ID"].strip("<>") == failed.message_id.strip("<>")


def test_resend_only_requeues_failed_deliveries(django_capture_on_commit_callbacks):
    sent = delivery("sent", sent_at=timezone.now())
    with django_capture_on_commit_callbacks() as callbacks:
        assert resend_delivery(sent.pk) == Resend.NOT_FAILED
    assert callbacks == []
    sent.refresh_from_db()
    assert sent.status == "sent"


def test_resend_refuses_a_suppressed_address(django_capture_on_commit_callbacks):
    failed = delivery("failed", to_email="bounced@example.org")
    Suppression.objects.create(email="Bounced@example.org", reason=Suppression.Reason.BOUNCE)
    with django_capture_on_commit_callbacks() as callbacks:
        assert resend_delivery(failed.pk) == Resend.SUPPRESSED
    assert callbacks == []
    assert Delivery.objects.get(pk=failed.pk).status == "failed"


def test_resend_twice_enqueues_once(django_capture_on_commit_callbacks):
    failed = delivery("failed")
    with django_capture_on_commit_callbacks() as callbacks:
        assert resend_delivery(failed.pk) == Resend.QUEUED
        assert resend_delivery(failed.pk) == Resend.NOT_FAILED
    assert len(callbacks) == 1
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("pending", 0)


def test_staff_without_the_resend_permission_cannot_resend(client):
    failed = delivery("failed")
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_delivery"))
    client.force_login(User.objects.get(pk=staff.pk))
    page = client.get(reverse(CHANGELIST))
    assert page.status_code == 200
    assert b'value="resend"' not in page.content
    client.post(reverse(CHANGELIST), {"action": "resend", "_selected_action": [failed.pk]})
    assert Delivery.objects.get(pk=failed.pk).status == "failed"


def test_deliveries_are_read_only_even_for_curators(curator_client):
    sent = delivery("sent")
    url = reverse("admin:digests_delivery_change", args=[sent.pk])
    assert curator_client.get(url).status_code == 200
    assert curator_client.post(url, {"status": "pending"}).status_code == 403
    assert Delivery.objects.get(pk=sent.pk).status == "sent"


def test_failure_reasons_group_the_same_error_for_different_addresses(curator_client):
    for email in ("a@example.org", "b@example.org", "c@example.org"):
        delivery(
            "failed",
            to_email=email,
            last_error=f"550 5.1.1 <{email}>: Recipient address rejected\nmore detail",
        )
    delivery("retrying", last_error="421 4.7.0 Try again later")
    reasons = failure_reasons(since=timezone.now() - dt.timedelta(days=1))
    assert reasons == [
        ("550 5.1.1 <address>: Recipient address rejected", 3),
        ("421 4.7.0 Try again later", 1),
    ]
    html = curator_client.get(reverse(CHANGELIST)).content.decode()
    assert "Failure reasons, last 14 days" in html
    assert "550 5.1.1 &lt;address&gt;: Recipient address rejected" in html


def test_digest_items_are_listed_with_why_they_matched(curator_client):
    from digest.digests.models import DigestItem
    from tests.factories import PaperFactory

    digest = DigestFactory()
    DigestItem.objects.create(
        digest=digest,
        user=digest.user,
        paper=PaperFactory(title="Zero-shot everything"),
        rank=1,
        hits=[{"term": "zero-shot", "field": "title"}],
    )
    html = curator_client.get(reverse("admin:digests_digestitem_changelist")).content.decode()
    assert "Zero-shot everything" in html
    assert "matched: `zero-shot` in title" in html
