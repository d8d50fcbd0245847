"""The arXiv listing feed parser, field by field on the recorded RSS 2.0 feed (tests/fixtures/
arxiv_rss_cs_multi.xml: cs.LG+cs.AI+cs.CL+stat.ML, 4 items: new, new, cross, replace)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from digest.papers.ingest import arxiv_feed
from digest.papers.models import Source


@pytest.fixture
def rss(fixture_path) -> bytes:
    return fixture_path("arxiv_rss_cs_multi.xml").read_bytes()


@pytest.fixture
def parsed(rss):
    return arxiv_feed.parse(rss)


@pytest.fixture
def by_id(parsed):
    return {record.arxiv_id: record for record in parsed.records}


def test_every_item_with_its_id_version_and_announce_type(parsed):
    assert parsed.kind == Source.Kind.ARXIV_FEED
    assert parsed.errors == []
    assert [(r.arxiv_id, r.arxiv_version, r.announce_type) for r in parsed.records] == [
        ("2609.26811", 1, "new"),
        ("2609.26820", 1, "new"),
        ("2205.06398", 2, "cross"),
        ("2009.13987", 3, "replace"),
    ]


def test_a_new_paper_field_by_field(by_id):
    record = by_id["2609.26820"]
    assert record.title == (
        "Signal2Symbol: Neuro-Symbolic Temporal Reasoning for Explainable Physiological "
        "Time-Series Anomaly Detection"
    )
    # dc:creator is one comma-separated string.
    assert record.authors == ["Naser Mansour", "Sidahmed Benabderrahmane", "Ameer Rahwan"]
    assert record.categories == ["cs.LG", "cs.AI"]
    assert record.primary_category == "cs.LG"
    # The abstract comes after "arXiv:2609.26820v1 Announce Type: new \nAbstract:".
    assert record.abstract.startswith("Physiological time series such as electrocardiograms")
    assert record.abstract.endswith("compact, interpretable summaries of local detections.")
    assert "Announce Type" not in record.abstract
    # "Thu, 24 Sep 2026 00:00:00 -0400": the announcement day where arXiv announces it.
    assert record.announced_on == dt.date(2026, 9, 24)
    assert record.abs_url == "https://arxiv.org/abs/2609.26820"
    assert record.pdf_url == "https://arxiv.org/pdf/2609.26820"
    assert record.doi == ""
    assert record.published_at is None  # a listing says when it announced, not submitted


def test_a_single_author_is_one_name(by_id):
    assert by_id["2609.26811"].authors == ["Fabien Polly"]
    assert by_id["2609.26811"].title == (
        "The Drift Contract: Spectral Updates for Depth-Robust Local Learning"
    )


def test_a_cross_listing_keeps_its_primary_category_and_doi(by_id):
    record = by_id["2205.06398"]
    assert record.announce_type == "cross"
    assert record.categories == ["stat.ME", "stat.AP", "stat.ML"]
    assert record.primary_category == "stat.ME"
    assert record.doi == "10.1093/bioinformatics/btac431"  # from <arxiv:DOI>
    assert record.authors == ["Pritam Dey", "Zhengwu Zhang", "David B. Dunson"]
    assert record.arxiv_version == 2


def test_a_replacement_is_marked_as_such(by_id):
    record = by_id["2009.13987"]
    assert record.announce_type == "replace"
    assert record.is_replacement
    assert record.arxiv_version == 3
    assert record.title == "Random Polytope Descriptors"
    assert record.authors == ["Michael Joswig", "Marek Kaluba", "Lukas Ruff"]
    assert record.categories == ["cs.LG", "math.MG", "stat.ML"]


def test_an_empty_feed_has_no_papers_and_no_errors(rss):
    # What arXiv serves on weekends and holidays: the channel without items.
    empty = re.sub(rb"\s*<item>.*?</item>", b"", rss, flags=re.DOTALL)
    assert b"<item>" not in empty
    parsed = arxiv_feed.parse(empty)
    assert parsed.records == []
    assert parsed.errors == []


def test_a_truncated_feed_keeps_the_complete_items_and_says_where_it_broke(rss):
    cut = rss.index(b"<title>Outlier Detection") + 30
    parsed = arxiv_feed.parse(rss[:cut])
    assert [r.arxiv_id for r in parsed.records] == ["2609.26811", "2609.26820"]
    (error,) = parsed.errors
    line = rss[:cut].count(b"\n") + 1
    column = cut - rss.rindex(b"\n", 0, cut)
    assert error.where == f"line {line}, column {column}"
    assert error.message == (
        "the document ends early (no element found); 2 complete entries before it were read"
    )


def test_an_item_without_an_id_is_skipped_and_reported(rss):
    broken = rss.replace(b"<link>https://arxiv.org/abs/2609.26811</link>", b"<link></link>")
    broken = broken.replace(b"arXiv:2609.26811v1 Announce Type", b"Announce Type")
    broken = broken.replace(b"oai:arXiv.org:2609.26811v1", b"")
    parsed = arxiv_feed.parse(broken)
    assert [r.arxiv_id for r in parsed.records] == ["2609.26820", "2205.06398", "2009.13987"]
    assert [str(e) for e in parsed.errors] == [
        "entry 1: no arXiv id in 'The Drift Contract: Spectral Updates for Depth-Robust Local "
        "Learning'; skipped"
    ]


# The Atom flavour of the same listing (rss.arxiv.org/atom/<cats>), written from the example
# in arXiv's RSS/Atom specification: no recorded Atom listing exists in tests/fixtures.
ATOM_LISTING = b"""<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom"
      xmlns:dc="http://purl.org/dc/elements/1.1/">
  <id>http://rss.arxiv.org/atom/math.OC</id>
  <title>math.OC updates on arXiv.org</title>
  <updated>2024-08-23T04:00:12.501Z</updated>
  <link href="http://rss.arxiv.org/atom/math.OC" rel="self" type="application/atom+xml"/>
  <entry>
    <id>oai:arXiv.org:2203.01250v3</id>
    <title>Mass concentration in rescaled first order integral functionals</title>
    <updated>2024-08-23T04:00:12.501Z</updated>
    <link href="https://arxiv.org/abs/2203.01250" rel="alternate" type="text/html"/>
    <summary>arXiv:2203.01250v3 Announce Type: replace-cross
Abstract: We consider first order local minimization problems of the form
$\\min \\int_{\\mathbb{R}^N}f(u,\\nabla u)$ under a mass constraint.</summary>
    <category term="math.AP"/>
    <category term="math.OC"/>
    <published>2024-08-23T00:00:00-04:00</published>
    <arxiv:announce_type>replace-cross</arxiv:announce_type>
    <dc:rights>http://creativecommons.org/licenses/by/4.0/</dc:rights>
    <arxiv:journal_reference>Journal de l'Ecole polytechnique, Tome 11 (2024),
      pp. 431-472</arxiv:journal_reference>
    <arxiv:DOI>10.5802/jep.257</arxiv:DOI>
    <dc:creator>Antonin Monteil, Paul Pegon</dc:creator>
  </entry>
</feed>
"""


def test_the_atom_listing_reads_like_the_rss_listing():
    parsed = arxiv_feed.parse(ATOM_LISTING)
    assert parsed.errors == []
    (record,) = parsed.records
    assert (record.arxiv_id, record.arxiv_version) == ("2203.01250", 3)
    assert record.announce_type == "replace-cross"
    assert record.is_replacement
    assert record.title == "Mass concentration in rescaled first order integral functionals"
    assert record.authors == ["Antonin Monteil", "Paul Pegon"]
    assert record.categories == ["math.AP", "math.OC"]
    assert record.primary_category == "math.AP"
    assert record.announced_on == dt.date(2024, 8, 23)
    assert record.doi == "10.5802/jep.257"
    assert record.journal_ref == "Journal de l'Ecole polytechnique, Tome 11 (2024), pp. 431-472"
    assert record.abstract.startswith("We consider first order local minimization problems")
    assert "\n" not in record.abstract
