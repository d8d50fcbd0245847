"""``manage.py load_demo``: real recorded papers, a demo subscriber and an admin, matched."""

from __future__ import annotations

import html
from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.urls import reverse

from accounts.models import User
from digest.demo.load import ADMIN_EMAIL, ADMIN_PASSWORD, DEMO_EMAIL, DEMO_PASSWORD, hfpage_key
from digest.papers.models import Paper, Source
from subscriptions.models import Match, Subscription

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_cache")]


def load() -> str:
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def snapshot():
    return (
        sorted(Paper.objects.values_list("key", "title", "modified_at")),
        sorted(Subscription.objects.values_list("owner__email", "name", "query")),
        sorted(Match.objects.values_list("subscription_id", "paper_id")),
        sorted(User.objects.values_list("email", "is_staff")),
        Source.objects.count(),
    )


def test_demo_loads_recorded_papers_users_and_matches():
    output = load()
    arxiv = Paper.objects.filter(key__startswith="arxiv:")
    pages = Paper.objects.filter(key__startswith="hfpage:")
    assert arxiv.count() >= 10 and pages.count() == 96
    assert Paper.objects.get(key=hfpage_key(pages.first().title)) == pages.first()
    demo = User.objects.get(email=DEMO_EMAIL)
    assert EmailAddress.objects.get(user=demo).verified
    assert set(demo.subscriptions.values_list("query", flat=True)) == {
        "zero-shot",
        "diffusion",
        "CLIP",
    }
    admin = User.objects.get(email=ADMIN_EMAIL)
    assert admin.is_staff and admin.is_superuser and admin.check_password(ADMIN_PASSWORD)
    assert Match.objects.filter(owner=demo, subscription__query="zero-shot").count() > 10
    assert Match.objects.filter(owner=admin).exists()
    assert not Source.objects.filter(enabled=True).exists()  # nothing polls the real feeds
    assert "Demo ready." in output and DEMO_EMAIL in output and "/admin/" in output


def test_demo_is_idempotent():
    load()
    before = snapshot()
    output = load()
    assert snapshot() == before
    assert "users created: none (already there)" in output


def test_demo_user_can_log_in_with_the_documented_password(client):
    load()
    response = client.post(
        reverse("account_login"), {"login": DEMO_EMAIL, "password": DEMO_PASSWORD}
    )
    assert response.status_code == 302
    page = client.get(reverse("subscriptions:list")).content.decode()
    assert "Zero-shot learning" in page and "matched in the last 7 days" in page


def test_todays_papers_show_the_demo_page(client):
    load()
    from digest.papers.daily import latest_day, papers_for_day

    page = client.get(reverse("papers_today")).content.decode()
    day = papers_for_day(latest_day())
    assert f"{day.count()} papers" in page
    assert html.escape(day[0].title) in page
