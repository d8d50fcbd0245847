"""Semantic interests: what a subscription is about as a vector, and which papers are close to it.

A subscription may say what it follows in three ways, alone or together:

* a **boolean query** (``zero-shot AND CLIP``): matched exactly by the percolator; its words
  also give it an interest vector (:func:`query_interest_text`), used only to rank;
* a **free-text interest** ("test-time adaptation of vision-language models");
* **papers like given ones** (arXiv ids): the mean of their embeddings.

Text and papers together make one interest vector (:func:`interest_vector`), so scoring stays one
matrix product per chunk of subscriptions.

**Similarity is measured against the typical paper.** Raw cosine similarity means different
things for different interests: on the recorded Hugging Face listings the typical paper's
similarity to a one- or two-word query is 0.09–0.18, to a sentence 0.22–0.36, to the mean of
three papers 0.52–0.59, while the spread (standard deviation) is 0.09–0.12 for all of them
(bench/relevance.py prints the table). So one cosine threshold is too strict for a word and
lets most papers through for papers-like-these. The similarity is therefore standardised:
``z = (cosine − mean) / sd``, where mean and sd are those of the interest's similarity to a
background of recent papers (:class:`Background`). A threshold in z is "this many spreads
closer than the typical paper", the same for every kind and length of interest, and z is on
one scale across a reader's subscriptions — the fair footing the hybrid ranking needs.

The background's mean and sd for every interest of a chunk come from the mean vector and the
covariance matrix of the background papers (``q·μ`` and ``√(qᵀΣq)``: 256-dimensional, so the
cost does not grow with the number of background papers). A small background is shrunk towards
one measured on the 422 recorded papers (``background.npz``), so a new site with a handful of
papers still gets sensible thresholds.

Scoring a chunk (:func:`passing`) is one matrix product, readers × papers, then one comparison
against each row's threshold; thresholds per row are cosines (:func:`thresholds`), so the
product's output is compared as it is.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np

from subscriptions.compiled import AND, OR, PHRASE, PREFIX, TERM, CNode, compile_query
from subscriptions.embeddings import DIMENSIONS, embed, normalise
from subscriptions.query import Query, parse

PRIOR_PATH = Path(__file__).parent / "background.npz"
# How many papers the shipped background counts for when mixed with the site's own: a day of
# arXiv (hundreds of papers) outweighs it, a test database of five papers does not.
PRIOR_WEIGHT = 200
# Papers measured for a background: the sd of a similarity over 2,000 papers is within about
# 2 % of its value over all of them, and measuring 10,000 took a third of a preview's time.
BACKGROUND_SAMPLE = 2000
MIN_SD = 0.02  # a background of identical papers has no spread: z would divide by zero


class Kind(StrEnum):
    QUERY = "query"  # the words of a boolean query: ranks what the query matched
    TEXT = "text"  # a free-text interest
    PAPERS = "papers"  # papers like given ones
    COMBINED = "combined"  # text and papers


# Strictness 1 (loose) … 5 (strict) as a threshold in z, spreads above the typical paper's
# similarity. Measured on the recorded listings (bench/relevance.py, "Thresholds"; a listing's
# own papers are those a Hugging Face search for its query returned, many only loosely about
# it): at z ≥ 2, about 1 % of the other listings' papers pass for every kind of interest
# (0.5–1.2 % on average per kind) and 9–33 % of the listing's own; at z ≥ 1, 4–10 % of the
# others; at z ≥ 3, almost none and only the closest of its own.
STRICTNESS_Z = {1: 1.0, 2: 1.5, 3: 2.0, 4: 2.5, 5: 3.0}
DEFAULT_STRICTNESS = 3
# A kind's default, as a strictness. Papers-like-these interests are one step looser: the mean
# of a few papers is a narrower target than a sentence, and at z ≥ 2 it kept only 1–17 % of a
# listing's own papers (a sentence 9–27 %); at z ≥ 1.5, 7–30 % with 3 % of the others.
DEFAULT_STRICTNESS_BY_KIND = {
    Kind.QUERY: DEFAULT_STRICTNESS,
    Kind.TEXT: DEFAULT_STRICTNESS,
    Kind.PAPERS: DEFAULT_STRICTNESS - 1,
    Kind.COMBINED: DEFAULT_STRICTNESS,
}


def strictness_z(strictness: int) -> float:
    """The z threshold for a strictness from 1 (loose) to 5 (strict)."""
    if strictness not in STRICTNESS_Z:
        raise ValueError(f"strictness is 1 (loose) to 5 (strict), not {strictness!r}")
    return STRICTNESS_Z[strictness]


# --- Interests ----------------------------------------------------------------------------------


def query_interest_text(query: str | Query) -> str:
    """The words a boolean query looks for, as text to embed: its terms outside ``NOT``, in
    order (authors and categories are not topics). ``zero-shot AND (CLIP OR "vision language")
    -survey`` → ``zero-shot CLIP vision language``. Raises ``QueryError`` for an invalid query."""
    parsed = parse(query) if isinstance(query, str) else query
    return compiled_interest_text(compile_query(parsed))


def compiled_interest_text(node: CNode) -> str:
    """:func:`query_interest_text` of a compiled query (``Subscription.compiled``, loaded): the
    match step reads compiled queries, and parsing their texts again would take a minute at a
    million subscriptions."""
    words: list[str] = []

    def walk(node: CNode) -> None:
        op = node[0]
        if op in (TERM, PHRASE, PREFIX):
            words.append(node[3].strip('"'))  # the term as written; a phrase without quotes
        elif op in (AND, OR):
            for child in node[1]:
                walk(child)
        # NOT: what the reader does not want; AUTHOR, CATEGORY: not topics.

    walk(node)
    return " ".join(dict.fromkeys(words))


def interest_vector(text: str = "", papers: np.ndarray | None = None) -> np.ndarray | None:
    """One unit vector for an interest: the embedding of ``text``, the mean of the ``papers``'
    embeddings (rows), or, with both, the two given equal weight. ``None`` when there is
    neither (a subscription that is only a boolean query and has no words to embed)."""
    parts = []
    if text and text.strip():
        parts.append(embed([text.strip()])[0])
    if papers is not None and len(papers):
        parts.append(normalise(np.asarray(papers, dtype=np.float32).mean(axis=0)))
    parts = [part for part in parts if part.any()]
    if not parts:
        return None
    return normalise(np.sum(parts, axis=0))


def interest_kind(*, query: str = "", text: str = "", papers: int = 0) -> Kind | None:
    """Which kind of interest a subscription with these parts has (``papers``: how many given
    papers have an embedding), for its default strictness."""
    if text.strip() and papers:
        return Kind.COMBINED
    if text.strip():
        return Kind.TEXT
    if papers:
        return Kind.PAPERS
    return Kind.QUERY if query.strip() else None


# --- The background -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Background:
    """What the typical paper looks like: the mean and covariance of papers' embeddings, and how
    many papers they were measured on."""

    mean: np.ndarray  # (DIMENSIONS,)
    covariance: np.ndarray  # (DIMENSIONS, DIMENSIONS)
    count: int

    @classmethod
    def measure(cls, embeddings: np.ndarray) -> Background:
        """The background of exactly these papers (rows)."""
        embeddings = np.asarray(embeddings, dtype=np.float32)
        count = len(embeddings)
        if count == 0:
            zero = np.zeros(DIMENSIONS)
            return cls(zero, np.zeros((DIMENSIONS, DIMENSIONS)), 0)
        mean = embeddings.mean(axis=0, dtype=np.float64)
        # The second moment as one float32 product (BLAS; a tenth of the time of float64 on
        # 10,000 papers), accumulated in float64 from there on.
        second = (embeddings.T @ embeddings).astype(np.float64) / count
        return cls(mean, second - np.outer(mean, mean), count)

    @classmethod
    def of(cls, embeddings: np.ndarray, prior: Background | None = None) -> Background:
        """The background of these papers (the site's recent ones), mixed with ``prior`` (the
        shipped one) counted as ``PRIOR_WEIGHT`` papers: the pooled mean and covariance. Of
        many papers, ``BACKGROUND_SAMPLE`` evenly spaced ones are measured."""
        if len(embeddings) > BACKGROUND_SAMPLE:
            embeddings = embeddings[:: -(-len(embeddings) // BACKGROUND_SAMPLE)]
        own, prior = cls.measure(embeddings), prior or shipped_background()
        weight, prior_weight = own.count, min(prior.count, PRIOR_WEIGHT)
        total = weight + prior_weight
        mean = (weight * own.mean + prior_weight * prior.mean) / total
        second = (
            weight * (own.covariance + np.outer(own.mean, own.mean))
            + prior_weight * (prior.covariance + np.outer(prior.mean, prior.mean))
        ) / total
        return cls(mean, second - np.outer(mean, mean), own.count + prior.count)

    def spread(self, interests: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per interest (rows): the typical paper's cosine similarity to it, and the standard
        deviation of that similarity over the background."""
        # float32 matrix products (BLAS): for 100,000 interests this is two products of
        # 100,000 × 256 by 256, where an einsum over three operands ran a plain loop (25 s).
        interests = np.asarray(interests, dtype=np.float32)
        mean, covariance = self._float32
        means = interests @ mean
        variances = ((interests @ covariance) * interests).sum(axis=1)
        return means, np.sqrt(np.maximum(variances, MIN_SD**2)).astype(np.float32)

    @functools.cached_property
    def _float32(self) -> tuple[np.ndarray, np.ndarray]:
        """The mean and covariance as float32, converted once: converting them took 80 % of
        measuring one interest (the match step measures a query's words at a time)."""
        return self.mean.astype(np.float32), self.covariance.astype(np.float32)

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path,
            mean=self.mean.astype(np.float32),
            covariance=self.covariance.astype(np.float32),
            count=np.array(self.count),
        )

    @classmethod
    def load(cls, path: Path) -> Background:
        with np.load(path) as data:
            return cls(
                data["mean"].astype(np.float64),
                data["covariance"].astype(np.float64),
                int(data["count"]),
            )


@functools.cache
def shipped_background() -> Background:
    """The background measured on the 422 recorded Hugging Face papers
    (tests/fixtures/hf_papers_pages.jsonl; ``python bench/relevance.py --write-background``
    writes it again)."""
    return Background.load(PRIOR_PATH)


# --- Scoring a chunk ----------------------------------------------------------------------------


def thresholds(interests: np.ndarray, background: Background, z: float | np.ndarray) -> np.ndarray:
    """Per interest (rows), the cosine similarity a paper needs to be ``z`` spreads above the
    typical paper's (``z`` one value, or one per row). A row of zeros (no interest) gets an
    infinite threshold: nothing passes it."""
    means, sds = background.spread(interests)
    cut = means + np.asarray(z, dtype=np.float32) * sds
    cut[~np.asarray(interests).any(axis=1)] = np.inf
    return cut.astype(np.float32)


def standardise(similarities: np.ndarray, means: np.ndarray, sds: np.ndarray) -> np.ndarray:
    """Cosine similarities (interests × papers) as z: spreads above the typical paper."""
    return (similarities - means[:, None]) / sds[:, None]


@dataclass(frozen=True)
class Passed:
    """The (interest, paper) pairs of a chunk that passed: row numbers into the chunk's
    interests and papers, and the cosine similarity of each pair. Ordered by interest, then
    paper."""

    interest: np.ndarray  # int
    paper: np.ndarray  # int
    similarity: np.ndarray  # float32

    def __len__(self) -> int:
        return len(self.interest)


def passing(papers: np.ndarray, interests: np.ndarray, cut: np.ndarray) -> Passed:
    """Which papers (rows of ``papers``, unit vectors) pass each interest's threshold (``cut``,
    per row of ``interests``, from :func:`thresholds`): one matrix product for the whole chunk,
    interests × papers. Memory is one float32 per pair: a chunk of 20,000 interests × 2,000
    papers is 160 MB, so the caller chunks its subscriptions (see ``similarities_in_chunks``)."""
    similarities = np.asarray(interests, dtype=np.float32) @ np.asarray(papers, dtype=np.float32).T
    interest, paper = np.nonzero(similarities >= np.asarray(cut, dtype=np.float32)[:, None])
    return Passed(interest, paper, similarities[interest, paper])


def similarities_in_chunks(
    papers: np.ndarray, interests: np.ndarray, cut: np.ndarray, chunk: int = 10_000
):
    """:func:`passing` over ``interests`` ``chunk`` rows at a time; yields (first row, Passed)."""
    for start in range(0, len(interests), chunk):
        yield start, passing(papers, interests[start : start + chunk], cut[start : start + chunk])


def rank_by_interest(
    papers: np.ndarray, interest: np.ndarray, background: Background
) -> np.ndarray:
    """Every paper's z for one interest (a preview, the ``recommend`` command)."""
    means, sds = background.spread(interest[None, :])
    return standardise((papers @ interest)[None, :], means, sds)[0]


def stack_interests(vectors: Sequence[np.ndarray | None]) -> np.ndarray:
    """Interest vectors as one matrix; ``None`` (no interest) becomes a zero row."""
    matrix = np.zeros((len(vectors), DIMENSIONS), dtype=np.float32)
    for row, vector in enumerate(vectors):
        if vector is not None:
            matrix[row] = vector
    return matrix
