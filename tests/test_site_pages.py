"""The public pages: landing page with today's papers and the sign-up form, and the day's
papers ranked by upvotes then by how many subscriptions matched them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from subscriptions.models import Match
from tests.factories import PaperFactory, SubscriptionFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_cache")]


def match(paper, subscription=None):
    subscription = subscription or SubscriptionFactory()
    Match.objects.create(subscription=subscription, paper=paper, owner=subscription.owner)


def test_landing_page_explains_shows_papers_and_has_the_sign_up_form(client):
    PaperFactory(title="A paper announced today", upvotes=3)
    page = client.get(reverse("home")).content.decode()
    assert "The new papers you care about" in page
    assert "A paper announced today" in page
    assert f'action="{reverse("account_signup")}"' in page
    assert 'name="timezone"' in page and 'name="password1"' in page


def test_day_page_ranks_by_upvotes_then_matches(client):
    few_votes = PaperFactory(title="Few votes", upvotes=1)
    many_votes = PaperFactory(title="Many votes", upvotes=9)
    followed = PaperFactory(title="Followed twice", upvotes=1)
    match(followed)
    match(followed)
    PaperFactory(title="Hidden one", upvotes=99, hidden=True)
    page = client.get(reverse("papers_today")).content.decode()
    assert page.index("Many votes") < page.index("Followed twice") < page.index("Few votes")
    assert "Hidden one" not in page
    assert "followed by 2 subscriptions" in page
    assert few_votes.title in page and many_votes.title in page


def test_days_are_browsable(client):
    today = timezone.localdate()
    earlier = today - dt.timedelta(days=3)
    PaperFactory(title="Earlier paper", announced_on=earlier)
    PaperFactory(title="Today paper", announced_on=today)
    latest = client.get(reverse("papers_today")).content.decode()
    assert "Today paper" in latest and "Earlier paper" not in latest
    assert reverse("papers_day", args=[earlier.isoformat()]) in latest
    older = client.get(reverse("papers_day", args=[earlier.isoformat()])).content.decode()
    assert "Earlier paper" in older and reverse("papers_day", args=[today.isoformat()]) in older


def test_latest_day_is_shown_when_today_has_no_papers(client):
    friday = timezone.localdate() - dt.timedelta(days=2)
    PaperFactory(title="Friday paper", announced_on=friday)
    assert "Friday paper" in client.get(reverse("papers_today")).content.decode()


def test_date_picker_redirects_to_the_day(client):
    response = client.get(reverse("papers_today"), {"date": "2026-01-15"})
    assert response.status_code == 302
    assert response["Location"] == reverse("papers_day", args=["2026-01-15"])


def test_a_bad_date_is_not_found(client):
    assert client.get("/papers/not-a-date/").status_code == 404


def test_hostile_paper_text_is_escaped(client):
    PaperFactory(title="<script>alert(1)</script>", abstract='"><img src=x onerror=alert(1)>')
    page = client.get(reverse("papers_today")).content.decode()
    assert "<script>alert(1)" not in page and "<img src=x" not in page
