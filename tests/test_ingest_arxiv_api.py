"""The arXiv API Atom parser, field by field on the recorded response (tests/fixtures/
arxiv_api_query.xml, 10 entries)."""

from __future__ import annotations

import datetime as dt

import pytest

from digest.papers.ingest import arxiv_api
from digest.papers.models import Source

UTC = dt.UTC


@pytest.fixture
def parsed(fixture_path):
    return arxiv_api.parse(fixture_path("arxiv_api_query.xml").read_bytes())


@pytest.fixture
def by_id(parsed):
    return {record.arxiv_id: record for record in parsed.records}


def test_every_entry_is_read_with_its_id_split_from_its_version(parsed):
    assert parsed.kind == Source.Kind.ARXIV_API
    assert parsed.errors == []
    assert [(r.arxiv_id, r.arxiv_version) for r in parsed.records] == [
        ("nucl-ex/0408020", 1),
        ("1309.4668", 1),
        ("1606.02159", 1),
        ("1610.08734", 3),
        ("2102.00018", 2),
        ("0803.1617", 1),
        ("1205.6628", 2),
        ("nucl-th/9910021", 3),
        ("1602.03411", 1),
        ("1401.3666", 2),
    ]
    assert [r.key for r in parsed.records][:2] == ["arxiv:nucl-ex/0408020", "arxiv:1309.4668"]


def test_an_entry_with_doi_journal_ref_comment_and_affiliations(by_id):
    record = by_id["1309.4668"]
    assert record.title == "Electron cloud observations at the ISIS Proton Synchrotron"
    assert record.abstract.startswith("The build up of electron clouds inside a particle")
    assert record.abstract.endswith("installed at the same location.")
    assert record.authors == ["A. Pertica", "S. J. Payne"]  # affiliations are not names
    assert record.categories == ["physics.acc-ph"]
    assert record.primary_category == "physics.acc-ph"
    assert record.comment == (
        "4 pages, contribution to the Joint INFN-CERN-EuCARD-AccNet Workshop on Electron-Cloud "
        "Effects: ECLOUD'12; 5-9 Jun 2012, La Biodola, Isola d'Elba, Italy"
    )
    assert record.journal_ref == "CERN Yellow Report CERN-2013-002, pp.237-240"
    assert record.doi == "10.5170/CERN-2013-002.237"
    assert record.published_at == dt.datetime(2013, 9, 18, 14, 54, 19, tzinfo=UTC)
    assert record.updated_at == dt.datetime(2013, 9, 19, 0, 7, 10, tzinfo=UTC)
    # Links to the latest version, not to the version this response happened to describe.
    assert record.abs_url == "https://arxiv.org/abs/1309.4668"
    assert record.pdf_url == "https://arxiv.org/pdf/1309.4668"
    assert record.announce_type == ""
    assert record.announced_on is None
    assert record.upvotes is None


def test_published_is_version_one_and_updated_is_this_version(by_id):
    record = by_id["1610.08734"]
    assert record.arxiv_version == 3
    assert record.published_at == dt.datetime(2016, 10, 27, 12, 8, 30, tzinfo=UTC)
    assert record.updated_at == dt.datetime(2018, 5, 10, 0, 1, 43, tzinfo=UTC)
    assert record.categories == ["physics.acc-ph", "physics.plasm-ph"]
    assert record.doi == "10.1103/PhysRevAccelBeams.20.101301"
    assert record.authors == [
        "Yangmei Li",
        "Guoxing Xia",
        "Konstantin V. Lotov",
        "Alexander P. Sosedkin",
        "Kieran Hanahoe",
        "Oznur Mete-Apsimon",
    ]
    # "&amp;" in the XML is "&" in the text.
    assert "Hanahoe, K., & Mete-Apsimon, O. (2017)" in record.journal_ref


def test_old_style_ids_keep_their_archive(by_id):
    record = by_id["nucl-ex/0408020"]
    assert record.key == "arxiv:nucl-ex/0408020"
    assert record.title == (
        "Two-photon exchange and elastic scattering of electrons/positrons on the proton. "
        "(Proposal for an experiment at VEPP-3)"
    )
    assert record.abstract.startswith("It has been suggested that two-photon exchange")
    assert record.authors[0] == "J. Arrington"
    assert record.authors[-1] == "H. de Vries"
    assert len(record.authors) == 9
    assert record.categories == ["nucl-ex", "hep-ph"]
    assert record.primary_category == "nucl-ex"
    assert record.abs_url == "https://arxiv.org/abs/nucl-ex/0408020"
    assert record.pdf_url == "https://arxiv.org/pdf/nucl-ex/0408020"
    assert record.doi == ""
    assert record.journal_ref == ""

    older = by_id["nucl-th/9910021"]
    assert older.arxiv_version == 3
    assert older.published_at == dt.datetime(1999, 10, 7, 12, 46, 9, tzinfo=UTC)
    # Entities decoded: "p + p -&gt; D" in the XML.
    assert "p + p -> D + positron + neutrino" in older.abstract


def test_primary_category_comes_from_arxiv_primary_category_not_from_order(by_id):
    record = by_id["1401.3666"]
    assert record.categories == ["physics.atom-ph", "hep-ph", "nucl-th"]
    assert record.primary_category == "physics.atom-ph"
    record = by_id["1205.6628"]
    assert record.categories == ["hep-ph", "nucl-ex", "nucl-th"]
    assert record.primary_category == "hep-ph"
    assert record.authors == ["I. T. Lorenz", "H. -W. Hammer", "Ulf-G. Meißner"]
    assert record.journal_ref == "Eur. Phys. J. A, 48 11 (2012) 151"
    assert record.doi == "10.1140/epja/i2012-12151-1"


def test_leading_whitespace_of_abstracts_is_removed(by_id):
    for record in by_id.values():
        assert record.abstract == record.abstract.strip()
        assert "  " not in record.abstract


# arXiv's manual documents an older response style: per-element namespace declarations, a
# pdf link marked title="pdf", hard-wrapped titles. The recorded file has none of those, so
# this entry is written from the manual's example.
OLDER_STYLE = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <entry>
    <id>http://arxiv.org/abs/astro-ph/9904306v1</id>
    <updated>1999-04-22T12:00:00Z</updated>
    <published>1999-04-22T12:00:00Z</published>
    <title>A hard-wrapped title
  that continues on the next line</title>
    <summary>  An abstract
  wrapped at
  eighty columns.
</summary>
    <author><name>Ada Lovelace</name></author>
    <link href="http://arxiv.org/abs/astro-ph/9904306v1" rel="alternate" type="text/html"/>
    <link title="pdf" href="http://arxiv.org/pdf/astro-ph/9904306v1" rel="related"
          type="application/pdf"/>
    <link title="doi" href="http://dx.doi.org/10.1086/307221" rel="related"/>
    <arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="astro-ph"
        scheme="http://arxiv.org/schemas/atom"/>
    <category term="astro-ph" scheme="http://arxiv.org/schemas/atom"/>
  </entry>
</feed>
"""


def test_older_response_style_with_title_pdf_link_and_hard_wraps():
    parsed = arxiv_api.parse(OLDER_STYLE)
    assert parsed.errors == []
    (record,) = parsed.records
    assert (record.arxiv_id, record.arxiv_version) == ("astro-ph/9904306", 1)
    assert record.title == "A hard-wrapped title that continues on the next line"
    assert record.abstract == "An abstract wrapped at eighty columns."
    assert record.pdf_url == "https://arxiv.org/pdf/astro-ph/9904306"
    assert record.doi == "10.1086/307221"  # from the doi link when arxiv:doi is absent
    assert record.primary_category == "astro-ph"


def test_an_api_error_answer_is_reported_not_stored():
    # What the API answers to a malformed id_list (from arXiv's manual, section 3.4).
    content = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"
      xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">
  <opensearch:totalResults>1</opensearch:totalResults>
  <entry>
    <id>http://arxiv.org/api/errors#incorrect_id_format_for_1234.12345</id>
    <title>Error</title>
    <summary>incorrect id format for 1234.12345</summary>
  </entry>
</feed>"""
    parsed = arxiv_api.parse(content)
    assert parsed.records == []
    assert [str(error) for error in parsed.errors] == [
        "entry 1: arXiv API error: incorrect id format for 1234.12345"
    ]


def test_an_entry_without_id_or_title_is_skipped_and_the_others_kept(fixture_path):
    content = fixture_path("arxiv_api_query.xml").read_text()
    content = content.replace(
        "<title>Electron cloud observations at the ISIS Proton Synchrotron</title>",
        "<title>  </title>",
    ).replace("<id>http://arxiv.org/abs/1606.02159v1</id>", "<id>urn:nothing</id>")
    parsed = arxiv_api.parse(content.encode())
    assert len(parsed.records) == 8
    assert [str(error) for error in parsed.errors] == [
        "entry 2: 1309.4668 has no title; skipped",
        "entry 3: no arXiv id in <id>urn:nothing</id>; skipped",
    ]


def test_a_truncated_response_keeps_the_entries_before_the_break(fixture_path):
    content = fixture_path("arxiv_api_query.xml").read_bytes()
    cut = content.index(b"<id>http://arxiv.org/abs/0803.1617v1</id>") + 20
    parsed = arxiv_api.parse(content[:cut])
    assert [r.arxiv_id for r in parsed.records] == [
        "nucl-ex/0408020",
        "1309.4668",
        "1606.02159",
        "1610.08734",
        "2102.00018",
    ]
    (error,) = parsed.errors
    line = content[:cut].count(b"\n") + 1
    assert error.where.startswith(f"line {line}, column")
    assert "the document ends early" in error.message
    assert "5 complete entries before it were read" in error.message
