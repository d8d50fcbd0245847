"""Export my data and delete my account."""

from __future__ import annotations

import json

import pytest
from allauth.account.models import EmailAddress
from django.contrib.sessions.models import Session
from django.urls import reverse

from accounts.models import User
from digest.digests.deletion import delete_account
from digest.digests.export import export_user_data
from digest.digests.models import Delivery, Digest, DigestItem, Suppression
from digest.papers.models import Paper
from subscriptions.models import Feedback, Match, Subscription
from tests.factories import (
    DeliveryFactory,
    DigestFactory,
    DigestItemFactory,
    PaperFactory,
    SubscriptionFactory,
    UserFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_cache")]


@pytest.fixture
def reader_with_history():
    """A subscriber with a subscription, a match, a sent digest, a pending one and feedback."""
    user = UserFactory(email="history@example.org")
    subscription = SubscriptionFactory(owner=user, name="Zero-shot", query="zero-shot")
    paper = PaperFactory(title="Zero-shot everything")
    Match.objects.create(
        subscription=subscription,
        paper=paper,
        owner=user,
        hits=[{"term": "zero-shot", "field": "title"}],
    )
    sent = DigestFactory(user=user, date="2026-01-05")
    DigestItemFactory(digest=sent, paper=paper, hits=[{"term": "zero-shot", "field": "title"}])
    DeliveryFactory(digest=sent, status=Delivery.Status.SENT, message_id="<a@paperboy>")
    pending = DigestFactory(user=user, date="2026-01-06")
    DeliveryFactory(digest=pending, status=Delivery.Status.PENDING)
    Feedback.objects.create(user=user, paper=paper, kind=Feedback.Kind.MORE)
    return user


def test_export_contains_subscriptions_deliveries_and_feedback(reader_with_history):
    data = export_user_data(reader_with_history)
    json.dumps(data)  # serialisable as it is
    assert data["format"] == "paperboy-export/1"
    assert data["account"]["email"] == "history@example.org"
    assert data["subscriptions"] == [
        {
            "name": "Zero-shot",
            "query": "zero-shot",
            "enabled": True,
            "created_at": data["subscriptions"][0]["created_at"],
            "updated_at": data["subscriptions"][0]["updated_at"],
            "papers_matched": 1,
        }
    ]
    statuses = {(d["digest_date"], d["status"]) for d in data["deliveries"]}
    assert statuses == {("2026-01-05", "sent"), ("2026-01-06", "pending")}
    sent = next(d for d in data["deliveries"] if d["status"] == "sent")
    assert sent["message_id"] == "<a@paperboy>"
    assert sent["papers"][0]["title"] == "Zero-shot everything"
    assert sent["papers"][0]["why"] == [{"term": "zero-shot", "field": "title"}]
    assert [(f["title"], f["kind"]) for f in data["feedback"]] == [("Zero-shot everything", "more")]


def test_export_has_nothing_of_other_users(reader_with_history):
    SubscriptionFactory(name="Someone else's")
    other_digest = DigestFactory()
    DeliveryFactory(digest=other_digest)
    data = export_user_data(reader_with_history)
    assert [s["name"] for s in data["subscriptions"]] == ["Zero-shot"]
    assert len(data["deliveries"]) == 2


def test_export_downloads_as_a_json_attachment(client, reader_with_history):
    client.force_login(reader_with_history)
    response = client.post(reverse("accounts:export"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith('attachment; filename="paperboy-export-')
    assert json.loads(response.content)["account"]["email"] == "history@example.org"


def test_export_by_get_does_not_download(client, reader_with_history):
    client.force_login(reader_with_history)
    assert client.get(reverse("accounts:export")).status_code == 302


def test_deleting_the_account_leaves_nothing_of_the_user(reader_with_history):
    user = reader_with_history
    Suppression.objects.create(email="History@example.org", reason="bounce")
    other = SubscriptionFactory(name="Other person's")
    paper_ids = list(Paper.objects.values_list("id", flat=True))

    report = delete_account(user)

    assert report.deliveries_cancelled == 1
    assert not User.objects.filter(pk=user.pk).exists()
    for model in (Subscription, Match, Digest, DigestItem, Delivery, Feedback):
        field = {"Subscription": "owner", "Match": "owner"}.get(model.__name__, "user")
        lookup = "digest__user_id" if model is Delivery else f"{field}_id"
        assert not model.objects.filter(**{lookup: user.pk}).exists(), model.__name__
    assert not EmailAddress.objects.filter(email__iexact="history@example.org").exists()
    assert not Suppression.objects.filter(email__iexact="history@example.org").exists()
    # Other people's data and the papers themselves stay.
    assert Subscription.objects.filter(pk=other.pk).exists()
    assert list(Paper.objects.values_list("id", flat=True)) == paper_ids


def test_in_flight_deliveries_are_cancelled_before_the_rows_go(reader_with_history, monkeypatch):
    """The cancellation is committed on its own, before the user row is deleted: a worker that
    looks at its delivery in between sees ``cancelled`` with its claim dropped."""
    user = reader_with_history
    claimed = DigestFactory(user=user, date="2026-01-07")
    DeliveryFactory(
        digest=claimed, status=Delivery.Status.SENDING, claimed_by="worker-1:abc", attempts=1
    )
    retrying = DigestFactory(user=user, date="2026-01-08")
    DeliveryFactory(digest=retrying, status=Delivery.Status.RETRYING)
    seen_before_delete = {}
    original_delete = User.delete

    def spy_delete(self, *args, **kwargs):
        seen_before_delete.update(
            {
                d.digest.date.isoformat(): (d.status, d.claimed_by)
                for d in Delivery.objects.filter(digest__user=self).select_related("digest")
            }
        )
        return original_delete(self, *args, **kwargs)

    monkeypatch.setattr(User, "delete", spy_delete)
    report = delete_account(user)
    assert report.deliveries_cancelled == 3
    assert seen_before_delete == {
        "2026-01-05": ("sent", ""),
        "2026-01-06": ("cancelled", ""),
        "2026-01-07": ("cancelled", ""),
        "2026-01-08": ("cancelled", ""),
    }


def test_delete_page_needs_the_email_typed(client, reader_with_history):
    client.force_login(reader_with_history)
    page = client.post(reverse("accounts:delete"), {"confirm_email": "wrong@example.org"})
    assert page.status_code == 200
    assert "That is not your email address" in page.content.decode()
    assert User.objects.filter(pk=reader_with_history.pk).exists()


def test_deleting_through_the_page_logs_out_and_removes_sessions(client, reader_with_history):
    client.force_login(reader_with_history)
    other_browser = type(client)()
    other_browser.force_login(reader_with_history)
    response = client.post(reverse("accounts:delete"), {"confirm_email": "HISTORY@example.org"})
    assert response.status_code == 200
    assert "Your account is deleted" in response.content.decode()
    assert not User.objects.filter(email="history@example.org").exists()
    sessions = [s.get_decoded() for s in Session.objects.all()]
    assert not any(s.get("_auth_user_id") == str(reader_with_history.pk) for s in sessions)
    assert other_browser.get(reverse("subscriptions:list")).status_code == 302


def test_a_worker_holding_a_claim_cannot_send_after_the_account_is_deleted(smtp_sink):
    """The worker claimed the delivery (status sending) and then the account went away: when
    it gets to sending, it finds its claim gone and sends nothing."""
    from digest.digests.delivery import claim, deliver

    user = UserFactory(email="leaving@example.org")
    digest = DigestFactory(user=user)
    DigestItemFactory(digest=digest, paper__title="Never to be sent")
    delivery = DeliveryFactory(digest=digest)
    [claimed] = claim(ids=[delivery.pk])
    assert claimed.status == Delivery.Status.SENDING

    assert delete_account(user).deliveries_cancelled == 1
    report = deliver([claimed])

    assert smtp_sink.messages == []
    assert report.sent == 0 and report.lost_claims == 1


def test_a_cancelled_but_not_yet_deleted_delivery_is_not_sent_either(smtp_sink):
    from digest.digests.deletion import cancel_deliveries
    from digest.digests.delivery import claim, deliver

    user = UserFactory()
    delivery = DeliveryFactory(digest=DigestItemFactory(digest__user=user).digest)
    [claimed] = claim(ids=[delivery.pk])
    cancel_deliveries(user)
    assert deliver([claimed]).sent == 0
    assert smtp_sink.messages == []
    assert Delivery.objects.get(pk=delivery.pk).status == Delivery.Status.CANCELLED
