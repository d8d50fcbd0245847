"""Format detection from content: every recorded file goes to its parser; anything else gets an
error that says what the document is instead."""

from __future__ import annotations

import pytest

from digest.papers.ingest.detect import UnknownFormat, detect_format, parse_document
from digest.papers.models import Source


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("arxiv_api_query.xml", Source.Kind.ARXIV_API),
        ("arxiv_rss_cs_multi.xml", Source.Kind.ARXIV_FEED),
        ("hf_daily_papers_2026.json", Source.Kind.HF_DAILY),
    ],
)
def test_each_recorded_file_is_detected(fixture_path, name, kind):
    content = fixture_path(name).read_bytes()
    assert detect_format(content) == kind
    # Truncated files are still recognised, so their parser can keep what is valid.
    assert detect_format(content[: len(content) // 2]) == kind
    assert parse_document(content).kind == kind


def test_an_empty_arxiv_listing_is_still_an_arxiv_listing(fixture_path):
    content = fixture_path("arxiv_rss_cs_multi.xml").read_bytes()
    empty = content[: content.index(b"<item>")] + b"</channel></rss>"
    assert detect_format(empty) == Source.Kind.ARXIV_FEED


def test_other_rss_rdf_and_atom_feeds_are_generic_feeds():
    assert detect_format(b'<?xml version="1.0"?>\n<rss version="2.0"><channel/></rss>') == "feed"
    assert detect_format(b'<feed xmlns="http://www.w3.org/2005/Atom"></feed>') == "feed"
    rdf = b'<!-- hi --><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>'
    assert detect_format(rdf) == "feed"
    assert detect_format(b"\xef\xbb\xbf  <rss version='2.0'/>") == "feed"  # BOM, spaces


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the document is empty"),
        (b"  \n ", "the document is empty"),
        (b"<!DOCTYPE html><html><body>Rate limited</body></html>", "an HTML page, not a feed"),
        (b"<html lang='en'><head>", "an HTML page, not a feed"),
        (b"<?xml version='1.0'?><svg xmlns='x'/>", "XML, but not RSS or Atom (its root element"),
        (b"%PDF-1.7 binary", "not JSON, RSS or Atom: it starts with '%PDF-1.7 binary'"),
        (b'{"error": "Rate limit reached"}', "the server answered with an error: Rate limit"),
        (b'[{"title": "x"}]', "JSON, but not a Hugging Face daily papers list"),
        (b"[1, 2", "invalid JSON"),
    ],
)
def test_garbage_gets_a_clear_error(content, message):
    with pytest.raises(UnknownFormat, match=message.replace("(", r"\(")):
        detect_format(content)


def test_json_lines_are_not_mistaken_for_daily_papers(fixture_path):
    with pytest.raises(UnknownFormat, match="invalid JSON"):
        detect_format(fixture_path("hf_papers_pages.jsonl").read_bytes())
