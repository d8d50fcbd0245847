"""Digest settings, pause and resume."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_cache")]


@pytest.fixture
def reader(client):
    user = UserFactory(timezone="Europe/Paris")
    user.next_digest_at = timezone.now()
    user.save()
    client.force_login(user)
    return user


def settings_data(**changes):
    data = {
        "timezone": "Europe/Paris",
        "frequency": "daily",
        "weekday": "0",
        "delivery_hour": "7",
        "papers_per_digest": "25",
        "skip_empty": "on",
    }
    return {**data, **changes}


def test_saving_a_new_schedule_resets_the_next_send_time(client, reader):
    response = client.post(
        reverse("accounts:settings"),
        settings_data(timezone="Asia/Tokyo", delivery_hour="18", frequency="weekly", weekday="4"),
    )
    assert response.status_code == 302
    reader.refresh_from_db()
    assert (reader.timezone, reader.delivery_hour, reader.frequency, reader.weekday) == (
        "Asia/Tokyo",
        18,
        "weekly",
        4,
    )
    # The next send time moved with the schedule: Friday 18:00 in Tokyo.
    local = reader.next_digest_at.astimezone(ZoneInfo("Asia/Tokyo"))
    assert (local.weekday(), local.hour, local.minute) == (4, 18, 0)


def test_unchanged_schedule_keeps_the_next_send_time(client, reader):
    before = reader.next_digest_at
    client.post(reverse("accounts:settings"), settings_data(papers_per_digest="10"))
    reader.refresh_from_db()
    assert reader.papers_per_digest == 10 and reader.next_digest_at == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"delivery_hour": "24"}, "delivery_hour"),
        ({"papers_per_digest": "0"}, "papers_per_digest"),
    ],
)
def test_bad_settings_are_refused(client, reader, changes, field):
    response = client.post(reverse("accounts:settings"), settings_data(**changes))
    assert response.status_code == 200
    assert field in response.context["form"].errors


def test_pause_then_resume_weekly(client, reader):
    client.post(reverse("accounts:pause"))
    reader.refresh_from_db()
    assert reader.frequency == User.Frequency.PAUSED and reader.next_digest_at is None
    page = client.get(reverse("subscriptions:list")).content.decode()
    assert "Paused" in page and "Resume my digest" in page
    client.post(reverse("accounts:resume"), {"frequency": "weekly"})
    reader.refresh_from_db()
    assert reader.frequency == User.Frequency.WEEKLY and reader.next_digest_at is not None


def test_resume_after_unsubscribing_subscribes_again(client, reader):
    reader.unsubscribed_at = timezone.now()
    reader.save()
    assert "Unsubscribed" in client.get(reverse("subscriptions:list")).content.decode()
    client.post(reverse("accounts:resume"), {"frequency": "daily"})
    reader.refresh_from_db()
    assert reader.unsubscribed_at is None and reader.frequency == "daily"


def test_pause_and_resume_only_by_post(client, reader):
    assert client.get(reverse("accounts:pause")).status_code == 405
    reader.refresh_from_db()
    assert reader.frequency == "daily"


def test_next_cannot_redirect_off_site(client, reader):
    response = client.post(reverse("accounts:pause"), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("subscriptions:list")


def test_the_weekday_says_it_is_for_weekly_digests(client, reader):
    page = client.get(reverse("accounts:settings")).content.decode()
    assert 'name="weekday"' in page and "Only for weekly digests." in page
    assert "js/schedule.js" in page
