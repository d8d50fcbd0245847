"""A reader's own model, learnt from their ratings ("more like this" = liked, "not relevant").

**What it is.** L2-regularised logistic regression on the rated papers' embeddings:
``P(liked | paper) = σ(offset + w·x + b)``. The ``offset`` is what the reader's interest
already says about the paper (the hybrid ranking's score without the model, scaled), so the
model learns only what the interest does not: which of the papers close to the interest this
reader wants, and which they do not. Its output ``w·x + b`` is *added* to that ranking, never
used instead of it: on the recorded listings, a ranking by three liked papers alone is worse
than one by the query's words (bench/relevance.py, "feedback"), so a few ratings nudge the
query's ranking and many ratings move it further. The penalty ``λ/2 (|w|² + b²)`` keeps a
handful of ratings from swinging it.

**How it is fitted.** By Newton's method in the space of the ratings (the representer form
``w = Σ αᵢ xᵢ``, ``b = Σ αᵢ``): each step solves an n × n system, n the reader's ratings (at most
``MAX_RATINGS``), instead of 257 × 257. Readers are fitted together: their ratings padded into
one array, every step one batched solve, so a thousand readers cost about what one does. No
scikit-learn: it fits one reader at a time, and this is twenty lines of numpy.

**Explanations.** For each paper the model recommends, the nearest liked paper by cosine
similarity: "close to *Title*, which you liked".

**Training is lazy**: ``ReaderModels`` fits a reader's model the first time it is asked for
and keeps it for the run; a reader without ratings has no model (``None``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from subscriptions.embeddings import DIMENSIONS, from_bytes
from subscriptions.hybrid import READER_WEIGHT
from subscriptions.models import Feedback

# The penalty on |w|² + b², measured on the recorded listings with five liked and five disliked
# papers per listing (bench/relevance.py, "Regularisation"). 0.1–0.3 scored a little higher on
# average but swung the ranking: when the dislikes were the papers the reader had been shown,
# λ = 0.1 cost a tenth of precision at 25. λ = 1 raised AUC (+0.024) and precision at 50 in
# both settings without moving the top ten (see subscriptions.hybrid for READER_WEIGHT).
REGULARISATION = 1.0
MAX_RATINGS = 200  # the latest ones: tastes drift, and the solve grows with n³
NEWTON_STEPS = 30
TOLERANCE = 1e-6
# Readers per batched solve are grouped so that one batch's n × n systems stay small.
BATCH_CELLS = 4_000_000  # readers × n × n


@dataclass(frozen=True)
class Ratings:
    """One reader's rated papers: embeddings (rows), whether each was liked, and the interest's
    opinion of each as a log-odds offset (zeros: none)."""

    embeddings: np.ndarray
    liked: np.ndarray
    offsets: np.ndarray | None = None
    paper_ids: Sequence[int] = ()
    titles: Sequence[str] = ()

    def __len__(self) -> int:
        return len(self.liked)


@dataclass(frozen=True)
class ReaderModel:
    weights: np.ndarray  # (DIMENSIONS,)
    bias: float
    liked: np.ndarray  # embeddings of the liked papers (rows), for explanations
    liked_ids: Sequence[int] = ()
    liked_titles: Sequence[str] = ()
    ratings: int = 0

    def score(self, papers: np.ndarray) -> np.ndarray:
        """The model's log-odds correction for each paper (rows of unit vectors)."""
        return np.asarray(papers, dtype=np.float32) @ self.weights.astype(np.float32) + self.bias

    def nearest_liked(self, papers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per paper, the index of the closest liked paper and its cosine similarity (index
        -1 and similarity -inf when the reader liked nothing)."""
        papers = np.asarray(papers, dtype=np.float32)
        if not len(self.liked):
            return np.full(len(papers), -1), np.full(len(papers), -np.inf, dtype=np.float32)
        similarities = papers @ self.liked.T
        nearest = similarities.argmax(axis=1)
        return nearest, similarities[np.arange(len(papers)), nearest]

    def explain(self, paper: np.ndarray) -> str | None:
        """ "close to *Title*, which you liked", for the liked paper nearest to ``paper``."""
        nearest, _ = self.nearest_liked(paper[None, :])
        if nearest[0] < 0 or not self.liked_titles:
            return None
        title = " ".join(self.liked_titles[nearest[0]].split())
        return f"close to *{title}*, which you liked"


def fit(ratings: Ratings, regularisation: float = REGULARISATION) -> ReaderModel | None:
    """One reader's model, or ``None`` without ratings."""
    return fit_many([ratings], regularisation)[0]


def fit_many(
    readers: Sequence[Ratings], regularisation: float = REGULARISATION
) -> list[ReaderModel | None]:
    """Every reader's model (``None`` for a reader without ratings), fitted in batches of
    readers with similar numbers of ratings."""
    models: list[ReaderModel | None] = [None] * len(readers)
    order = sorted(
        (index for index, ratings in enumerate(readers) if len(ratings)),
        key=lambda index: min(len(readers[index]), MAX_RATINGS),
    )
    start = 0
    while start < len(order):
        width = min(len(readers[order[start]]), MAX_RATINGS)
        end = start + 1
        # Grow the batch while it stays within BATCH_CELLS at its widest reader.
        while end < len(order):
            wider = min(len(readers[order[end]]), MAX_RATINGS)
            if (end - start + 1) * wider * wider > BATCH_CELLS:
                break
            width = wider
            end += 1
        batch = [readers[index] for index in order[start:end]]
        fitted = _fit_batch(batch, width, regularisation)
        for index, model in zip(order[start:end], fitted, strict=True):
            models[index] = model
        start = end
    return models


def _fit_batch(readers: Sequence[Ratings], width: int, regularisation: float) -> list[ReaderModel]:
    count = len(readers)
    x = np.zeros((count, width, DIMENSIONS), dtype=np.float64)
    y = np.zeros((count, width))
    mask = np.zeros((count, width))
    offsets = np.zeros((count, width))
    for row, ratings in enumerate(readers):
        n = min(len(ratings), width)  # the latest ``width``: callers list oldest first
        x[row, :n] = np.asarray(ratings.embeddings, dtype=np.float64)[-n:]
        y[row, :n] = np.asarray(ratings.liked, dtype=np.float64)[-n:]
        mask[row, :n] = 1.0
        if ratings.offsets is not None:
            offsets[row, :n] = np.asarray(ratings.offsets, dtype=np.float64)[-n:]
    # The bias is a constant feature 1, so the kernel of the augmented features is x·x' + 1.
    kernel = np.einsum("rnd,rmd->rnm", x, x) + 1.0
    alpha = _newton(kernel, y, mask, offsets, regularisation)
    weights = np.einsum("rn,rnd->rd", alpha, x)
    biases = alpha.sum(axis=1)
    models = []
    for row, ratings in enumerate(readers):
        liked = np.asarray(ratings.liked, dtype=bool)
        ids = list(ratings.paper_ids)
        titles = list(ratings.titles)
        models.append(
            ReaderModel(
                weights=weights[row].astype(np.float32),
                bias=float(biases[row]),
                liked=np.asarray(ratings.embeddings, dtype=np.float32)[liked],
                liked_ids=[ids[i] for i in np.flatnonzero(liked)] if ids else [],
                liked_titles=[titles[i] for i in np.flatnonzero(liked)] if titles else [],
                ratings=len(ratings),
            )
        )
    return models


def _newton(
    kernel: np.ndarray, y: np.ndarray, mask: np.ndarray, offsets: np.ndarray, penalty: float
) -> np.ndarray:
    """Minimise Σ mask·logloss(y, offset + Kα) + penalty/2 · αᵀKα for each reader (batch row).
    The Newton step for α is (W K + penalty I)⁻¹ (g + penalty α), with g the loss gradient and W
    the logistic curvature per rating; padding (mask 0) has g = W = 0, so its α stays 0."""
    count, width, _ = kernel.shape
    alpha = np.zeros((count, width))
    identity = penalty * np.eye(width)
    for _ in range(NEWTON_STEPS):
        logits = np.einsum("rnm,rm->rn", kernel, alpha) + offsets
        probability = 1.0 / (1.0 + np.exp(-logits))
        gradient = mask * (probability - y)
        curvature = mask * probability * (1.0 - probability)
        step = np.linalg.solve(
            curvature[:, :, None] * kernel + identity, (gradient + penalty * alpha)[:, :, None]
        )[:, :, 0]
        alpha -= step
        if np.abs(step).max() < TOLERANCE:
            break
    return alpha


def score_readers(models: Sequence[ReaderModel], papers: np.ndarray) -> np.ndarray:
    """Every model's score for every paper (readers × papers): one matrix product."""
    if not models:
        return np.zeros((0, len(papers)), dtype=np.float32)
    weights = np.vstack([model.weights for model in models]).astype(np.float32)
    biases = np.array([model.bias for model in models], dtype=np.float32)
    return weights @ np.asarray(papers, dtype=np.float32).T + biases[:, None]


# --- From the database ----------------------------------------------------------------------------


def load_ratings(user_ids: Iterable[int]) -> dict[int, Ratings]:
    """The ratings of these readers (one query), oldest first, papers with an embedding only.
    Readers without any are absent."""
    rows = (
        Feedback.objects.filter(user_id__in=list(user_ids), paper__embedding__isnull=False)
        .order_by("user_id", "created_at", "id")
        .values_list("user_id", "paper_id", "kind", "paper__embedding", "paper__title")
    )
    by_user: dict[int, list[tuple]] = {}
    for user_id, paper_id, kind, embedding, title in rows:
        by_user.setdefault(user_id, []).append((paper_id, kind, embedding, title))
    ratings = {}
    for user_id, items in by_user.items():
        items = items[-MAX_RATINGS:]
        ratings[user_id] = Ratings(
            embeddings=np.vstack([from_bytes(embedding) for _, _, embedding, _ in items]),
            liked=np.array([kind == Feedback.Kind.MORE for _, kind, _, _ in items]),
            paper_ids=[paper_id for paper_id, _, _, _ in items],
            titles=[title for _, _, _, title in items],
        )
    return ratings


Prior = Callable[[int, np.ndarray], np.ndarray]


class ReaderModels:
    """Readers' models for one run, each fitted when first asked for.

    >>> models = ReaderModels(prior=ranking_without_model)   # prior: optional, see below
    >>> models.prefetch(chunk_of_user_ids)     # optional: one query and one batched fit
    >>> models.get(user_id)                     # a ReaderModel, or None without ratings

    ``prior(user_id, embeddings)`` gives the hybrid score the reader's subscriptions give each
    rated paper (rows), without the model; the model is then fitted with ``score /
    READER_WEIGHT`` as offsets, so that ``score + READER_WEIGHT × model`` is the fitted
    log-odds. Without it the model is fitted on the ratings alone (within 0.01 AUC on the
    recorded listings, bench/relevance.py "no offset").
    """

    def __init__(self, regularisation: float = REGULARISATION, prior: Prior | None = None):
        self.regularisation = regularisation
        self.prior = prior
        self.models: dict[int, ReaderModel | None] = {}

    def prefetch(self, user_ids: Iterable[int]) -> None:
        missing = [user_id for user_id in user_ids if user_id not in self.models]
        if not missing:
            return
        ratings = load_ratings(missing)
        if self.prior is not None:
            ratings = {
                user_id: replace(
                    rated,
                    offsets=np.asarray(self.prior(user_id, rated.embeddings)) / READER_WEIGHT,
                )
                for user_id, rated in ratings.items()
            }
        fitted = fit_many([ratings[user_id] for user_id in ratings], self.regularisation)
        self.models.update(dict.fromkeys(missing))
        self.models.update(zip(ratings, fitted, strict=True))

    def get(self, user_id: int) -> ReaderModel | None:
        if user_id not in self.models:
            self.prefetch([user_id])
        return self.models[user_id]
