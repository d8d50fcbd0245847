"""Why a paper matched, in words: one wording wherever hits are shown."""

from __future__ import annotations

import subprocess
import sys

from subscriptions.explain import Reason, TermReason, explain, reasons
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
