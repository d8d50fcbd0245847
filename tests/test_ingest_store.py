"""Storing parsed records: one row per paper across sources, idempotent re-ingest, replacements
that are not announced again, atomic writes."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from django.db import IntegrityError, connection
from django.utils import timezone

from digest import pipeline
from digest.papers.ingest import arxiv_api, arxiv_feed, huggingface
from digest.papers.ingest.records import PaperRecord
from digest.papers.ingest.store import ingest_records
from digest.papers.models import Paper, Sighting, Source
from subscriptions.models import Match
from tests.factories import PaperFactory, SourceFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_records(fixture_path):
    return arxiv_api.parse(fixture_path("arxiv_api_query.xml").read_bytes()).records


@pytest.fixture
def rss_records(fixture_path):
    return arxiv_feed.parse(fixture_path("arxiv_rss_cs_multi.xml").read_bytes()).records


@pytest.fixture
def api_source():
    return SourceFactory(name="arXiv API", kind=Source.Kind.ARXIV_API)


@pytest.fixture
def rss_source():
    return SourceFactory(name="arXiv cs.LG", kind=Source.Kind.ARXIV_FEED)


@pytest.fixture
def hf_source():
    return SourceFactory(name="HF daily", kind=Source.Kind.HF_DAILY)


def hf_item(arxiv_id: str, **paper: object) -> dict:
    """One daily-papers item in the recorded file's shape."""
    return {"paper": {"id": arxiv_id, **paper}, "title": paper.get("title", "")}


def test_records_become_papers_with_every_field(api_records, api_source):
    result = ingest_records(api_records, source=api_source)
    assert (result.created, result.updated, result.unchanged, result.errors) == (10, 0, 0, [])
    paper = Paper.objects.get(key="arxiv:1309.4668")
    assert paper.arxiv_id == "1309.4668"
    assert paper.arxiv_version == 1
    assert paper.title == "Electron cloud observations at the ISIS Proton Synchrotron"
    assert paper.authors == ["A. Pertica", "S. J. Payne"]
    assert paper.categories == ["physics.acc-ph"]
    assert paper.primary_category == "physics.acc-ph"
    assert paper.doi == "10.5170/CERN-2013-002.237"
    assert paper.journal_ref == "CERN Yellow Report CERN-2013-002, pp.237-240"
    assert paper.comment.startswith("4 pages, contribution to the Joint INFN-CERN")
    assert paper.published_at == dt.datetime(2013, 9, 18, 14, 54, 19, tzinfo=dt.UTC)
    assert paper.updated_at == dt.datetime(2013, 9, 19, 0, 7, 10, tzinfo=dt.UTC)
    assert paper.abs_url == "https://arxiv.org/abs/1309.4668"
    assert paper.pdf_url == "https://arxiv.org/pdf/1309.4668"
    assert paper.matched_at is None  # the match step will see it
    assert Paper.objects.get(arxiv_id="nucl-th/9910021").arxiv_version == 3
    assert Sighting.objects.filter(source=api_source).count() == 10


def test_ingesting_the_same_input_twice_changes_nothing(rss_records, rss_source):
    first = ingest_records(rss_records, source=rss_source)
    assert (first.created, first.updated, first.unchanged) == (4, 0, 0)
    before = {p.pk: (p.modified_at, p.created_at) for p in Paper.objects.all()}

    second = ingest_records(rss_records, source=rss_source)

    assert (second.created, second.updated, second.unchanged) == (0, 0, 4)
    assert {p.pk: (p.modified_at, p.created_at) for p in Paper.objects.all()} == before
    assert Sighting.objects.count() == 4


def test_reingest_updates_nothing_even_across_parsers(rss_records, api_records, rss_source):
    ingest_records(rss_records + api_records, source=rss_source)
    again = ingest_records(rss_records + api_records, source=rss_source)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 14)


def test_hugging_face_merges_into_the_arxiv_paper(rss_records, rss_source, hf_source):
    ingest_records(rss_records, source=rss_source)
    arxiv_row = Paper.objects.get(arxiv_id="2609.26820")
    # Hugging Face's view of a paper from the arXiv feed: shorter summary, one author listed.
    daily = [
        hf_item(
            "2609.26820",
            title="Signal2Symbol: neuro-symbolic temporal reasoning",
            summary="A short summary.",
            authors=[{"name": "Naser Mansour"}],
            upvotes=12,
            githubRepo="https://github.com/example/signal2symbol",
            publishedAt="2026-09-23T00:00:00.000Z",
        )
    ]
    records = huggingface.parse(json.dumps(daily).encode()).records

    result = ingest_records(records, source=hf_source)

    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    assert Paper.objects.filter(arxiv_id="2609.26820").count() == 1
    paper = Paper.objects.get(arxiv_id="2609.26820")
    assert paper.pk == arxiv_row.pk
    assert paper.upvotes == 12
    assert paper.code_url == "https://github.com/example/signal2symbol"
    assert paper.hf_url == "https://huggingface.co/papers/2609.26820"
    # arXiv's metadata is not replaced by Hugging Face's.
    assert paper.title == arxiv_row.title
    assert paper.abstract == arxiv_row.abstract
    assert paper.authors == ["Naser Mansour", "Sidahmed Benabderrahmane", "Ameer Rahwan"]
    assert paper.categories == ["cs.LG", "cs.AI"]
    # ... but what arXiv's listing did not say is filled in.
    assert paper.published_at == dt.datetime(2026, 9, 23, tzinfo=dt.UTC)
    assert paper.created_at == arxiv_row.created_at
    assert set(paper.sources.values_list("name", flat=True)) == {"arXiv cs.LG", "HF daily"}


def test_arxiv_data_replaces_what_hugging_face_said_first(rss_records, rss_source, hf_source):
    daily = [
        hf_item(
            "2609.26820",
            title="signal2symbol (lower case)",
            summary="Short.",
            authors=[{"name": "N. Mansour"}],
            upvotes=7,
            githubRepo="https://github.com/example/s2s",
        )
    ]
    ingest_records(huggingface.parse(json.dumps(daily).encode()).records, source=hf_source)
    created_at = Paper.objects.get(arxiv_id="2609.26820").created_at

    result = ingest_records(rss_records, source=rss_source)

    assert (result.created, result.updated) == (3, 1)
    paper = Paper.objects.get(arxiv_id="2609.26820")
    assert paper.title.startswith("Signal2Symbol: Neuro-Symbolic Temporal Reasoning")
    assert paper.authors == ["Naser Mansour", "Sidahmed Benabderrahmane", "Ameer Rahwan"]
    assert paper.abstract.startswith("Physiological time series")
    assert (paper.upvotes, paper.code_url) == (7, "https://github.com/example/s2s")
    assert paper.announce_type == "new"
    assert paper.created_at == created_at  # first seen on Hugging Face: not new again


def test_upvotes_follow_hugging_face(fixture_path, hf_source):
    content = fixture_path("hf_daily_papers_2026.json").read_bytes()
    ingest_records(huggingface.parse(content).records, source=hf_source)
    items = json.loads(content)
    items[0]["paper"]["upvotes"] = 30
    result = ingest_records(huggingface.parse(json.dumps(items).encode()).records, source=hf_source)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    assert Paper.objects.get(arxiv_id="2607.26654").upvotes == 30


def test_a_replacement_updates_the_paper_and_is_not_announced_again(rss_records, rss_source):
    matched_at = timezone.now() - dt.timedelta(days=30)
    created_at = timezone.now() - dt.timedelta(days=31)
    old = PaperFactory(
        arxiv_id="2009.13987",
        arxiv_version=2,
        title="Random polytopes (v2 title)",
        abstract="The second version's abstract.",
        announce_type="new",
        created_at=created_at,
        matched_at=matched_at,
    )

    result = ingest_records(rss_records, source=rss_source)

    assert (result.created, result.updated) == (3, 1)
    paper = Paper.objects.get(pk=old.pk)
    assert paper.arxiv_version == 3
    assert paper.title == "Random Polytope Descriptors"
    assert paper.abstract.startswith("We introduce a class of random polytopes")
    assert paper.created_at == created_at  # digests go by created_at: not new
    assert paper.matched_at == matched_at
    assert paper.announce_type == "new"  # how it was first announced
    assert Sighting.objects.get(paper=paper).announce_type == "replace"


def test_a_replacement_of_an_unseen_paper_is_stored_but_not_matched(rss_records, rss_source):
    subscription = SubscriptionFactory(query="polytopes")
    SubscriptionFactory(owner=subscription.owner, query="anomaly")

    ingest_records(rss_records, source=rss_source)
    pipeline.match()

    replaced = Paper.objects.get(arxiv_id="2009.13987")
    assert replaced.announce_type == "replace"
    assert replaced.matched_at is not None
    assert not Match.objects.filter(paper=replaced).exists()
    # The new papers in the same feed were matched as usual.
    assert Match.objects.filter(paper__arxiv_id="2609.26820").exists()


def test_an_older_version_does_not_overwrite_a_newer_one(rss_source, api_source):
    newer = PaperRecord(
        arxiv_id="2009.13987", arxiv_version=3, title="Version three", abstract="Three."
    )
    older = PaperRecord(
        arxiv_id="2009.13987",
        arxiv_version=1,
        title="Version one",
        abstract="One.",
        comment="12 pages",
    )
    ingest_records([newer], source=rss_source)
    result = ingest_records([older], source=api_source)
    assert result.updated == 1  # only the comment, which version three did not have
    paper = Paper.objects.get(arxiv_id="2009.13987")
    assert (paper.arxiv_version, paper.title, paper.abstract) == (3, "Version three", "Three.")
    assert paper.comment == "12 pages"


def test_a_doi_keyed_paper_becomes_the_arxiv_paper(rss_records, rss_source):
    journal = SourceFactory(name="Journal", kind=Source.Kind.FEED)
    ingest_records(
        [PaperRecord(doi="10.1093/Bioinformatics/BTAC431", title="Outlier detection", link="")],
        source=journal,
    )
    assert Paper.objects.get().key == "doi:10.1093/bioinformatics/btac431"

    ingest_records(rss_records, source=rss_source)

    paper = Paper.objects.get(doi__iexact="10.1093/bioinformatics/btac431")
    assert paper.key == "arxiv:2205.06398"
    assert paper.arxiv_id == "2205.06398"
    assert paper.title == "Outlier Detection for Multi-Network Data"
    assert Paper.objects.count() == 4
    assert paper.sources.count() == 2


def test_hostile_markup_is_stored_as_plain_text(rss_source, fixture_path):
    content = fixture_path("arxiv_rss_cs_multi.xml").read_bytes()
    hostile = content.replace(
        b"<title>Random Polytope Descriptors</title>",
        b"<title>&lt;script&gt;alert(document.cookie)&lt;/script&gt;Random &lt;img src=x "
        b"onerror=alert(1)&gt;Polytope <![CDATA[<b>Descriptors</b>]]></title>",
    )
    ingest_records(arxiv_feed.parse(hostile).records, source=rss_source)
    assert Paper.objects.get(arxiv_id="2009.13987").title == "Random Polytope Descriptors"


def test_invalid_records_are_reported_and_valid_ones_stored(rss_records, rss_source):
    bad = [
        PaperRecord(arxiv_id="2601.00001", title=""),
        PaperRecord(title="No identity at all"),
        PaperRecord(arxiv_id="2601.00002", title="Long DOI", doi="10.1/" + "x" * 300),
        PaperRecord(arxiv_id="2601.00003", title="Negative votes", upvotes=-1),
    ]
    result = ingest_records(bad + rss_records, source=rss_source)
    assert result.created == 4
    assert result.errors == [
        "arxiv:2601.00001: no title; skipped",
        "No identity at all: no arXiv id, DOI or link; skipped",
        "arxiv:2601.00002: doi is longer than 200 characters; skipped",
        "arxiv:2601.00003: upvotes -1 out of range; skipped",
    ]
    assert str(result) == "4 created, 0 updated, 0 unchanged, 4 skipped"


def test_lookups_are_batched_not_one_query_per_record(rss_source, django_assert_max_num_queries):
    records = [
        PaperRecord(arxiv_id=f"2601.{n:05d}", title=f"Paper {n}", abstract="A.", authors=["A B"])
        for n in range(1000)
    ]
    # Inserts come in batches (on SQLite, Django splits them to stay under 999 variables per
    # statement: ~35 papers each); lookups are a few IN queries.
    with django_assert_max_num_queries(100):
        assert ingest_records(records, source=rss_source).created == 1000
    with django_assert_max_num_queries(20):
        assert ingest_records(records, source=rss_source).unchanged == 1000


@pytest.mark.django_db(transaction=True)
def test_a_failed_write_leaves_no_paper_without_its_sighting(rss_records):
    # A source that does not exist (deleted meanwhile): the sightings cannot be written, so
    # neither may the papers.
    ghost = Source(pk=987654, name="deleted", kind=Source.Kind.ARXIV_FEED)
    with pytest.raises(IntegrityError):
        ingest_records(rss_records, source=ghost)
    assert Paper.objects.count() == 0
    assert Sighting.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_workers_ingesting_the_same_papers_at_once_store_each_paper_once(
    api_records, rss_records
):
    sources = [
        SourceFactory(name="one", kind=Source.Kind.ARXIV_FEED),
        SourceFactory(name="two", kind=Source.Kind.ARXIV_API),
    ]
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def worker(source: Source) -> None:
        try:
            start.wait()
            ingest_records(rss_records + api_records, source=source)
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(source,)) for source in sources]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failures == []
    assert Paper.objects.count() == 14
    assert Sighting.objects.count() == 28


def test_what_hugging_faces_daily_list_says_is_stored_and_follows_it(fixture_path, hf_source):
    content = fixture_path("hf_daily_papers_2026.json").read_bytes()
    ingest_records(huggingface.parse(content).records, source=hf_source)
    paper = Paper.objects.get(arxiv_id="2607.26654")
    assert (paper.announced_on, paper.hf_daily_on) == (dt.date(2026, 8, 3), dt.date(2026, 8, 3))
    assert (paper.hf_submitter, paper.hf_organization) == ("Hunar Batra", "University of Oxford")
    assert paper.thumbnail_url.endswith("/social-thumbnails/papers/2607.26654.png")
    assert paper.upvotes == 3

    # Listed again a day later: Hugging Face's day moves, the announcement day stays.
    items = json.loads(content)
    items[0]["paper"]["submittedOnDailyAt"] = "2026-08-04T00:00:00.000Z"
    ingest_records(huggingface.parse(json.dumps(items).encode()).records, source=hf_source)
    paper.refresh_from_db()
    assert (paper.announced_on, paper.hf_daily_on) == (dt.date(2026, 8, 3), dt.date(2026, 8, 4))
