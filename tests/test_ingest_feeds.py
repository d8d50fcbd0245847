"""The generic RSS/Atom parser (feedparser): on the recorded arXiv files, which are real RSS 2.0
and Atom, and on a small journal feed written here for the cases arXiv never produces (DOI-only
entries, plain links, HTML in titles, hostile markup)."""

from __future__ import annotations

import datetime as dt

from digest.papers.ingest import feeds
from digest.papers.models import Source


def test_arxiv_ids_are_found_in_links_and_guids_of_a_real_rss_feed(fixture_path):
    parsed = feeds.parse(fixture_path("arxiv_rss_cs_multi.xml").read_bytes())
    assert parsed.kind == Source.Kind.FEED
    assert parsed.errors == []
    assert [(r.key, r.arxiv_version) for r in parsed.records] == [
        ("arxiv:2609.26811", 1),
        ("arxiv:2609.26820", 1),
        ("arxiv:2205.06398", 2),
        ("arxiv:2009.13987", 3),
    ]
    record = parsed.records[1]
    assert record.authors == ["Naser Mansour", "Sidahmed Benabderrahmane", "Ameer Rahwan"]
    assert record.categories == ["cs.LG", "cs.AI"]
    assert record.abstract.startswith("Physiological time series such as electrocardiograms")
    assert record.abs_url == "https://arxiv.org/abs/2609.26820"
    assert record.published_at == dt.datetime(2026, 9, 24, 4, 0, tzinfo=dt.UTC)
    assert parsed.records[3].announce_type == "replace"


def test_arxiv_ids_are_found_in_a_real_atom_feed(fixture_path):
    parsed = feeds.parse(fixture_path("arxiv_api_query.xml").read_bytes())
    assert parsed.errors == []
    assert len(parsed.records) == 10
    record = parsed.records[0]
    assert (record.arxiv_id, record.arxiv_version) == ("nucl-ex/0408020", 1)
    assert record.authors[:2] == ["J. Arrington", "V. F. Dmitriev"]
    assert record.published_at == dt.datetime(2004, 8, 18, 23, 13, 32, tzinfo=dt.UTC)


JOURNAL = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"
     xmlns:prism="http://prismstandard.org/namespaces/basic/2.0/">
  <channel>
    <title>Journal of Examples</title>
    <link>https://journal.example.org/</link>
    <item>
      <title>Protein folding with &lt;i&gt;small&lt;/i&gt; models</title>
      <link>https://journal.example.org/articles/42</link>
      <description>&lt;p&gt;We fold proteins.&lt;/p&gt;&lt;p&gt;It
        &lt;b&gt;works&lt;/b&gt;.&lt;/p&gt;</description>
      <prism:doi>10.1234/JOE.2026.42</prism:doi>
      <dc:creator>Lovelace, Ada</dc:creator>
      <pubDate>Mon, 05 Oct 2026 09:30:00 +0000</pubDate>
      <category>Biology</category>
    </item>
    <item>
      <title>A blog post without identifiers</title>
      <link>https://blog.example.org/2026/10/post</link>
      <description>Plain text.</description>
      <dc:creator>Ada Lovelace, Alan Turing</dc:creator>
    </item>
    <item>
      <title>&lt;script&gt;alert("owned")&lt;/script&gt;Hostile
        &lt;img src=x onerror=alert(1)&gt;title</title>
      <link>https://journal.example.org/articles/43</link>
      <description>Text &lt;script&gt;document.cookie&lt;/script&gt;after.</description>
    </item>
    <item>
      <title>A preprint mirrored from arXiv</title>
      <link>https://journal.example.org/preprints/7</link>
      <guid>https://doi.org/10.48550/arXiv.2609.26811</guid>
    </item>
    <item>
      <description>No title and no link: nothing to key it by.</description>
    </item>
  </channel>
</rss>
"""


def test_entries_without_arxiv_id_are_keyed_by_doi_else_by_link():
    parsed = feeds.parse(JOURNAL)
    assert [r.key for r in parsed.records] == [
        "doi:10.1234/joe.2026.42",
        "url:https://blog.example.org/2026/10/post",
        "url:https://journal.example.org/articles/43",
        "arxiv:2609.26811",  # arXiv's own DOI names the arXiv paper
    ]
    assert [str(e) for e in parsed.errors] == ["entry 5: '' has no arXiv id, DOI or link; skipped"]


def test_html_in_titles_and_abstracts_becomes_plain_text():
    record = feeds.parse(JOURNAL).records[0]
    assert record.title == "Protein folding with small models"
    assert record.abstract == "We fold proteins. It works."
    assert record.doi == "10.1234/JOE.2026.42"
    assert record.link == "https://journal.example.org/articles/42"
    assert record.abs_url == "https://journal.example.org/articles/42"
    assert record.pdf_url == ""
    assert record.categories == ["Biology"]
    assert record.published_at == dt.datetime(2026, 10, 5, 9, 30, tzinfo=dt.UTC)


def test_a_surname_first_author_stays_one_name_and_a_byline_is_split():
    records = feeds.parse(JOURNAL).records
    assert records[0].authors == ["Lovelace, Ada"]
    assert records[1].authors == ["Ada Lovelace", "Alan Turing"]


def test_hostile_markup_in_a_title_is_stored_as_plain_text():
    record = feeds.parse(JOURNAL).records[2]
    assert record.title == "Hostile title"
    assert record.abstract == "Text after."
    for text in (record.title, record.abstract):
        assert "<" not in text and "script" not in text and "onerror" not in text


def test_a_truncated_feed_keeps_only_the_entries_complete_before_the_break():
    cut = JOURNAL.index(b"<title>A blog post") + 25
    parsed = feeds.parse(JOURNAL[:cut])
    # feedparser alone would also return the half-read second item.
    assert [r.key for r in parsed.records] == ["doi:10.1234/joe.2026.42"]
    (error,) = parsed.errors
    line = JOURNAL[:cut].count(b"\n") + 1
    assert error.where.startswith(f"line {line},")
    assert "the document ends early" in error.message


def test_a_malformed_but_complete_feed_is_read_leniently_and_the_error_reported():
    sloppy = JOURNAL.replace(b"Plain text.", b"Plain &nbsp; text.")
    parsed = feeds.parse(sloppy)
    assert len(parsed.records) == 4
    assert len(parsed.errors) == 2  # the entry without title or link, and the syntax error
    error = parsed.errors[-1]
    line = sloppy[: sloppy.index(b"&nbsp;")].count(b"\n") + 1
    assert str(error).startswith(f"line {line}, column")
    assert "the XML is malformed (undefined entity); read leniently, 5 entries recovered" in str(
        error
    )
