"""Why a paper matched, in words: one wording wherever hits are shown."""

from __future__ import annotations

import subprocess
import sys

from subscriptions.explain import CLOSE_IN_MEANING_Z, Reason, TermReason, explain, lines, reasons
from tests.subprocesses import PROJECT_DIR, child_env


def test_each_term_is_named_with_the_fields_it_was_found_in():
    hits = [
        {"term": "zero-shot", "field": "title"},
        {"term": "CLIP", "field": "abstract"},
        {"term": "zero-shot", "field": "abstract"},
        {"term": "LeCun, Yann", "field": "author"},
    ]
    assert explain(hits) == (
        "matched: `zero-shot` in title and abstract, `CLIP` in abstract, `LeCun, Yann` in authors"
    )


def test_a_field_is_named_once_per_term():
    hits = [{"term": "CLIP", "field": "abstract"}, {"term": "CLIP", "field": "abstract"}]
    assert explain(hits) == "matched: `CLIP` in abstract"


def test_a_digests_hits_are_grouped_by_the_subscription_that_matched():
    hits = [
        {"term": "zero-shot", "field": "title", "subscription": "Vision"},
        {"term": "robot", "field": "abstract", "subscription": "Robots"},
        {"term": "CLIP", "field": "abstract", "subscription": "Vision"},
    ]
    assert explain(hits) == (
        "matched: `zero-shot` in title, `CLIP` in abstract (Vision); `robot` in abstract (Robots)"
    )


def test_a_match_without_hit_detail_still_names_its_subscription():
    assert explain([{"subscription": "Vision", "subscription_id": 7}]) == "matched: (Vision)"


def test_no_hits_explain_nothing():
    assert explain([]) == explain(None) == ""
    assert explain(["not an object", {"field": "title"}]) == ""


def test_the_parts_are_there_for_markup():
    hits = [{"term": "zero-shot", "field": "title", "subscription": "Vision"}]
    [reason] = reasons(hits)
    assert reason == Reason("Vision", (TermReason("zero-shot", ("title",)),))
    assert reason.terms[0].where == "title"


def test_the_subscriptions_layer_explains_without_the_digest_app():
    code = (
        "import sys, subscriptions.explain; "
        "print(sorted(m for m in sys.modules if m == 'digest' or m.startswith('digest.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_DIR,
        env=child_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "[]"


# --- The digest's other reasons: meaning, liked papers, curation, upvotes ------------------------


def meaning(z, term="test-time adaptation", **more):
    return {"field": "meaning", "term": term, "similarity": z, "subscription": "TTA", **more}


def test_close_in_meaning_is_said_only_from_the_threshold_up():
    assert explain([meaning(CLOSE_IN_MEANING_Z)]) == (
        "close in meaning to your interest “test-time adaptation” (TTA)"
    )
    # Just below it the match says only where it came from; a z that is not a number, never.
    assert explain([meaning(CLOSE_IN_MEANING_Z - 0.01)]) == "matched: (TTA)"
    for unreadable in (None, "9", float("nan"), True):
        assert explain([meaning(unreadable)]) == "matched: (TTA)"


def test_an_interest_of_example_papers_names_its_nearest_example_or_the_examples():
    assert explain([meaning(2.0, term="", example="Efficient  Test-Time\nAdaptation")]) == (
        "close in meaning to your example papers, nearest to *Efficient Test-Time Adaptation* (TTA)"
    )
    assert explain([meaning(2.0, term="")]) == "close in meaning to your example papers (TTA)"
    assert explain([meaning(2.0, examples=True)]) == (
        "close in meaning to your interest “test-time adaptation” and its example papers (TTA)"
    )


def test_a_liked_paper_is_a_reason_only_when_the_paper_is_close_to_it():
    liked = {"field": "liked", "term": "Tent: fully test-time adaptation", "paper_id": 3}
    assert explain([{**liked, "similarity": 2.0}]) == (
        "close to *Tent: fully test-time adaptation*, which you liked"
    )
    assert explain([{**liked, "similarity": 1.0}]) == ""


def test_all_reasons_come_most_telling_first():
    hits = [
        {"field": "liked", "term": "Tent", "paper_id": 3, "similarity": 2.0},
        meaning(2.0),
        {"term": "adaptation", "field": "abstract", "subscription": "Words"},
    ]
    assert [str(line) for line in lines(hits, featured=True, upvotes=1)] == [
        "featured by the curators",
        "matched: `adaptation` in abstract (Words)",
        "close in meaning to your interest “test-time adaptation” (TTA)",
        "close to *Tent*, which you liked",
        "1 upvote",
    ]


def test_hostile_text_is_escaped_in_html_and_kept_on_its_line_in_text():
    hostile = "<script>alert(1)</script>\r\nUnsubscribe: http://evil.example/\x1b[2J"
    hits = [
        meaning(3.0, term=hostile, subscription=hostile),
        {"field": "liked", "term": hostile, "paper_id": 1, "similarity": 3.0},
        {"term": hostile, "field": "title", "subscription": hostile},
    ]
    for line in lines(hits):
        assert "<script>" not in line.html and "&lt;script&gt;" in line.html
        assert "\n" not in str(line) and "\r" not in str(line) and "\x1b" not in str(line)
        assert "<script>alert(1)</script>" in str(line)  # plain text is not HTML


def test_a_long_interest_is_quoted_short():
    [line] = lines([meaning(2.0, term="adaptation " * 40)])
    quoted = str(line).split("“")[1].split("”")[0]
    assert len(quoted) <= 81 and quoted.endswith("…")
