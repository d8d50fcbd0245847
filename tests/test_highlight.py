"""Matched words are marked in HTML and everything else is escaped."""

from digest.highlight import highlight


def test_matched_terms_are_wrapped_in_mark_case_insensitively():
    html = highlight("Zero-shot transfer beats zero shot baselines.", [{"term": "zero-shot"}])
    assert html == "<mark>Zero-shot</mark> transfer beats <mark>zero shot</mark> baselines."


def test_only_whole_words_are_marked():
    assert highlight("cliplike CLIP clip.", [{"term": "clip"}]) == (
        "cliplike <mark>CLIP</mark> <mark>clip</mark>."
    )


def test_prefix_terms_mark_the_whole_word():
    assert highlight("Transformers transform.", [{"term": "transform*"}]) == (
        "<mark>Transformers</mark> <mark>transform</mark>."
    )


def test_hostile_text_and_terms_are_escaped():
    html = highlight('<script>x</script> "><img onerror=a> CLIP', [{"term": "<script>"}])
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "&lt;img onerror=a&gt;" in html


def test_no_hits_means_escaped_text_only():
    assert highlight("a < b", []) == "a &lt; b"
