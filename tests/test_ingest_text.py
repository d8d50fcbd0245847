"""Cleaning titles, abstracts and names: plain text, whatever the feed sent."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

import pytest

from digest.papers.ingest import arxiv_api
from digest.papers.ingest.arxiv_ids import find_arxiv_id, parse_arxiv_id
from digest.papers.ingest.doi import normalize_doi
from digest.papers.ingest.text import MAX_RAW_CHARS, clean_text, split_authors


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("A title\n  hard-wrapped\tat 80 columns  ", "A title hard-wrapped at 80 columns"),
        ("Fast &amp; furious &#8212; &eacute;t&eacute;", "Fast & furious — été"),
        ("<script>alert(1)</script>Attention", "Attention"),
        ('"><img src=x onerror="alert(\'>\')">Title', '"> Title'),
        ("&lt;script&gt;alert(1)&lt;/script&gt;Smuggled", "Smuggled"),
        ("H<sub>2</sub>O and x<sup>2</sup>", "H2O and x2"),
        ("<p>one</p><p>two</p>", "one two"),
        ("<!-- note -->Kept", "Kept"),
        # LaTeX is not HTML: inequalities survive (as readable text, see below).
        ("bounds for $a<b$ and $c>d$", "bounds for a<b and c>d"),
        ("for $n <m$ and $m> k$", "for n <m and m> k"),
        ("x < y > z", "x < y > z"),
        ("&amp;lt; stays literal", "&lt; stays literal"),
        ("NUL\x00 and bell\x07 removed", "NUL and bell removed"),
        ("non\u00a0breaking", "non breaking"),
        (None, ""),
    ],
)
def test_clean_text(raw, clean):
    assert clean_text(raw) == clean


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("lone \ud800 surrogate", "lone \ufffd surrogate"),
        ("&#xD800; as an entity", "\ufffd as an entity"),
        ("nonchar\ufffe\uffff acters", "nonchar acters"),
        ("C1\x85 control", "C1 control"),
    ],
)
def test_clean_text_keeps_only_what_a_database_utf8_and_xml_accept(raw, clean):
    text = clean_text(raw)
    assert text == clean
    text.encode("utf-8")  # no surrogate left
    ET.fromstring(f"<t>{escape(text)}</t>")  # valid XML 1.0 text


def test_clean_text_can_keep_paragraphs():
    note = "First\x07 line\r\n  second   line\n\n\n\nlast\x0bpart "
    assert clean_text(note, keep_lines=True) == "First line\nsecond line\n\nlast part"
    assert clean_text(note) == "First line second line last part"


def test_clean_text_reads_at_most_a_bounded_amount():
    assert len(clean_text("word " * 1_000_000)) < MAX_RAW_CHARS


def test_author_lists():
    assert split_authors("Naser Mansour, Sidahmed Benabderrahmane, Ameer Rahwan") == [
        "Naser Mansour",
        "Sidahmed Benabderrahmane",
        "Ameer Rahwan",
    ]
    assert split_authors("A. One, B. Two, and C. Three") == ["A. One", "B. Two", "C. Three"]
    assert split_authors("Lovelace, Ada", guess_surname_first=True) == ["Lovelace, Ada"]
    assert split_authors("Plato, Aristotle") == ["Plato", "Aristotle"]  # arXiv: always commas
    assert split_authors("A. One (MIT, USA), B. Two") == ["A. One (MIT, USA)", "B. Two"]
    assert split_authors("  ") == []


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("2609.26811v1", ("2609.26811", 1)),
        ("0704.0001", ("0704.0001", None)),
        ("astro-ph/9904306v1", ("astro-ph/9904306", 1)),
        ("math.GT/0309136v12", ("math.GT/0309136", 12)),
        ("http://arxiv.org/abs/nucl-ex/0408020v1", ("nucl-ex/0408020", 1)),
        ("oai:arXiv.org:2609.26811v1", ("2609.26811", 1)),
        ("https://arxiv.org/pdf/2205.06398v2.pdf", ("2205.06398", 2)),
        ("arXiv:2301.00001", ("2301.00001", None)),
        ("https://doi.org/10.48550/arXiv.2301.00001", ("2301.00001", None)),
        ("2301.123456", None),
        ("not an id", None),
        ("", None),
    ],
)
def test_arxiv_ids(text, parsed):
    assert parse_arxiv_id(text) == parsed


def test_an_arxiv_id_is_not_found_in_unrelated_numbers():
    assert find_arxiv_id("Phys. Rev. D 103, 096005 (2021) 1234.5678") is None


@pytest.mark.parametrize(
    ("text", "doi"),
    [
        ("10.1093/bioinformatics/btac431", "10.1093/bioinformatics/btac431"),
        ("https://doi.org/10.5170/CERN-2013-002.237", "10.5170/CERN-2013-002.237"),
        ("doi:10.1000/xyz.", "10.1000/xyz"),
        ("10.5802/jep.257 10.5802/jep.258", "10.5802/jep.257"),  # arXiv: first is the main one
        ("(see 10.1000/abc)", "10.1000/abc"),
        ("10.1016/S0550-3213(01)00405-9", "10.1016/S0550-3213(01)00405-9"),
        ("no doi", ""),
    ],
)
def test_dois(text, doi):
    assert normalize_doi(text) == doi


# Real LaTeX residue from tests/fixtures/hf_papers_pages.jsonl and arxiv_api_query.xml.
@pytest.mark.parametrize(
    ("raw", "readable"),
    [
        ("pre-trained vision-language models~(VLMs) learning", "vision-language models (VLMs)"),
        ("a framework called Genie~that generates data", "called Genie that generates"),
        ("techniques (e.g.,~SVD) frequently rely", "(e.g., SVD) frequently"),
        ("we propose a novel \\textit{training-free} compositional", "novel training-free comp"),
        ("alignment {\\it vs.} high-resolution", "alignment vs. high-resolution"),
        ("challenge of sparse view 360{\\deg} reconstruction", "view 360° reconstruction"),
        ("matrices \\(\\Delta W\\). These", "matrices Δ W. These"),
        ("can achieve over 60\\% mAP on COCO", "over 60% mAP on COCO"),
        ("with the Fr\\'echet mean", "the Fréchet mean"),
        ("we first define B\\'{e}zier curves", "define Bézier curves"),
        ('Nystr\\"om approximation', "Nyström approximation"),
        ("the momentum fraction $x$, and", "the momentum fraction x, and"),
        ("$\\alpha$-divergence and \\emph{x}", "α-divergence and x"),
        # An author's own macro keeps its name rather than taking a word with it.
        ("with the FP6 quantization, \\codestar-15B model", "quantization, codestar-15B model"),
        ("representations (NeRV, E-NeRV, \\etc) reconstruct", "(NeRV, E-NeRV, etc) reconstruct"),
        ("numbers, phrases, code, \\LaTeX, coordinates", "code, LaTeX, coordinates"),
    ],
)
def test_latex_residue_becomes_readable_text(raw, readable):
    assert readable in clean_text(raw)


@pytest.mark.parametrize(
    "text",
    [
        "It costs $5 million and $3 more",
        "costs $5 and $10 each, or $5/$10",
        "C++ at 50% of the cost",
        "consumption by 10~30% with a compact size (13~15M)",  # tildes as ranges
        "a substantial gain (~2%) in ~1 day",  # tildes as "about"
        "see https://example.org/~user/a\\b and www.example.org/x~y",
        # The backslash was lost before the text reached us: "leq" is also an English
        # abbreviation's shape, so this cannot be recovered safely and stays as it came.
        "resolution leq 256px",
    ],
)
def test_ordinary_text_that_only_looks_like_latex_is_left_alone(text):
    assert clean_text(text) == text


def test_arxiv_abstracts_are_read_without_their_dollars(fixture_path):
    parsed = arxiv_api.parse(fixture_path("arxiv_api_query.xml").read_bytes())
    record = next(r for r in parsed.records if r.arxiv_id == "2102.00018")
    assert "momentum fraction x, and" in record.abstract and "$" not in record.abstract
