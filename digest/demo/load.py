"""``load_demo``: the sources a new installation reads, papers from real recorded data, a demo
subscriber, an admin, then the match step, so a person can send themselves a digest within a
minute of ``make run``.

* **Real sources, enabled**: arXiv's daily listing of ``ARXIV_CATEGORIES`` and Hugging Face's
  daily papers, fetched by beat like any Source. Created once; after that they are the
  operator's (admin → Sources): a later run never re-enables or rewrites them.
* **Recorded papers**, from disabled "Demo: …" sources, so the site has content offline: the
  recorded arXiv API, arXiv RSS and Hugging Face daily files, with their real links, authors and
  categories. The recorded Hugging Face day is replayed as today, so today's page shows its
  papers with their upvotes. Papers from a Hugging Face listing page have no arXiv id and no
  link: their abstract page is their page on this site (``abs_url``), so every demo paper in a
  digest links to its abstract.

Idempotent: running it again the same day changes nothing that is already there (the papers are
keyed, the sources, users and subscriptions are looked up first; passwords are reset to the
documented ones).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from digest import pipeline
from digest.papers.ingest.run import ingest_content
from digest.papers.models import Paper, Source
from subscriptions.embeddings import embed_new_papers
from subscriptions.models import Subscription
from subscriptions.services import create_subscription

DEMO_DIR = Path(__file__).resolve().parent

RECORDED_FEEDS = [
    (
        "Demo: arXiv API query",
        Source.Kind.ARXIV_API,
        "arxiv_api_query.xml",
        "https://export.arxiv.org/api/query",
    ),
    (
        "Demo: arXiv cs.LG+cs.AI+cs.CL+stat.ML listing",
        Source.Kind.ARXIV_FEED,
        "arxiv_rss_cs_multi.xml",
        "https://rss.arxiv.org/rss/cs.LG+cs.AI+cs.CL+stat.ML",
    ),
    (
        "Demo: Hugging Face daily papers",
        Source.Kind.HF_DAILY,
        "hf_daily_papers_2026.json",
        "https://huggingface.co/api/daily_papers",
    ),
]
HF_PAGES_FILE = "hf_papers_pages.jsonl"

ARXIV_SOURCE = "arXiv listings"
HF_SOURCE = "Hugging Face daily papers"
HF_DAILY_URL = "https://huggingface.co/api/daily_papers"

DEMO_EMAIL = "demo@paperboy.localhost"
DEMO_PASSWORD = "paperboy-demo"
ADMIN_EMAIL = "admin@paperboy.localhost"
ADMIN_PASSWORD = "paperboy-admin"
DEMO_SUBSCRIPTIONS = [
    ("Zero-shot learning", {"query": "zero-shot"}),
    ("Diffusion models", {"query": "diffusion"}),
    ("CLIP", {"query": "CLIP"}),
    # Categories alone follow everything in them: the recorded arXiv listing's ML papers.
    ("Machine learning on arXiv", {"categories": ["cs.LG"]}),
    # An interest in words, matched by meaning rather than by exact terms.
    ("Learning without labels", {"interest": "learning without labelled examples"}),
]


@dataclass
class DemoReport:
    sources_created: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    feeds: list[str] = field(default_factory=list)
    hf_pages_created: int = 0
    hf_pages_total: int = 0
    users_created: list[str] = field(default_factory=list)
    subscriptions_created: int = 0
    papers_matched: int = 0


def hfpage_key(title: str) -> str:
    normalized = " ".join(title.split()).lower()
    return "hfpage:" + hashlib.sha1(normalized.encode()).hexdigest()


def arxiv_listing_url(categories: list[str]) -> str:
    """arXiv's RSS listing of new papers in all of ``categories``, one feed."""
    return "https://rss.arxiv.org/rss/" + "+".join(categories)


def default_sources() -> list[tuple[str, str, str]]:
    """(name, kind, URL) of the sources a new installation reads."""
    return [
        (ARXIV_SOURCE, Source.Kind.ARXIV_FEED, arxiv_listing_url(settings.ARXIV_CATEGORIES)),
        (HF_SOURCE, Source.Kind.HF_DAILY, HF_DAILY_URL),
    ]


def _create_default_sources(report: DemoReport) -> None:
    for name, kind, url in default_sources():
        source, created = Source.objects.get_or_create(
            name=name, defaults={"kind": kind, "url": url, "enabled": True}
        )
        if created:
            report.sources_created.append(f"{name} ({url})")
        elif source.url != url:
            # The operator's source now: say that the setting no longer decides, never override.
            report.notes.append(
                f"{name} reads {source.url}, not {url}: left as it is; change it in admin → Sources"
            )


def _listed_today(content: bytes) -> bytes:
    """The recorded Hugging Face daily papers as if Hugging Face had listed them today."""
    items = json.loads(content)
    today = f"{timezone.localdate().isoformat()}T00:00:00.000Z"
    for item in items:
        item["paper"]["submittedOnDailyAt"] = today
    return json.dumps(items).encode()


def _ingest_recorded_feeds(report: DemoReport) -> None:
    for name, kind, filename, url in RECORDED_FEEDS:
        # Disabled: the scheduler must not poll the real URL just because the demo ran.
        source, _ = Source.objects.get_or_create(
            name=name, defaults={"kind": kind, "url": url, "enabled": False}
        )
        content = (DEMO_DIR / filename).read_bytes()
        if kind == Source.Kind.HF_DAILY:
            content = _listed_today(content)
        outcome = ingest_content(source, content, kind=kind)
        report.feeds.append(f"{name}: {outcome.summary()}")


def paper_page_url(key: str) -> str:
    return settings.SITE_URL + reverse("paper", args=[key])


def _store_hf_pages(report: DemoReport) -> None:
    """Papers from a Hugging Face listing page: no arXiv ids there, so they get their own
    clearly marked keys, and their page on this site as their abstract page; shown as announced
    today so "Today's papers" has a full page."""
    today = timezone.localdate()
    for line in (DEMO_DIR / HF_PAGES_FILE).read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        title = " ".join(row["title"].split())
        code = next((link for link in row.get("links", []) if "github.com" in link), "")
        key = hfpage_key(title)
        paper, created = Paper.objects.get_or_create(
            key=key,
            defaults={
                "title": title,
                "abstract": " ".join(row["abstract"].split()),
                "code_url": code,
                "abs_url": paper_page_url(key),
                "announced_on": today,
                "announce_type": "new",
            },
        )
        if not created and paper.abs_url != paper_page_url(key):
            # Loaded before under another SITE_URL (or before papers had pages).
            Paper.objects.filter(pk=paper.pk).update(
                abs_url=paper_page_url(key), modified_at=timezone.now()
            )
        report.hf_pages_total += 1
        report.hf_pages_created += created


def _user(email: str, password: str, report: DemoReport, **flags) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User(email=email, **flags)
        report.users_created.append(email)
    user.set_password(password)
    for name, value in flags.items():
        setattr(user, name, value)
    user.save()
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


def load_demo() -> DemoReport:
    report = DemoReport()
    _create_default_sources(report)
    _ingest_recorded_feeds(report)
    with transaction.atomic():
        _store_hf_pages(report)
        # Embedded before the subscriptions are saved, as the daily run does before matching:
        # saving one matches it over the recent papers, by meaning too.
        embed_new_papers()
        demo = _user(DEMO_EMAIL, DEMO_PASSWORD, report)
        admin = _user(ADMIN_EMAIL, ADMIN_PASSWORD, report, is_staff=True, is_superuser=True)
        # The admin follows one topic too, so "Send today's digest now" has something to send.
        for owner, (name, follows) in [
            *((demo, subscription) for subscription in DEMO_SUBSCRIPTIONS),
            (admin, DEMO_SUBSCRIPTIONS[0]),
        ]:
            if not Subscription.objects.filter(owner=owner, name=name).exists():
                create_subscription(owner=owner, name=name, **follows)
                report.subscriptions_created += 1

    report.papers_matched = pipeline.match()
    return report
