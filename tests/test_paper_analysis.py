"""A paper's stored analysis reads back as the same paper, and its texts of keys, pairs and words
find exactly the papers the evaluator would look at: the recent papers never miss a match and
count each key exactly."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from subscriptions.compiled import compile_query, evaluate, match
from subscriptions.documents import PREFIX_KEY, PaperDoc
from subscriptions.recent import RecentPapers
from tests.test_percolator import WORDS, papers, queries


def recent(docs: list[PaperDoc]) -> RecentPapers:
    rows = [
        (number, doc.stem_text(), doc.name_text(), doc.pair_text(), doc.word_text())
        for number, doc in enumerate(docs)
    ]
    return RecentPapers(rows)


@settings(max_examples=200, deadline=None)
@given(st.lists(queries, min_size=1, max_size=5), papers)
def test_a_stored_analysis_reads_back_as_the_same_paper(query_list, doc):
    stored = PaperDoc.from_json(doc.to_json())
    for query in query_list:
        assert evaluate(query, stored) == evaluate(query, doc)
    assert stored.keys() == doc.keys()
    assert stored.words() == doc.words()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(queries, min_size=1, max_size=6), st.lists(papers, min_size=1, max_size=6))
def test_the_recent_papers_search_every_paper_the_query_matches(query_list, docs):
    held = recent(docs)
    for query in query_list:
        node = compile_query(query)
        matching = {index for index, doc in enumerate(docs) if match(node, doc, [])}
        assert matching <= set(held.candidates(node))


@settings(max_examples=200, deadline=None)
@given(st.lists(papers, min_size=1, max_size=8))
def test_each_key_is_counted_exactly(docs):
    held = recent(docs)
    keys_of = [doc.keys() for doc in docs]
    keys = set().union(*keys_of) | set(WORDS) | {"absent", ("zero", "x")}
    for key in keys:
        assert held.df(key) == sum(key in paper_keys for paper_keys in keys_of), key
    for prefix in ("zer", "mod", "model", "vid", "abs"):
        with_prefix = sum(any(word.startswith(prefix) for word in doc.words()) for doc in docs)
        assert held.df(PREFIX_KEY + prefix) == with_prefix
    held.count_every_key()  # the match step's way: every key at once, the same counts
    for key in keys:
        assert held.df(key) == sum(key in paper_keys for paper_keys in keys_of), key
