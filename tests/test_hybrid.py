"""One ranking for a paper and a subscription: keyword match, meaning, the reader's model,
curation and upvotes in one score, with the reasons a reader is shown."""

from __future__ import annotations

import json

import numpy as np
import pytest

from subscriptions import hybrid, semantic
from subscriptions.compiled import compile_query
from subscriptions.compiled import match as _match
from subscriptions.documents import PaperDoc
from subscriptions.embeddings import embed, paper_text
from subscriptions.hybrid import Evidence, combine, normalise_keyword, rank
from subscriptions.query import parse
from subscriptions.ranking import idf, score
from tests.realpapers import CORPUS

# The Hugging Face paper-search listings recorded in tests/fixtures, and the query of each.
LISTINGS = {"000": "zero-shot", "001": "CLIP", "003": "domain adaptation", "004": "deep"}


def auc(scores: np.ndarray, relevant: np.ndarray) -> float:
    positive, negative = scores[relevant], scores[~relevant]
    wins = (positive[:, None] > negative[None, :]).sum()
    ties = (positive[:, None] == negative[None, :]).sum()
    return float((wins + 0.5 * ties) / (len(positive) * len(negative)))


def test_meaning_and_keywords_together_rank_each_listing_better_than_keywords_alone():
    # Distinct papers by title, case and spacing ignored: a paper listed by two searches is
    # relevant to both.
    papers: dict[str, dict] = {}
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        key = " ".join(row["title"].lower().split())
        papers.setdefault(key, {**row, "pages": set()})["pages"].add(row["page"][:3])
    papers = list(papers.values())
    docs = [PaperDoc(paper["title"], paper["abstract"]) for paper in papers]
    df: dict[str, int] = {}
    for doc in docs:
        for key in set(doc.title.present) | set(doc.abstract.present):
            df[key] = df.get(key, 0) + 1
    vectors = embed([paper_text(paper["title"], paper["abstract"]) for paper in papers])
    background = semantic.Background.of(vectors)
    hybrid_aucs = []
    for page, query in LISTINGS.items():
        relevant = np.array([page in paper["pages"] for paper in papers])
        node = compile_query(parse(query))
        keyword = []
        for doc in docs:
            hits: list = []
            matched = _match(node, doc, hits)
            keyword.append(
                score(hits, lambda key: idf(df.get(key, 0), len(docs))) if matched else 0
            )
        keyword = np.array(keyword)
        interest = semantic.interest_vector(semantic.query_interest_text(query))
        z = semantic.rank_by_interest(vectors, interest, background)
        ranked = combine(keyword=normalise_keyword(keyword), similarity=z)
        assert auc(ranked, relevant) >= auc(keyword, relevant) + 0.05, query
        hybrid_aucs.append(auc(ranked, relevant))
    assert np.mean(hybrid_aucs) >= 0.80


def test_keyword_scores_are_relative_to_the_subscriptions_best_match():
    rare_terms, common_terms = np.array([0.0, 9.0, 18.0]), np.array([0.0, 1.0, 2.0])
    assert np.array_equal(normalise_keyword(rare_terms), normalise_keyword(common_terms))
    assert np.array_equal(normalise_keyword(np.zeros(3)), np.zeros(3))
    assert normalise_keyword(np.zeros(0)).size == 0


def test_a_keyword_match_in_the_title_is_a_reason():
    ranked = rank(
        Evidence(
            keyword=1.0,
            hits=[
                {"term": "CLIP", "field": "abstract"},
                {"term": "zero-shot", "field": "abstract"},
                {"term": "zero-shot", "field": "title"},
            ],
        )
    )
    assert ranked.reasons == ("matched: `zero-shot` in title and abstract, `CLIP` in abstract",)
    assert ranked.score == pytest.approx(hybrid.KEYWORD_WEIGHT)


def test_closeness_in_meaning_is_a_reason_only_when_the_paper_is_unusually_close():
    close = rank(Evidence(similarity=2.4, interest="test-time  adaptation"))
    assert close.reasons == ("close in meaning to your interest “test-time adaptation”",)
    assert close.score == pytest.approx(2.4)
    assert rank(Evidence(similarity=0.4, interest="test-time adaptation")).reasons == ()
    # Example papers only: no words to quote, the nearest example says it (example_title).
    assert rank(Evidence(similarity=2.4)).reasons == ()


def test_the_nearest_example_paper_is_named_when_this_one_is_close_to_the_examples():
    example = {"example_title": "Efficient  Test-Time Adaptation"}
    assert rank(Evidence(**example, similarity=2.0)).reasons == (
        "close in meaning to your example papers, nearest to *Efficient Test-Time Adaptation*",
    )
    assert rank(Evidence(**example, similarity=1.0)).reasons == ()


def test_a_liked_paper_is_a_reason_when_this_one_is_close_to_it_and_the_model_agrees():
    liked = {"liked_title": "Efficient  Test-Time Adaptation", "liked_similarity": 2.0}
    assert rank(Evidence(reader=0.8, **liked)).reasons == (
        "close to *Efficient Test-Time Adaptation*, which you liked",
    )
    assert rank(Evidence(reader=-0.3, **liked)).reasons == ()
    assert rank(Evidence(reader=0.8, liked_title="Efficient", liked_similarity=0.5)).reasons == ()


def test_the_readers_model_adds_to_the_score():
    assert rank(Evidence(similarity=1.0, reader=0.5)).score == pytest.approx(
        1.0 + hybrid.READER_WEIGHT * 0.5
    )


def test_featured_papers_come_first_and_say_so():
    featured = rank(Evidence(similarity=-1.0, featured=True))
    best_unfeatured = rank(Evidence(similarity=6.0, keyword=1.0, reader=3.0, upvotes=4000))
    assert featured.score > best_unfeatured.score
    assert featured.reasons == ("featured by the curators",)


def test_upvotes_only_break_ties_and_are_counted_for_the_reader():
    popular = rank(Evidence(similarity=2.0, upvotes=120))
    closer = rank(Evidence(similarity=2.001))
    tied = rank(Evidence(similarity=2.0))
    assert tied.score < popular.score < closer.score
    assert popular.reasons[-1] == "120 upvotes"
    assert rank(Evidence(upvotes=1)).reasons == ("1 upvote",)


def test_many_papers_are_scored_as_one_would_be():
    keyword, similarity = np.array([0.0, 0.5, 1.0]), np.array([2.0, -1.0, 0.3])
    reader, featured, upvotes = (
        np.array([0.1, 0.0, -0.4]),
        np.array([False, True, False]),
        [3, 0, 9],
    )
    scores = combine(
        keyword=keyword, similarity=similarity, reader=reader, featured=featured, upvotes=upvotes
    )
    for index in range(3):
        one = rank(
            Evidence(
                keyword=keyword[index],
                similarity=similarity[index],
                reader=reader[index],
                featured=bool(featured[index]),
                upvotes=upvotes[index],
            )
        )
        assert scores[index] == pytest.approx(one.score)
