"""The one ranking of a paper for a subscription: keyword match, meaning, the reader's own
model, curation and upvotes in one score, with the reasons to show the reader.

    score = z + KEYWORD_WEIGHT × keyword + READER_WEIGHT × reader
            + FEATURED_BONUS × featured + min(upvotes, 4 999) × 1e-7

* ``z`` — how close the paper is in meaning to the subscription's interest, in spreads above the
  typical paper (``subscriptions.semantic``: the free text, the given papers, or the words of the
  boolean query). Standardising puts every subscription on one scale, so one reader's
  subscriptions share a digest fairly: a one-word query and a paragraph-long interest both score
  their papers in "how unusually close", not in raw cosines of very different sizes.
* ``keyword`` — the boolean match's score (title hits above abstract hits, rare terms above
  common ones; ``subscriptions.ranking.score``) divided by the best score among the papers
  ranked together for that subscription (:func:`normalise_keyword`), so 0–1 whatever the query.
  0 for a paper the query does not match or a subscription without one.
* ``reader`` — the reader's model (``subscriptions.reader_model``): a log-odds correction learnt
  from their ratings; 0 for a reader without ratings.

**Weights, measured** (bench/relevance.py on the recorded Hugging Face listings — 422 papers,
four listings searched for ``zero-shot``, ``CLIP``, ``domain adaptation`` and ``deep``; AUC of
ranking a listing's papers above the others):

* ``KEYWORD_WEIGHT = 3``. The prototype ranked by ``cosine + 0.3 × keyword``; the cosine's spread
  over papers is about 0.1, so in z that is ``z + 3 × keyword``. Keyword alone: AUC 0.745 /
  0.819 / 0.665 / 0.620 (mean 0.712); meaning alone 0.782 / 0.890 / 0.806 / 0.736 (0.804); this
  hybrid 0.808 / 0.910 / 0.807 / 0.740 (0.816), at least 0.06 above keywords on every listing.
  The mean is 0.812 at weight 1 and 0.814–0.816 from 1.5 to 8 (the bench prints the scan): a
  plateau, and 3 is the prototype's weight. Precision at 10 is not always better: on
  ``zero-shot`` keywords alone put ten of the listing's papers first (the listing is a keyword
  search) and the hybrid eight.
* ``READER_WEIGHT = 2``, with the model fitted with the ranking as its offset (``offset = score
  / READER_WEIGHT``), so ``score + READER_WEIGHT × reader`` is the fitted log-odds, scaled. With
  five liked and five disliked papers per listing, the next ranking's AUC rose by 0.024 on
  average (0.813 → 0.837 when the disliked papers are other listings' first papers; 0.823 →
  0.847 when they are the other listings' papers the hybrid ranked highest), precision at 50 by
  0.025–0.04; precision at 10 did not move (1.0 already on every listing when the reader's
  dislikes are what they were shown; 0.8–1.0 otherwise) and at 25 lost one paper on one
  listing. Weights 1–4 with regularisation 1 gave the same picture; at 0.5 the model barely
  moves anything, at 8 with less regularisation it overrides the query (precision at 10 fell
  by up to 0.6).
* ``FEATURED_BONUS`` puts featured papers first, as curators expect (it dwarfs every other
  term). ``featured`` can change after the match step: rank when composing, or add it then.
* Upvotes only break ties, as in the keyword ranking: the recordings carry no upvotes to weigh
  them against relevance, and a popular paper is not thereby a relevant one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from subscriptions import explain

KEYWORD_WEIGHT = 3.0
READER_WEIGHT = 2.0
FEATURED_BONUS = 1000.0
UPVOTE_WEIGHT = 1e-7
MAX_TIEBREAK_UPVOTES = 4_999
# Said "close in meaning" only when the paper is this many spreads above the typical paper; "close
# to X, which you liked" when the paper is that close to X too (in spreads above the typical
# paper's closeness to X) and the reader's model, if any, did not lower it. Defined with the
# wording, in ``subscriptions.explain``.
CLOSE_IN_MEANING_Z = explain.CLOSE_IN_MEANING_Z


@dataclass(frozen=True)
class Evidence:
    """What is known of one paper for one subscription (and its reader)."""

    keyword: float = 0.0  # normalised boolean-match score, 0–1 (normalise_keyword)
    hits: Sequence[dict[str, str]] = ()  # [{"term", "field"}] from the matcher
    similarity: float | None = None  # z; None without a semantic interest
    interest: str = ""  # the interest's words as the reader wrote them, for the reason
    reader: float | None = None  # the reader model's correction; None without a model
    liked_title: str | None = None  # the nearest paper the reader liked
    liked_similarity: float | None = None  # z of this paper's closeness to that one
    example_title: str | None = None  # the nearest of the subscription's example papers
    featured: bool = False
    upvotes: int = 0


@dataclass(frozen=True)
class Ranked:
    score: float
    lines: tuple[explain.Line, ...]  # the reasons, for text (``str``) or a page (``.html``)

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(str(line) for line in self.lines)


def combine(
    *,
    keyword: np.ndarray | float = 0.0,
    similarity: np.ndarray | float = 0.0,
    reader: np.ndarray | float = 0.0,
    featured: np.ndarray | bool = False,
    upvotes: np.ndarray | int = 0,
) -> np.ndarray:
    """The score for many papers at once (arrays of one value per paper, or scalars): the
    formula in the module docstring. :func:`rank` is the same for one paper, with reasons."""
    return (
        np.asarray(similarity, dtype=np.float64)
        + KEYWORD_WEIGHT * np.asarray(keyword, dtype=np.float64)
        + READER_WEIGHT * np.asarray(reader, dtype=np.float64)
        + FEATURED_BONUS * np.asarray(featured, dtype=np.float64)
        + UPVOTE_WEIGHT * np.minimum(np.asarray(upvotes), MAX_TIEBREAK_UPVOTES)
    )


def rank(evidence: Evidence) -> Ranked:
    """One paper's score and the reasons to show, most telling first."""
    score = float(
        combine(
            keyword=evidence.keyword,
            similarity=evidence.similarity or 0.0,
            reader=evidence.reader or 0.0,
            featured=evidence.featured,
            upvotes=evidence.upvotes,
        )
    )
    return Ranked(score, tuple(reason_lines(evidence)))


def reason_lines(evidence: Evidence) -> list[explain.Line]:
    """The reasons to show for one paper, worded as everywhere else (``subscriptions.explain``):
    the evidence as the entries a digest stores, said only where it bears them out."""
    entries: list[dict] = list(evidence.hits)
    interest = " ".join(evidence.interest.split())
    # An interest of example papers only has no words to quote: the nearest example is named
    # then (``example_title``).
    if evidence.similarity is not None and (interest or evidence.example_title):
        entries.append(
            {
                "field": explain.MEANING,
                "term": interest,
                "similarity": evidence.similarity,
                "examples": bool(interest and evidence.example_title),
                "example": "" if interest else evidence.example_title,
            }
        )
    if (
        evidence.liked_title
        and evidence.liked_similarity is not None
        and (evidence.reader is None or evidence.reader > 0)
    ):
        entries.append(
            {
                "field": explain.LIKED,
                "term": evidence.liked_title,
                "similarity": evidence.liked_similarity,
            }
        )
    return explain.lines(entries, featured=evidence.featured, upvotes=evidence.upvotes)


def normalise_keyword(scores: np.ndarray) -> np.ndarray:
    """One subscription's boolean-match scores over the papers ranked together, divided by the
    best of them: 0–1, so a query of rare terms and one of common terms weigh alike."""
    scores = np.asarray(scores, dtype=np.float64)
    best = scores.max() if scores.size else 0.0
    return scores / best if best > 0 else np.zeros_like(scores)
