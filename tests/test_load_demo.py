"""``manage.py load_demo`` (which ``make run`` calls): the real sources a new installation
reads, real recorded papers, a demo subscriber and an admin, matched."""

from __future__ import annotations

import datetime as dt
import html
import re
from io import StringIO
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from digest.demo.load import ADMIN_EMAIL, ADMIN_PASSWORD, DEMO_EMAIL, DEMO_PASSWORD, hfpage_key
from digest.digests.compose import build_digest
from digest.papers.daily import latest_day, papers_for_day
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
    follows = {(s.query, tuple(s.categories), s.interest) for s in demo.subscriptions.all()}
    assert follows == {
        ("zero-shot", (), ""),
        ("diffusion", (), ""),
        ("CLIP", (), ""),
        ("", ("cs.LG",), ""),
        ("", (), "learning without labelled examples"),
    }
    admin = User.objects.get(email=ADMIN_EMAIL)
    assert admin.is_staff and admin.is_superuser and admin.check_password(ADMIN_PASSWORD)
    assert Match.objects.filter(owner=demo, subscription__query="zero-shot").count() > 10
    assert Match.objects.filter(owner=admin).exists()
    # The recorded files' sources stay disabled: beat never polls a demo's URL.
    assert not Source.objects.filter(name__startswith="Demo:", enabled=True).exists()
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
    page = client.get(reverse("papers_today")).content.decode()
    day = papers_for_day(latest_day())
    assert f"{day.count()} papers" in page
    assert html.escape(day[0].title) in page


REAL_SOURCES = {
    ("arXiv listings", "arxiv_feed", "https://rss.arxiv.org/rss/cs.AI+cs.CL+cs.CV+cs.LG+stat.ML"),
    ("Hugging Face daily papers", "hf_daily", "https://huggingface.co/api/daily_papers"),
}


def enabled_sources() -> set[tuple[str, str, str]]:
    return set(Source.objects.filter(enabled=True).values_list("name", "kind", "url"))


def test_a_fresh_clone_reads_real_feeds_shows_upvotes_and_links_every_digest_paper(
    client, settings
):
    """The issue's acceptance: a fresh clone's `make run` has real Sources enabled, shows
    Hugging Face papers with upvotes on the daily page from the demo, and every demo paper in a
    digest links to its abstract page."""
    output = load()
    assert enabled_sources() == REAL_SOURCES
    assert "source created, enabled: arXiv listings" in output

    page = client.get(reverse("papers_today")).content.decode()
    for arxiv_id, upvotes in (("2607.28229", 4), ("2607.26654", 3), ("2607.27851", 2)):
        paper = Paper.objects.get(arxiv_id=arxiv_id)
        card = re.search(
            rf'<li class="paper">\s*<div class="votes"[^>]*>{upvotes}<span>upvotes</span>.*?'
            rf'<a href="{re.escape(paper.get_absolute_url())}">',
            page,
            re.S,
        )
        assert card, f"{arxiv_id} with {upvotes} upvotes is not on today's page"

    digest = build_digest(User.objects.get(email=DEMO_EMAIL), now=timezone.now())
    items = list(digest.items.select_related("paper"))
    assert len(items) > 20
    assert {item.paper.key.split(":")[0] for item in items} == {"arxiv", "hfpage"}
    for item in items:
        url = item.paper.abs_url
        assert url.startswith(("https://arxiv.org/abs/", f"{settings.SITE_URL}/paper/")), url
        if item.paper.key.startswith("hfpage:"):
            abstract_page = client.get(urlsplit(url).path)
            assert abstract_page.status_code == 200
            assert html.escape(item.paper.abstract[:80]) in abstract_page.content.decode()


def test_every_demo_subscription_matches_papers_with_links():
    load()
    for subscription in Subscription.objects.filter(owner__email=DEMO_EMAIL):
        papers = Paper.objects.filter(matches__subscription=subscription)
        assert papers.exists(), subscription.name
        assert not papers.filter(abs_url="").exists(), subscription.name
    # Categories are real: the recorded arXiv listing's machine-learning papers.
    by_category = Paper.objects.filter(matches__subscription__categories=["cs.LG"]).distinct()
    assert {paper.arxiv_id for paper in by_category} >= {"2609.26811", "2609.26820"}


def test_the_arxiv_source_reads_the_configured_categories(settings):
    settings.ARXIV_CATEGORIES = ["cs.RO", "eess.AS"]
    load()
    assert Source.objects.get(name="arXiv listings").url == (
        "https://rss.arxiv.org/rss/cs.RO+eess.AS"
    )


def test_a_later_run_leaves_the_operators_sources_as_they_are(settings):
    load()
    Source.objects.filter(name="Hugging Face daily papers").update(enabled=False)
    Source.objects.filter(name="arXiv listings").update(url="https://rss.arxiv.org/rss/math.AG")
    settings.ARXIV_CATEGORIES = ["cs.RO"]
    output = load()
    assert not Source.objects.get(name="Hugging Face daily papers").enabled
    assert Source.objects.get(name="arXiv listings").url == "https://rss.arxiv.org/rss/math.AG"
    assert (
        "arXiv listings reads https://rss.arxiv.org/rss/math.AG, not "
        "https://rss.arxiv.org/rss/cs.RO: left as it is; change it in admin → Sources"
    ) in output


def test_the_recorded_hugging_face_day_is_replayed_as_today():
    load()
    today = timezone.localdate()
    recorded = Paper.objects.filter(arxiv_id__in=["2607.28229", "2607.26654", "2607.27851"])
    assert {paper.hf_daily_on for paper in recorded} == {today}
    assert {paper.published_at.date() for paper in recorded} <= {  # arXiv's dates stay real
        dt.date(2026, 7, 29),
        dt.date(2026, 7, 30),
    }
