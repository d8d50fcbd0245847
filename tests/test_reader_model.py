"""A reader's own model, learnt from their "more like this" / "not relevant" ratings: it nudges
the ranking of their interest, and says which liked paper a recommendation is close to."""

from __future__ import annotations

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from subscriptions import hybrid, reader_model, semantic
from subscriptions.embeddings import DIMENSIONS, embed, embed_new_papers, normalise, paper_text
from subscriptions.models import Feedback
from subscriptions.reader_model import (
    Ratings,
    ReaderModels,
    fit,
    fit_many,
    load_ratings,
    score_readers,
)
from tests.factories import PaperFactory, UserFactory
from tests.realpapers import real_paper, real_rows


@pytest.fixture(scope="module")
def recorded():
    rows = real_rows()
    vectors = embed([paper_text(row["title"], row["abstract"]) for row in rows])
    pages = np.array([row["page"][:3] for row in rows])
    titles = [row["title"] for row in rows]
    return vectors, pages, titles


def random_ratings(count: int, seed: int) -> Ratings:
    rng = np.random.default_rng(seed)
    vectors = normalise(rng.standard_normal((count, DIMENSIONS)).astype(np.float32))
    return Ratings(vectors, rng.random(count) < 0.5, rng.normal(0, 1, count))


def test_a_reader_without_ratings_has_no_model():
    assert fit(Ratings(np.zeros((0, DIMENSIONS)), np.zeros(0, dtype=bool))) is None


def test_liked_topics_rise_and_disliked_topics_fall(recorded):
    vectors, pages, _ = recorded
    clip, deep = np.flatnonzero(pages == "001"), np.flatnonzero(pages == "004")
    rated = np.concatenate([clip[:5], deep[:5]])
    model = fit(Ratings(vectors[rated], np.array([True] * 5 + [False] * 5)))
    scores = model.score(vectors)
    unseen_clip, unseen_deep = scores[clip[5:]], scores[deep[5:]]
    assert unseen_clip.mean() > unseen_deep.mean() + 0.15
    assert (unseen_clip[:, None] > unseen_deep[None, :]).mean() > 0.8


def test_the_fit_is_the_regularised_optimum():
    # The gradient of Σ logloss(offset + w·x + b) + λ/2 (|w|² + b²) vanishes at the fit.
    ratings = random_ratings(12, seed=1)
    model = fit(ratings)
    x, y = ratings.embeddings.astype(np.float64), ratings.liked.astype(np.float64)
    logits = ratings.offsets + x @ model.weights.astype(np.float64) + model.bias
    residual = 1 / (1 + np.exp(-logits)) - y
    penalty = reader_model.REGULARISATION
    assert np.abs(x.T @ residual + penalty * model.weights).max() < 1e-4
    assert abs(residual.sum() + penalty * model.bias) < 1e-4


def test_readers_fitted_together_get_the_models_they_would_get_alone():
    readers = [random_ratings(count, seed) for seed, count in enumerate((3, 12, 1, 7))]
    together = fit_many(
        [*readers[:2], Ratings(np.zeros((0, DIMENSIONS)), np.zeros(0)), *readers[2:]]
    )
    assert together[2] is None
    alone = [fit(ratings) for ratings in readers]
    for joint, single in zip([m for m in together if m is not None], alone, strict=True):
        assert np.allclose(joint.weights, single.weights, atol=1e-5)
        assert joint.bias == pytest.approx(single.bias, abs=1e-5)


def test_all_readers_are_scored_with_one_product():
    models = fit_many([random_ratings(6, seed) for seed in range(5)])
    papers = normalise(np.random.default_rng(9).standard_normal((30, DIMENSIONS)))
    matrix = score_readers(models, papers)
    assert matrix.shape == (5, 30)
    for row, model in enumerate(models):
        assert np.allclose(matrix[row], model.score(papers), atol=1e-5)


def test_three_liked_papers_never_replace_the_query(recorded):
    # A reader of "domain adaptation" liked three papers of the "deep" listing. Their model,
    # added to the query's ranking, leaves its top ten as it was; the three papers' model alone
    # would have ranked a different topic first.
    vectors, pages, _ = recorded
    interest = semantic.interest_vector("domain adaptation")
    before = semantic.rank_by_interest(vectors, interest, semantic.Background.of(vectors))
    liked = np.flatnonzero(pages == "004")[:3]
    model = fit(
        Ratings(vectors[liked], np.ones(3, dtype=bool), before[liked] / hybrid.READER_WEIGHT)
    )
    after = before + hybrid.READER_WEIGHT * model.score(vectors)
    unseen = np.setdiff1d(np.arange(len(vectors)), liked)

    def top_ten(scores):
        return unseen[np.argsort(-scores[unseen], kind="stable")[:10]]

    assert (pages[top_ten(after)] == "003").sum() >= 9
    assert (pages[top_ten(model.score(vectors))] == "003").sum() <= 2


def test_a_recommendation_is_explained_by_the_nearest_liked_paper(recorded):
    vectors, pages, titles = recorded
    clip, tts = np.flatnonzero(pages == "001")[:2], np.flatnonzero(pages == "000")[:1]
    liked = np.concatenate([clip[:1], tts])
    model = fit(
        Ratings(
            vectors[liked],
            np.ones(2, dtype=bool),
            paper_ids=[10, 20],
            titles=[titles[i] for i in liked],
        )
    )
    nearest, similarity = model.nearest_liked(vectors[clip[1:2]])
    assert nearest[0] == 0 and similarity[0] > 0.5
    assert model.explain(vectors[clip[1]]) == f"close to *{titles[clip[0]]}*, which you liked"


# --- From the database ----------------------------------------------------------------------------


CLIP_PAPERS = (
    "Test-Time Adaptation with CLIP Reward",
    "Convolutions Die Hard: Open-Vocabulary Segmentation",
)


@pytest.mark.django_db
def test_ratings_are_read_from_feedback_oldest_first():
    reader, other = UserFactory(), UserFactory()
    liked, disliked = (real_paper(title) for title in CLIP_PAPERS)
    not_embedded = PaperFactory(title="Ingested a second ago")
    embed_new_papers()
    not_embedded.embedding = None
    not_embedded.save()
    Feedback.objects.create(user=reader, paper=liked, kind=Feedback.Kind.MORE)
    Feedback.objects.create(user=reader, paper=disliked, kind=Feedback.Kind.LESS)
    Feedback.objects.create(user=reader, paper=not_embedded, kind=Feedback.Kind.MORE)
    ratings = load_ratings([reader.pk, other.pk])
    assert list(ratings) == [reader.pk]
    assert list(ratings[reader.pk].paper_ids) == [liked.pk, disliked.pk]
    assert ratings[reader.pk].liked.tolist() == [True, False]
    assert ratings[reader.pk].titles == [liked.title, disliked.title]


@pytest.mark.django_db
def test_only_the_latest_ratings_count(monkeypatch):
    monkeypatch.setattr(reader_model, "MAX_RATINGS", 1)
    reader = UserFactory()
    first, latest = (real_paper(title) for title in CLIP_PAPERS)
    embed_new_papers()
    Feedback.objects.create(user=reader, paper=first, kind=Feedback.Kind.MORE)
    Feedback.objects.create(user=reader, paper=latest, kind=Feedback.Kind.LESS)
    assert list(load_ratings([reader.pk])[reader.pk].paper_ids) == [latest.pk]


@pytest.mark.django_db
def test_models_are_fitted_when_first_asked_for_and_kept_for_the_run():
    rater, silent = UserFactory(), UserFactory()
    liked, disliked = (real_paper(title) for title in CLIP_PAPERS)
    embed_new_papers()
    Feedback.objects.create(user=rater, paper=liked, kind=Feedback.Kind.MORE)
    Feedback.objects.create(user=rater, paper=disliked, kind=Feedback.Kind.LESS)
    models = ReaderModels()
    assert models.models == {}
    with CaptureQueriesContext(connection) as queries:
        models.prefetch([rater.pk, silent.pk])
    assert len(queries) == 1
    assert models.get(silent.pk) is None
    model = models.get(rater.pk)
    assert model.ratings == 2 and list(model.liked_ids) == [liked.pk]
    with CaptureQueriesContext(connection) as queries:
        assert models.get(rater.pk) is model
    assert len(queries) == 0


@pytest.mark.django_db
def test_the_interests_opinion_of_the_rated_papers_is_the_models_offset():
    reader = UserFactory()
    liked, disliked = (real_paper(title) for title in CLIP_PAPERS)
    embed_new_papers()
    Feedback.objects.create(user=reader, paper=liked, kind=Feedback.Kind.MORE)
    Feedback.objects.create(user=reader, paper=disliked, kind=Feedback.Kind.LESS)
    asked = []

    def prior(user_id, embeddings):
        asked.append((user_id, len(embeddings)))
        return np.array([4.0, 1.0])

    with_prior = ReaderModels(prior=prior).get(reader.pk)
    assert asked == [(reader.pk, 2)]
    rated = load_ratings([reader.pk])[reader.pk]
    expected = fit(
        Ratings(rated.embeddings, rated.liked, np.array([4.0, 1.0]) / hybrid.READER_WEIGHT)
    )
    assert np.allclose(with_prior.weights, expected.weights, atol=1e-6)
    assert not np.allclose(with_prior.weights, ReaderModels().get(reader.pk).weights, atol=1e-3)
