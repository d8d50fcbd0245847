"""The subscription query language, construct by construct, on real titles and abstracts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from digest.web.queries import EXAMPLES
from subscriptions.compiled import compile_query, evaluate
from subscriptions.documents import PaperDoc
from subscriptions.preview import PreviewHit, run_preview
from subscriptions.query import And, Author, Category, Not, Or, Term, parse, to_text
from subscriptions.text import analyze, split
from tests.factories import PaperFactory
from tests.realpapers import real_paper, real_row, real_rows

pytestmark = pytest.mark.django_db

COSYVOICE = "CosyVoice: A Scalable"
LOTUS = "Lotus: Diffusion-based"
BOTTLENECK = "Training-free Diffusion Acceleration"
LOW_BIT = "Low-Bit Quantization Favors Undertrained LLMs"
BRIDGING = "Bridging the Gap: Exploring the Capabilities"
CLIP_BASELINE = "A Hard-to-Beat Baseline for Training-free CLIP"
METRIC3D = "Metric3D: Towards Zero-shot"


@pytest.fixture
def papers():
    """A handful of real papers, with synthetic authors and categories (the recording has none)."""
    return {
        COSYVOICE: real_paper(
            COSYVOICE,
            authors=["Zhihao Du", "Qian Chen", "LeCun, Yann"],
            categories=["cs.SD", "eess.AS"],
        ),
        LOTUS: real_paper(LOTUS, authors=["Jing He", "Y. LeCun"], categories=["cs.CV"]),
        BOTTLENECK: real_paper(BOTTLENECK, authors=["Ye Tian"], categories=["cs.CV", "cs.LG"]),
        LOW_BIT: real_paper(LOW_BIT, authors=["Xu Ouyang"], categories=["cs.LG", "cs.CL"]),
        BRIDGING: real_paper(BRIDGING, authors=["Kousik Rajesh"], categories=["cs.CV"]),
        CLIP_BASELINE: real_paper(CLIP_BASELINE, authors=["Zhengbo Wang"], categories=["cs.CV"]),
        METRIC3D: real_paper(METRIC3D, authors=["Müller, Jürgen"], categories=["cs.CV"]),
    }


def preview(query: str) -> list[PreviewHit]:
    """Every paper of the last week ``query`` matches, best first."""
    return run_preview(query, limit=None).hits


def found(query: str) -> set[str]:
    """Which of the papers (by their title's start) the query matches, through preview()."""
    names = (COSYVOICE, LOTUS, BOTTLENECK, LOW_BIT, BRIDGING, CLIP_BASELINE, METRIC3D)
    titles = {hit.paper.title for hit in preview(query)}
    return {name for name in names if any(title.startswith(name) for title in titles)}


def text_of(name: str) -> str:
    row = real_row(name)
    return (row["title"] + " " + row["abstract"]).lower()


def test_a_word_is_looked_for_in_title_and_abstract(papers):
    assert "cosyvoice" in text_of(COSYVOICE)
    assert found("CosyVoice") == {COSYVOICE}
    assert found("vocoder") == {COSYVOICE}  # only in its abstract


def test_words_side_by_side_all_have_to_be_there(papers):
    assert found("CosyVoice tokens") == {COSYVOICE}
    assert "diffusion" not in text_of(COSYVOICE)
    assert found("CosyVoice diffusion") == set()
    assert found("CosyVoice AND tokens") == found("CosyVoice tokens")


def test_stemming_finds_other_forms_of_a_word(papers):
    # The title says "Synthesizer"; "synthesizers" and "synthesized" share its stem.
    assert found("synthesizers") >= {COSYVOICE}
    assert found("LLM") >= {LOW_BIT}  # the title says "LLMs"
    assert found("quantized") >= {LOW_BIT}


def test_a_quoted_phrase_needs_the_words_in_order(papers):
    assert "supervised semantic tokens" in text_of(COSYVOICE)
    assert found('"supervised semantic tokens"') == {COSYVOICE}
    assert found('"tokens semantic supervised"') == set()


def test_hyphenated_spaced_and_quoted_forms_are_the_same(papers):
    zero_shot = {COSYVOICE, METRIC3D, BRIDGING}
    assert "zero shot" in text_of(BRIDGING) and "zero-shot" in text_of(METRIC3D)
    assert found("zero-shot") >= zero_shot
    assert found("zero-shot") == found('"zero shot"')
    assert found("zero shot") >= found("zero-shot")


def test_the_joined_form_of_a_hyphenated_word_matches_too(papers):
    PaperFactory(title="Zeroshot segmentation of cells", abstract="We segment cells.")
    titles = {hit.paper.title for hit in preview("zero-shot")}
    assert "Zeroshot segmentation of cells" in titles
    assert "Zeroshot segmentation of cells" in {hit.paper.title for hit in preview("zeroshot")}


def test_or_takes_either(papers):
    assert found("CosyVoice OR Lotus") == {COSYVOICE, LOTUS}


def test_not_and_minus_leave_papers_out(papers):
    diffusion = found("diffusion")
    assert {LOTUS, BOTTLENECK} <= diffusion
    assert "acceleration" in text_of(BOTTLENECK) and "acceleration" not in text_of(LOTUS)
    assert found("diffusion -acceleration") == diffusion - {BOTTLENECK}
    assert found("diffusion AND NOT acceleration") == found("diffusion -acceleration")
    assert found("diffusion NOT acceleration") == found("diffusion -acceleration")


def test_parentheses_group(papers):
    assert found("(CosyVoice OR Lotus) diffusion") == {LOTUS}
    assert found("(CosyVoice OR Lotus) -(diffusion OR acceleration)") == {COSYVOICE}


def test_title_and_abstract_fields(papers):
    assert "diffusion" in real_row(LOTUS)["title"].lower()
    assert found("title:diffusion") >= {LOTUS, BOTTLENECK}
    assert "vocoder" not in real_row(COSYVOICE)["title"].lower()
    assert found("title:vocoder") == set()
    assert found("abstract:vocoder") == {COSYVOICE}
    assert found("ti:(CosyVoice OR Lotus)") == {COSYVOICE, LOTUS}


def test_author_matches_a_name_in_any_order_and_with_initials(papers):
    # COSYVOICE lists "LeCun, Yann", LOTUS lists "Y. LeCun".
    assert found('author:"Yann LeCun"') == {COSYVOICE, LOTUS}
    assert found('author:"LeCun, Yann"') == {COSYVOICE, LOTUS}
    assert found('author:"Y. LeCun"') == {COSYVOICE, LOTUS}
    assert found("author:LeCun") == {COSYVOICE, LOTUS}
    assert found('author:"Yves LeCun"') == {LOTUS}  # only the initial is compatible
    assert found('author:"Yann"') == {COSYVOICE}  # a bare given name needs the full name
    assert found("author:Chen") == {COSYVOICE}
    assert found("author:Cosy") == set()  # a word of the title is not an author


def test_category_exact_archive_and_prefix(papers):
    assert found("cat:cs.CV") == {LOTUS, BOTTLENECK, BRIDGING, CLIP_BASELINE, METRIC3D}
    assert found("cat:cs.cv") == found("cat:cs.CV")
    assert found("cat:eess.AS") == {COSYVOICE}
    assert found("cat:cs") == set(papers)  # every one of them has a cs.* category
    assert found("cat:cs.*") == found("cat:cs")
    assert found("cat:eess") == {COSYVOICE}
    assert found("cat:cs.C*") == {LOTUS, BOTTLENECK, BRIDGING, CLIP_BASELINE, METRIC3D, LOW_BIT}
    assert found("diffusion cat:cs.LG") == {BOTTLENECK}


def test_trailing_wildcard(papers):
    assert found("diffus*") >= {LOTUS, BOTTLENECK}
    assert found("title:diffus*") == {LOTUS, BOTTLENECK}
    assert found("vocod*") == {COSYVOICE}
    assert found("cosyvoic*") == {COSYVOICE}


def test_case_and_accents_do_not_matter(papers):
    assert found("COSYVOICE") == found("cosyvoice") == {COSYVOICE}
    assert found("author:Muller") == {METRIC3D}  # the paper lists "Müller, Jürgen"
    assert found('author:"jurgen müller"') == {METRIC3D}
    PaperFactory(title="Schrödinger bridges for generative modelling", abstract="Naïve café.")
    assert {h.paper.title for h in preview("schrodinger NAIVE cafe")} == {
        "Schrödinger bridges for generative modelling"
    }


def test_every_match_says_which_terms_matched_in_which_field(papers):
    [hit] = [h for h in preview("CosyVoice zero-shot") if h.paper.title.startswith(COSYVOICE)]
    assert {"term": "zero-shot", "field": "title"} in hit.hits
    assert {"term": "zero-shot", "field": "abstract"} in hit.hits
    assert {"term": "CosyVoice", "field": "title"} in hit.hits
    [lotus] = preview('author:"Yann LeCun" title:Lotus')
    assert lotus.hits == [
        {"term": "Lotus", "field": "title"},
        {"term": "Y. LeCun", "field": "author"},
    ]
    [sound] = preview("cat:eess.*")
    assert sound.hits == [{"term": "eess.AS", "field": "category"}]


def test_hits_of_an_excluded_word_are_never_reported(papers):
    for hit in preview("diffusion -acceleration"):
        assert all(h["term"] != "acceleration" for h in hit.hits)


def test_title_matches_rank_above_abstract_matches(papers):
    ranked = [hit.paper.title for hit in preview("diffusion")]
    in_title = [t for t in ranked if "diffusion" in t.lower()]
    assert ranked[: len(in_title)] == in_title


def test_the_query_text_and_the_paper_text_are_read_by_the_same_tokenizer():
    # analyze() (papers) is a faster spelling of split() (queries): same words, everywhere.
    for row in real_rows():
        for text in (row["title"], row["abstract"]):
            words = [part for compound in split(text) for part in compound.split("-")]
            joined = ["".join(c.split("-")) for c in split(text) if "-" in c]
            assert set(analyze(text).words) == set(words) | set(joined)


@given(st.text(alphabet="ab0-' .é", max_size=30))
def test_the_fast_tokenizer_finds_the_words_and_compounds_of_the_reference_one(text):
    words = [part for compound in split(text) for part in compound.split("-")]
    joined = ["".join(c.split("-")) for c in split(text) if "-" in c]
    analysed = analyze(text)
    assert set(analysed.words) == set(words) | set(joined)
    assert len(analysed.stems) == len(words)


def test_the_c_stemmer_gives_the_stems_of_the_reference_snowball_stemmer():
    # PyStemmer makes paper analysis fast; stems stored in compiled queries must not change.
    from snowballstemmer.english_stemmer import EnglishStemmer

    from subscriptions.text import _stemmer

    assert type(_stemmer).__module__ == "Stemmer"  # the C stemmer is installed and in use
    reference = EnglishStemmer()
    words = {
        word for row in real_rows() for word in analyze(row["title"] + " " + row["abstract"]).words
    }
    assert len(words) > 5_000
    assert [_stemmer.stemWord(word) for word in sorted(words)] == [
        reference.stemWord(word) for word in sorted(words)
    ]


def test_precedence_follows_luqum():
    a, b, c = (Term((w,), text=w) for w in "abc")
    assert parse("a b OR c").root == And((a, Or((b, c))))
    assert parse("a AND b OR c").root == Or((And((a, b)), c))
    assert parse("a -b").root == And((a, Not(b)))
    assert parse("a or b").root == And((a, Term(("or",)), b))  # lower case is a word


def test_fields_and_leaves_are_normalized():
    assert parse("title:zero-shot").root == Term(("zero", "shot"), "title", compound=True)
    assert parse('"Zero Shot"').root == Term(("zero", "shot"))
    assert parse("diffus*").root == Term(("diffus",), prefix=True)
    assert parse('au:"Yann LeCun"').root == Author(("yann", "lecun"))
    assert parse("cat:CS.cv").root == Category("cs.cv")
    assert parse("cat:cs.*").root == Category("cs.", prefix=True)
    assert parse("NOT NOT a").root == Term(("a",))


@pytest.mark.parametrize("query", [query for query, _ in EXAMPLES])
def test_every_help_page_example_parses_and_survives_a_round_trip(query):
    parsed = parse(query)
    assert parse(to_text(parsed.root)).root == parsed.root


def test_the_reference_evaluator_and_preview_agree(papers):
    for query in ("zero-shot", "diffus* -acceleration", 'author:"Y. LeCun" OR cat:cs.LG'):
        node = compile_query(parse(query))
        expected = {p.title for p in papers.values() if evaluate(node, PaperDoc.from_paper(p))}
        assert {hit.paper.title for hit in preview(query)} == expected
