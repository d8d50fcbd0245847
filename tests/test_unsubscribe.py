"""Unsubscribe links work without login or cookies; GET never unsubscribes."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from digest.digests.models import Delivery
from digest.digests.unsubscribe import (
    RESUBSCRIBE_WINDOW,
    make_token,
    resubscribe_token,
    unsubscribe,
    user_for_token,
)
from tests.factories import DeliveryFactory, DigestFactory, UserFactory


@pytest.fixture
def user(db):
    return UserFactory()


def unsubscribe_path(user) -> str:
    return reverse("unsubscribe", kwargs={"token": make_token(user)})


def test_token_identifies_the_user(user):
    assert user_for_token(make_token(user)) == user


@pytest.mark.parametrize("mangle", [lambda t: t[:-2], lambda t: "9" + t, lambda t: "nonsense"])
def test_forged_or_mangled_tokens_are_refused(user, mangle):
    assert user_for_token(mangle(make_token(user))) is None


def test_changing_the_email_address_invalidates_old_links(user):
    token = make_token(user)
    user.email = "new@example.org"
    user.save()
    assert user_for_token(token) is None


def test_get_shows_a_confirm_button_and_changes_nothing(user):
    response = Client().get(unsubscribe_path(user))
    assert response.status_code == 200
    assert b'<form method="post"' in response.content
    assert b"Unsubscribe</button>" in response.content
    user.refresh_from_db()
    assert user.unsubscribed_at is None


def test_confirm_post_unsubscribes_without_login_and_offers_resubscribe(user):
    client = Client(enforce_csrf_checks=True)
    client.get(unsubscribe_path(user))
    response = client.post(unsubscribe_path(user), {"confirm": "1"})
    assert response.status_code == 200
    assert b"You are unsubscribed" in response.content
    assert b"/resubscribe/" in response.content
    user.refresh_from_db()
    assert user.unsubscribed_at is not None and user.next_digest_at is None


def test_one_click_post_without_cookies_or_csrf_token_unsubscribes(user):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        unsubscribe_path(user),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert not client.cookies
    user.refresh_from_db()
    assert user.unsubscribed_at is not None


def test_unsubscribing_cancels_digests_already_queued(user):
    queued = DeliveryFactory(digest=DigestFactory(user=user))
    sent = DeliveryFactory(digest=DigestFactory(user=user, date="2026-01-01"), status="sent")
    Client().post(unsubscribe_path(user))
    queued.refresh_from_db()
    sent.refresh_from_db()
    assert queued.status == Delivery.Status.CANCELLED
    assert sent.status == Delivery.Status.SENT


def test_unsubscribing_twice_keeps_the_first_time(user):
    Client().post(unsubscribe_path(user))
    user.refresh_from_db()
    first = user.unsubscribed_at
    response = Client().get(unsubscribe_path(user))
    assert b"already unsubscribed" in response.content
    Client().post(unsubscribe_path(user))
    user.refresh_from_db()
    assert user.unsubscribed_at == first


def resubscribe_path_on(page: bytes) -> str:
    found = re.search(rb'action="[^"]*(/resubscribe/[^"/]+/)"', page)
    assert found, "no resubscribe button on the page"
    return found.group(1).decode()


def test_resubscribe_right_after_unsubscribing_restores_the_schedule(user):
    client = Client(enforce_csrf_checks=True)
    unsubscribed = client.post(unsubscribe_path(user))
    response = client.post(resubscribe_path_on(unsubscribed.content))
    assert response.status_code == 200 and b"Welcome back" in response.content
    user.refresh_from_db()
    assert user.unsubscribed_at is None
    assert user.next_digest_at is not None and user.next_digest_at > timezone.now()


def test_the_unsubscribe_link_from_an_email_cannot_resubscribe(user):
    """Anyone holding a forwarded digest has its unsubscribe token; it must not undo the
    reader's unsubscribe."""
    Client().post(unsubscribe_path(user))
    response = Client().post(reverse("resubscribe", kwargs={"token": make_token(user)}))
    assert response.status_code == 404
    user.refresh_from_db()
    assert user.unsubscribed_at is not None


def test_replaying_the_unsubscribe_link_offers_no_resubscribe_button(user):
    Client().post(unsubscribe_path(user))  # the reader
    replay = Client().post(unsubscribe_path(user))  # someone with a forwarded digest
    assert replay.status_code == 200
    assert b"/resubscribe/" not in replay.content
    assert reverse("account_login").encode() in replay.content  # the reader's own way back


def test_the_resubscribe_button_works_once(user):
    first = Client().post(unsubscribe_path(user))
    path = resubscribe_path_on(first.content)
    Client().post(path)
    Client().post(unsubscribe_path(user))
    again = Client().post(path)
    assert again.status_code == 404
    user.refresh_from_db()
    assert user.unsubscribed_at is not None


def test_the_resubscribe_button_expires_and_then_points_to_logging_in(user):
    unsubscribe(user, now=timezone.now() - RESUBSCRIBE_WINDOW - dt.timedelta(seconds=1))
    response = Client().post(reverse("resubscribe", kwargs={"token": resubscribe_token(user)}))
    assert response.status_code == 404
    assert reverse("account_login").encode() in response.content
    user.refresh_from_db()
    assert user.unsubscribed_at is not None


def test_resubscribe_does_not_answer_get(user):
    unsubscribe(user)
    response = Client().get(reverse("resubscribe", kwargs={"token": resubscribe_token(user)}))
    assert response.status_code == 405


def test_invalid_link_gets_a_clear_page(db):
    response = Client().get(reverse("unsubscribe", kwargs={"token": "1-abc.def"}))
    assert response.status_code == 404
    assert b"This link is not valid" in response.content
