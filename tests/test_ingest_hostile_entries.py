"""One bad entry never costs a feed: a real recorded document of each format with one hostile
entry injected. A character that is not text (a lone surrogate: ``\\ud800`` in JSON,
``&#xD800;`` in XML) becomes U+FFFD, as any decoder does with a broken sequence, and a date no
database can hold (``0001-01-01T00:00:00+14:00`` is before year 1 in UTC) is no date: the
entry is kept, with its neighbours. What cannot be stored at all is skipped and named on the
Source (``partial``), and the rest is stored."""

from __future__ import annotations

import json

import pytest

from digest.papers.ingest import arxiv_ids
from digest.papers.ingest.run import ingest_content
from digest.papers.models import Paper, Source
from tests.factories import SourceFactory

pytestmark = pytest.mark.django_db

OUT_OF_RANGE = "0001-01-01T00:00:00+14:00"
API, LISTING, DAILY, FEED = (
    Source.Kind.ARXIV_API,
    Source.Kind.ARXIV_FEED,
    Source.Kind.HF_DAILY,
    Source.Kind.FEED,
)


def ingest(kind: str, content: bytes) -> Source:
    source = SourceFactory(kind=kind)
    ingest_content(source, content, kind=kind)
    source.refresh_from_db()
    return source


def inject(content: bytes, old: bytes, new: bytes) -> bytes:
    assert content.count(old) >= 1, old
    return content.replace(old, new, 1)


@pytest.fixture
def api(fixture_path) -> bytes:
    return fixture_path("arxiv_api_query.xml").read_bytes()


@pytest.fixture
def listing(fixture_path) -> bytes:
    return fixture_path("arxiv_rss_cs_multi.xml").read_bytes()


@pytest.fixture
def daily(fixture_path) -> list:
    return json.loads(fixture_path("hf_daily_papers_2026.json").read_bytes())


def test_a_lone_surrogate_in_an_arxiv_api_entry_costs_nothing(api):
    hostile = inject(
        api,
        b"<title>Electron cloud observations",
        b"<title>Electron &#xD800;cloud observations",
    )
    source = ingest(API, hostile)
    assert (source.last_status, source.last_error, source.last_count) == ("ok", "", 10)
    assert Paper.objects.count() == 10
    assert Paper.objects.get(arxiv_id="1309.4668").title.startswith("Electron \ufffdcloud")


def test_an_out_of_range_date_in_an_arxiv_api_entry_costs_only_the_date(api):
    hostile = inject(
        api,
        b"<published>2004-08-18T23:13:32Z</published>",
        f"<published>{OUT_OF_RANGE}</published>".encode(),
    )
    source = ingest(API, hostile)
    assert (source.last_status, source.last_count) == ("ok", 10)
    paper = Paper.objects.get(arxiv_id="nucl-ex/0408020")
    assert paper.published_at is None
    assert paper.updated_at is not None


def test_a_lone_surrogate_in_an_arxiv_listing_item_costs_nothing(listing):
    hostile = inject(listing, b"<title>The Drift Contract", b"<title>The &#xD800; Drift Contract")
    source = ingest(LISTING, hostile)
    assert (source.last_status, source.last_error, source.last_count) == ("ok", "", 4)
    assert Paper.objects.get(arxiv_id="2609.26811").title.startswith("The \ufffd Drift")


def test_an_out_of_range_date_in_an_arxiv_listing_item_costs_only_the_date(listing):
    first_item = listing.index(b"<item>")  # the channel has a pubDate of its own
    hostile = listing[:first_item] + inject(
        listing[first_item:],
        b"<pubDate>Thu, 24 Sep 2026 00:00:00 -0400</pubDate>",
        f"<pubDate>{OUT_OF_RANGE}</pubDate>".encode(),
    )
    source = ingest(LISTING, hostile)
    assert (source.last_status, source.last_count) == ("ok", 4)
    assert Paper.objects.get(arxiv_id="2609.26811").announced_on is None
    assert Paper.objects.get(arxiv_id="2609.26820").announced_on is not None


def test_a_lone_surrogate_in_a_daily_paper_costs_nothing(daily):
    daily[1]["paper"]["title"] = "EMBL AI \ud800Librarian"
    hostile = json.dumps(daily).encode()
    assert b"\\ud800" in hostile  # the JSON escape, as a broken producer writes it
    source = ingest(DAILY, hostile)
    assert (source.last_status, source.last_error, source.last_count) == ("ok", "", 3)
    assert Paper.objects.get(arxiv_id="2607.28229").title == "EMBL AI \ufffdLibrarian"


def test_an_out_of_range_date_in_a_daily_paper_costs_only_the_date(daily):
    daily[0]["paper"]["publishedAt"] = OUT_OF_RANGE
    source = ingest(DAILY, json.dumps(daily).encode())
    assert (source.last_status, source.last_count) == ("ok", 3)
    assert Paper.objects.get(arxiv_id="2607.26654").published_at is None


def test_a_lone_surrogate_in_a_link_costs_only_its_own_entry(daily):
    # Links are stored as the feed wrote them, not cleaned like text: this one cannot be stored.
    daily[0]["paper"]["githubRepo"] = "https://github.com/desBugger/\ud800"
    source = ingest(DAILY, json.dumps(daily).encode())
    assert (source.last_status, source.last_count) == ("partial", 2)
    assert source.last_error == (
        "arxiv:2607.26654: code_url contains a lone surrogate (U+D800), which is not text; skipped"
    )
    assert set(Paper.objects.values_list("arxiv_id", flat=True)) == {"2607.28229", "2607.27851"}


def test_a_lone_surrogate_in_a_generic_feed_entry_costs_nothing(listing):
    hostile = inject(listing, b"<title>Outlier Detection", b"<title>Outlier &#xD800;Detection")
    source = ingest(FEED, hostile)
    assert (source.last_status, source.last_error, source.last_count) == ("ok", "", 4)
    assert Paper.objects.get(arxiv_id="2205.06398").title.startswith("Outlier \ufffdDetection")


def test_an_out_of_range_date_in_a_generic_feed_entry_costs_only_the_date(api):
    hostile = inject(
        api,
        b"<published>2013-09-18T14:54:19Z</published>",
        f"<published>{OUT_OF_RANGE}</published>".encode(),
    )
    source = ingest(FEED, hostile)
    assert (source.last_status, source.last_count) == ("ok", 10)
    assert Paper.objects.get(arxiv_id="1309.4668").published_at is None


@pytest.mark.parametrize(
    ("kind", "fixture", "victim", "count"),
    [
        (API, "arxiv_api_query.xml", "1309.4668", 10),
        (LISTING, "arxiv_rss_cs_multi.xml", "2609.26820", 4),
        (DAILY, "hf_daily_papers_2026.json", "2607.28229", 3),
        (FEED, "arxiv_rss_cs_multi.xml", "2609.26820", 4),
    ],
)
def test_an_entry_that_breaks_its_parser_costs_only_itself(
    kind, fixture, victim, count, fixture_path, monkeypatch
):
    """No known input breaks a parser any more; should a new one, only its entry is lost. (The
    breakage is simulated: a bug nobody has found yet cannot be reproduced with real input.)"""
    real_abs_url = arxiv_ids.abs_url

    def abs_url(arxiv_id: str) -> str:
        if arxiv_id == victim:
            raise RuntimeError("an unforeseen entry")
        return real_abs_url(arxiv_id)

    monkeypatch.setattr(arxiv_ids, "abs_url", abs_url)
    source = ingest(kind, fixture_path(fixture).read_bytes())
    assert (source.last_status, source.last_count) == ("partial", count - 1)
    assert source.last_error.endswith(": could not be read (RuntimeError: an unforeseen entry)")
    assert source.last_error.startswith("entry ")
    assert not Paper.objects.filter(arxiv_id=victim).exists()
    assert Paper.objects.count() == count - 1
