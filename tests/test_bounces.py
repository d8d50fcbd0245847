"""Bounce and complaint webhooks (django-anymail) feed the suppression list; people see why."""

from __future__ import annotations

import base64
import json

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from digest.digests.models import Delivery, Suppression
from tests.factories import DeliveryFactory, DigestFactory, UserFactory

WEBHOOK = "/anymail/postmark/tracking/"


@pytest.fixture
def secret(settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": "hook:s3cret"}
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"hook:s3cret").decode()}


def postmark(record_type: str, kind: str, email: str) -> str:
    return json.dumps(
        {
            "RecordType": record_type,
            "Type": kind,
            "TypeCode": 1,
            "ID": 42,
            "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
            "Email": email,
            "Description": "The server was unable to deliver your message",
            "Details": "smtp;550 5.1.1 The email account does not exist.",
            "BouncedAt": "2026-11-24T07:01:00Z",
        }
    )


def post(body: str, auth: dict) -> int:
    return Client().post(WEBHOOK, body, content_type="application/json", **auth).status_code


def test_hard_bounce_suppresses_the_address_and_stops_queued_mail(db, secret):
    queued = DeliveryFactory(digest=DigestFactory(user=UserFactory(email="gone@example.org")))
    assert post(postmark("Bounce", "HardBounce", "Gone@Example.org"), secret) == 200
    suppression = Suppression.objects.get()
    assert suppression.email == "gone@example.org" and suppression.reason == "bounce"
    assert "Postmark" in suppression.detail
    queued.refresh_from_db()
    assert queued.status == Delivery.Status.SUPPRESSED


def test_spam_complaint_suppresses_the_address(db, secret):
    assert post(postmark("SpamComplaint", "SpamComplaint", "annoyed@example.org"), secret) == 200
    assert Suppression.objects.get().reason == "complaint"


def test_soft_bounce_is_left_to_the_provider_to_retry(db, secret):
    assert post(postmark("Bounce", "SoftBounce", "full@example.org"), secret) == 200
    assert not Suppression.objects.exists()


def test_webhook_refuses_requests_without_the_secret(db, secret):
    assert post(postmark("Bounce", "HardBounce", "victim@example.org"), {}) == 400
    assert not Suppression.objects.exists()


def test_webhooks_are_off_without_a_configured_secret(db, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": ""}
    assert post(postmark("Bounce", "HardBounce", "victim@example.org"), {}) == 404
    assert not Suppression.objects.exists()


def test_a_suppressed_user_is_told_why_when_logging_in(db):
    user = UserFactory(email="gone@example.org")
    Suppression.objects.create(email="gone@example.org", reason="bounce")
    client = Client()
    response = client.post(
        "/accounts/login/", {"login": user.email, "password": "correct horse battery", "next": "/"}
    )
    assert response.status_code == 302
    notices = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("not sending digests to gone@example.org" in n for n in notices)
    assert any("undeliverable" in n for n in notices)


def test_other_users_get_no_such_notice(db):
    user = UserFactory()
    response = Client().post(
        "/accounts/login/", {"login": user.email, "password": "correct horse battery", "next": "/"}
    )
    assert response.status_code == 302
    notices = [str(m) for m in get_messages(response.wsgi_request)]
    assert not any("not sending digests" in n for n in notices)
