"""Abstracts are cut where a sentence ends; author lists are cut to a byline."""

from digest.digests.abstracts import sentence_ends, short_authors, trim_at_sentence


def test_short_abstract_is_kept_whole_with_whitespace_normalised():
    assert trim_at_sentence("We  study\n things.  Results are good.") == (
        "We study things. Results are good."
    )


def test_long_abstract_is_cut_after_the_last_sentence_that_fits():
    text = "First sentence is here. " * 10 + "This one is too far to fit in the limit at all."
    trimmed = trim_at_sentence(text, limit=100)
    assert trimmed.endswith("here.")
    assert len(trimmed) <= 100
    assert text.startswith(trimmed)


def test_abbreviations_initials_and_decimals_are_not_sentence_ends():
    text = "We compare e.g. CLIP and J. Smith et al. Using 3.5 B tokens. Then we stop."
    ends = sentence_ends(text)
    assert [text[:end] for end in ends] == [
        "We compare e.g. CLIP and J. Smith et al. Using 3.5 B tokens."
    ]


def test_a_first_sentence_slightly_over_the_limit_is_kept_whole():
    text = "A" * 30 + " long opening sentence that runs past the limit a bit. Second one here."
    trimmed = trim_at_sentence(text, limit=60)
    assert trimmed.endswith("a bit.")


def test_text_without_sentence_ends_is_cut_at_a_word_with_an_ellipsis():
    text = "word " * 200
    trimmed = trim_at_sentence(text, limit=50)
    assert trimmed.endswith("…")
    assert len(trimmed) <= 51
    assert not trimmed[:-1].endswith(" ")


def test_sentence_ending_in_a_quote_or_bracket_ends_after_it():
    text = 'They said "it works." Then (it did.) And more text follows here to pass the limit.'
    assert trim_at_sentence(text, limit=40) == 'They said "it works." Then (it did.)'


def test_real_abstracts_from_the_fixture_trim_to_whole_sentences(fixture_path):
    import json

    lines = fixture_path("hf_papers_pages.jsonl").read_text().splitlines()[:50]
    for line in lines:
        abstract = " ".join(json.loads(line)["abstract"].split())
        trimmed = trim_at_sentence(abstract)
        assert abstract.startswith(trimmed.rstrip("…"))
        assert len(trimmed) <= 600
        if len(abstract) > 400 and not trimmed.endswith("…"):
            assert trimmed[-1] in '.!?")]'


def test_short_authors_keeps_up_to_four_names_and_abbreviates_longer_lists():
    assert short_authors(["A", "B"]) == "A, B"
    assert short_authors(["A", "B", "C", "D"]) == "A, B, C, D"
    assert short_authors(["A", "B", "C", "D", "E"]) == "A, B, C et al."
    assert short_authors([" ", "A"]) == "A"
