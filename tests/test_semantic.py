"""Semantic interests: a subscription's words, free text or example papers as one vector, and
which papers are close to it — measured against the typical paper, one product per chunk."""

from __future__ import annotations

import numpy as np
import pytest

from subscriptions import semantic
from subscriptions.embeddings import DIMENSIONS, embed, normalise, paper_text
from subscriptions.query import QueryError
from subscriptions.semantic import (
    Background,
    Kind,
    interest_kind,
    interest_vector,
    passing,
    query_interest_text,
    rank_by_interest,
    similarities_in_chunks,
    stack_interests,
    strictness_z,
    thresholds,
)
from tests.realpapers import real_rows


@pytest.fixture(scope="module")
def recorded():
    """The 422 recorded papers' embeddings, and which listing each came from."""
    rows = real_rows()
    vectors = embed([paper_text(row["title"], row["abstract"]) for row in rows])
    pages = np.array([row["page"][:3] for row in rows])
    return vectors, pages


def random_unit_rows(count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return normalise(rng.standard_normal((count, DIMENSIONS)).astype(np.float32))


# --- Interests --------------------------------------------------------------------------------


def test_a_boolean_query_is_interested_in_the_words_it_looks_for():
    text = 'zero-shot AND (CLIP OR "vision language") -survey author:LeCun cat:cs.CV'
    assert query_interest_text(text) == "zero-shot CLIP vision language"


def test_an_invalid_query_has_no_interest_text():
    with pytest.raises(QueryError):
        query_interest_text("zero-shot AND")


def test_free_text_and_example_papers_make_one_unit_vector():
    papers = random_unit_rows(3, seed=1)
    vector = interest_vector("test-time adaptation of vision-language models", papers)
    assert vector.shape == (DIMENSIONS,)
    assert np.isclose(np.linalg.norm(vector), 1.0, atol=1e-5)
    text_only = interest_vector("test-time adaptation of vision-language models")
    papers_only = interest_vector(papers=papers)
    # Equal parts: as close to the text alone as to the papers alone.
    assert np.isclose(vector @ text_only, vector @ papers_only, atol=1e-5)


def test_nothing_to_embed_is_no_interest():
    assert interest_vector("") is None
    assert interest_vector("   ", np.zeros((0, DIMENSIONS))) is None


def test_each_mix_of_parts_has_its_kind():
    assert interest_kind(query="zero-shot") is Kind.QUERY
    assert interest_kind(query="zero-shot", text="speech synthesis") is Kind.TEXT
    assert interest_kind(papers=2) is Kind.PAPERS
    assert interest_kind(text="speech synthesis", papers=2) is Kind.COMBINED
    assert interest_kind() is None


def test_strictness_runs_from_loose_to_strict():
    values = [strictness_z(level) for level in range(1, 6)]
    assert values == sorted(values) and len(set(values)) == 5
    with pytest.raises(ValueError, match="1 \\(loose\\) to 5 \\(strict\\)"):
        strictness_z(6)


def test_papers_like_given_ones_default_one_step_looser_than_free_text():
    defaults = semantic.DEFAULT_STRICTNESS_BY_KIND
    assert defaults[Kind.PAPERS] == defaults[Kind.TEXT] - 1


# --- The background -----------------------------------------------------------------------------


def test_similarity_is_counted_in_spreads_above_the_typical_paper(recorded):
    vectors, _ = recorded
    interest = interest_vector("domain adaptation")
    z = rank_by_interest(vectors, interest, Background.measure(vectors))
    assert abs(z.mean()) < 1e-3
    assert np.isclose(z.std(), 1.0, atol=1e-3)
    assert np.array_equal(np.argsort(-z), np.argsort(-(vectors @ interest)))


def test_the_shipped_background_is_the_recorded_papers(recorded):
    vectors, _ = recorded
    shipped, measured = semantic.shipped_background(), Background.measure(vectors)
    assert shipped.count == len(vectors) == 422
    assert np.allclose(shipped.mean, measured.mean, atol=1e-5)
    assert np.allclose(shipped.covariance, measured.covariance, atol=1e-5)


def test_a_site_with_a_handful_of_papers_leans_on_the_shipped_background(recorded):
    vectors, _ = recorded
    few = Background.of(vectors[:5])
    interest = interest_vector("domain adaptation")[None, :]
    few_mean, few_sd = few.spread(interest)
    shipped_mean, shipped_sd = semantic.shipped_background().spread(interest)
    own_mean, own_sd = Background.measure(vectors[:5]).spread(interest)
    assert abs(few_mean[0] - shipped_mean[0]) < abs(own_mean[0] - shipped_mean[0]) / 10
    assert abs(few_sd[0] - shipped_sd[0]) < 0.01


def test_a_day_of_papers_outweighs_the_shipped_background():
    day = random_unit_rows(2000, seed=3)
    mixed = Background.of(day)
    own = Background.measure(day[:: -(-len(day) // semantic.BACKGROUND_SAMPLE)])
    # 2,000 papers against the prior's 200: the mean is ten elevenths the site's own.
    expected = (2000 * own.mean + 200 * semantic.shipped_background().mean) / 2200
    assert np.allclose(mixed.mean, expected, atol=1e-6)


def test_a_background_of_identical_papers_still_has_a_spread():
    paper = random_unit_rows(1, seed=4)
    _, sds = Background.measure(np.repeat(paper, 10, axis=0)).spread(paper)
    assert sds[0] == pytest.approx(semantic.MIN_SD)


def test_one_strictness_lets_few_other_papers_through_for_every_kind_of_interest(recorded):
    # Raw cosines differ several-fold between a word, a sentence and example papers; in spreads
    # above the typical paper, the default lets through a few percent of unrelated papers
    # whatever the kind (listing 001 was the Hugging Face search for CLIP).
    vectors, pages = recorded
    clip = pages == "001"
    seeds = np.flatnonzero(clip)[:3]
    interests = stack_interests(
        [
            interest_vector(query_interest_text("CLIP")),
            interest_vector("CLIP: contrastive language-image pretraining"),
            interest_vector(papers=vectors[seeds]),
        ]
    )
    background = Background.of(vectors)
    means, _ = background.spread(interests)
    assert means[2] > means[0] + 0.3  # example papers are "close" to almost everything
    cut = thresholds(interests, background, strictness_z(semantic.DEFAULT_STRICTNESS))
    found = passing(vectors, interests, cut)
    for row in range(3):
        passed = found.paper[found.interest == row]
        others = np.setdiff1d(passed, np.flatnonzero(clip))
        assert len(others) / (~clip).sum() < 0.03
        assert len(np.intersect1d(passed, np.flatnonzero(clip))) >= 5


# --- Scoring a chunk ----------------------------------------------------------------------------


def test_a_chunk_is_scored_exactly_as_pair_by_pair():
    papers, interests = random_unit_rows(300, seed=5), random_unit_rows(40, seed=6)
    cut = np.random.default_rng(7).uniform(0.0, 0.15, size=40).astype(np.float32)
    found = passing(papers, interests, cut)
    expected = [
        (row, column)
        for row in range(40)
        for column in range(300)
        if float(interests[row] @ papers[column]) >= cut[row]
    ]
    assert list(zip(found.interest.tolist(), found.paper.tolist(), strict=True)) == expected
    assert np.allclose(found.similarity, [interests[r] @ papers[c] for r, c in expected], atol=1e-6)


def test_a_subscription_without_an_interest_passes_nothing():
    papers = random_unit_rows(50, seed=8)
    interests = stack_interests([None, papers[0]])
    cut = thresholds(interests, Background.of(papers), 1.0)
    assert cut[0] == np.inf
    found = passing(papers, interests, cut)
    assert set(found.interest.tolist()) == {1}


def test_chunks_of_subscriptions_find_what_one_chunk_finds():
    papers, interests = random_unit_rows(200, seed=9), random_unit_rows(95, seed=10)
    cut = thresholds(interests, Background.of(papers), 1.0)
    whole = passing(papers, interests, cut)
    pieces = [
        (start + found.interest, found.paper)
        for start, found in similarities_in_chunks(papers, interests, cut, chunk=20)
    ]
    assert np.array_equal(np.concatenate([rows for rows, _ in pieces]), whole.interest)
    assert np.array_equal(np.concatenate([cols for _, cols in pieces]), whole.paper)
