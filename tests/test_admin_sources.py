"""Sources in the admin: add, enable, disable, fetch now, last status and papers per day."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.urls import reverse
from django.utils import timezone

from digest.papers.models import Sighting, Source
from tests.admin_support import eager_tasks, form_data, make_curator
from tests.factories import PaperFactory, SourceFactory
from tests.feedserver import Route, serve_feeds

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:papers_source_changelist"


@pytest.fixture
def curator_client(client):
    client.force_login(make_curator())
    return client


@pytest.fixture
def feed_server(fixture_path, settings) -> Iterator[str]:
    """A real HTTP server on loopback serving the recorded arXiv RSS listing at /feed.xml."""
    with serve_feeds(settings) as server:
        server.routes["/feed.xml"] = Route(
            fixture_path("arxiv_rss_cs_multi.xml").read_bytes(),
            content_type="application/rss+xml",
        )
        yield server.base_url


def test_a_curator_adds_a_source(curator_client):
    response = curator_client.post(
        reverse("admin:papers_source_add"),
        {
            "name": "cs.CL listing",
            "kind": Source.Kind.ARXIV_FEED,
            "url": "https://rss.arxiv.org/rss/cs.CL",
            "enabled": "on",
        },
    )
    assert response.status_code == 302
    source = Source.objects.get(name="cs.CL listing")
    assert (source.kind, source.enabled, source.last_status) == ("arxiv_feed", True, "never")


def test_a_source_needs_a_real_url(curator_client):
    response = curator_client.post(
        reverse("admin:papers_source_add"),
        {"name": "broken", "kind": Source.Kind.FEED, "url": "not a url"},
    )
    assert response.status_code == 200
    assert "url" in response.context["adminform"].form.errors
    assert not Source.objects.filter(name="broken").exists()


def test_enable_and_disable_actions(curator_client):
    first, second = SourceFactory(enabled=True), SourceFactory(enabled=True)
    curator_client.post(
        reverse(CHANGELIST), {"action": "disable", "_selected_action": [first.pk, second.pk]}
    )
    assert not Source.objects.filter(enabled=True).exists()
    curator_client.post(reverse(CHANGELIST), {"action": "enable", "_selected_action": [second.pk]})
    assert list(Source.objects.filter(enabled=True)) == [second]


def test_the_list_shows_last_status_error_and_papers_per_day(curator_client):
    source = SourceFactory(
        name="flaky", last_status=Source.Status.ERROR, last_error="HTTP 503 Service Unavailable"
    )
    for _ in range(14):
        Sighting.objects.create(source=source, paper=PaperFactory())
    response = curator_client.get(reverse(CHANGELIST))
    html = response.content.decode()
    assert "HTTP 503 Service Unavailable" in html
    assert "Error" in html
    row = next(s for s in response.context["cl"].result_list if s.pk == source.pk)
    assert row.papers_week == 14
    assert "2.0" in html  # 14 papers over 7 days


def test_the_change_page_shows_new_papers_per_day(curator_client):
    source = SourceFactory()
    today = timezone.localdate()
    noon = timezone.make_aware(dt.datetime.combine(today, dt.time(12)))
    for days_ago, count in ((0, 3), (2, 1)):
        for _ in range(count):
            Sighting.objects.create(
                source=source,
                paper=PaperFactory(),
                first_seen_at=noon - dt.timedelta(days=days_ago),
            )
    from digest.digests.reports import papers_per_day

    per_day = dict(papers_per_day(source, today=today))
    assert per_day[today] == 3
    assert per_day[today - dt.timedelta(days=1)] == 0
    assert per_day[today - dt.timedelta(days=2)] == 1
    html = curator_client.get(reverse("admin:papers_source_change", args=[source.pk])).content
    assert b'class="paperboy-days"' in html
    assert f"<th>{today:%b %d}</th>".encode() in html


def test_fetch_now_ingests_the_source(
    curator_client, feed_server, django_capture_on_commit_callbacks
):
    source = SourceFactory(name="local listing", url=f"{feed_server}/feed.xml")
    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        response = curator_client.post(
            reverse(CHANGELIST), {"action": "fetch_now", "_selected_action": [source.pk]}
        )
    assert response.status_code == 302
    source.refresh_from_db()
    assert source.last_status == Source.Status.OK, source.last_error
    assert source.last_fetched_at is not None
    assert source.last_count > 0
    assert source.papers.count() == source.last_count


def test_save_and_fetch_now_from_the_change_form(
    curator_client, feed_server, django_capture_on_commit_callbacks
):
    source = SourceFactory(name="local listing", url="https://example.org/old.xml")
    url = reverse("admin:papers_source_change", args=[source.pk])
    data = form_data(curator_client.get(url).content.decode(), "source_form")
    data["url"] = f"{feed_server}/feed.xml"
    data["papers_source_fetch_now_after_save"] = "Save and fetch now"
    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        response = curator_client.post(url, data)
    assert response.status_code == 302
    source.refresh_from_db()
    assert source.url == f"{feed_server}/feed.xml"
    assert source.last_status == Source.Status.OK, source.last_error
    assert source.papers.exists()


def test_fetch_now_records_a_clear_error_for_a_missing_feed(
    curator_client, feed_server, django_capture_on_commit_callbacks
):
    source = SourceFactory(name="gone", url=f"{feed_server}/missing.xml")
    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        curator_client.post(
            reverse(CHANGELIST), {"action": "fetch_now", "_selected_action": [source.pk]}
        )
    source.refresh_from_db()
    assert source.last_status == Source.Status.ERROR
    assert "404" in source.last_error
    page = curator_client.get(reverse(CHANGELIST)).content.decode()
    assert "404" in page
