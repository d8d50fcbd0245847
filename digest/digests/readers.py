"""Readers: what the papers' embeddings add to a chunk's digests, each embedding read once.

A reader who rated papers ("more like this" / "not relevant") has a model
(``subscriptions.reader_model``). For those planned together, ``score_and_suggest`` gives each
of their candidates the model's term (``fair_order`` adds it within each subscription's list)
and, when it is close to a paper they liked, that paper as a reason; names the example paper
nearest to a paper close to an interest of example papers; and picks each reader's "You might
also like" suggestions from their window's papers.

It lives in the digests layer, beside compose, because it works on compose's candidates for a
whole chunk of users at once: one query for the window's embeddings, one batched fit, one
matrix product — the per-reader models themselves belong to ``subscriptions``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from digest.digests.candidates import STORED_TEXT_CHARS, Candidate
from digest.digests.models import DigestItem
from digest.papers.models import Paper
from subscriptions import explain, semantic
from subscriptions.embeddings import stack
from subscriptions.hybrid import CLOSE_IN_MEANING_Z, combine
from subscriptions.models import Feedback, Match, Subscription
from subscriptions.reader_model import ReaderModel, ReaderModels, score_readers


def score_and_suggest(
    found: dict[int, dict[int, Candidate]],
    close_in_meaning: list[tuple[Candidate, dict]],
    *,
    starts: dict[int, dt.datetime],
    now: dt.datetime,
) -> dict[int, list[Suggestion]]:
    """For users planned together — ``found``, each one's candidates by paper id, in their
    windows ``(starts[user], now]`` — add the reader terms and "close to a paper you liked"
    reasons to the candidates of those with a model (``_readers``), complete the ``meaning``
    entries in ``close_in_meaning`` with example papers (``_name_examples``), and return each
    rated reader's suggestions (``_suggestions``). The examples come after the readers: they
    load only the embeddings not read for the readers already."""
    vectors = _Vectors()
    readers = _readers(found, vectors, starts=starts, now=now)
    if close_in_meaning:
        _name_examples(close_in_meaning, vectors)
    return _suggestions(readers, found, vectors, starts=starts, now=now)


class _Vectors:
    """The embeddings one chunk of users needs, each paper's read once: the papers first seen
    in the window of those who have a reader model (their suggestions are among them) and, by
    id, the few candidates first seen before it."""

    def __init__(self) -> None:
        self.by_id: dict[int, np.ndarray] = {}
        self.window = _Window.empty()
        self.background: semantic.Background | None = None

    def load_window(self, *, start: dt.datetime, now: dt.datetime) -> None:
        """The visible, embedded papers first seen in ``(start, now]``, in one query, and the
        background they make (what the typical paper's closeness to a liked one is)."""
        rows = list(
            Paper.objects.visible()
            .filter(created_at__gt=start, created_at__lte=now, embedding__isnull=False)
            .order_by("id")
            .values_list("id", "created_at", "upvotes", "embedding")
        )
        self.window = _Window(
            ids=np.array([row[0] for row in rows], dtype=np.int64),
            created_at=[row[1] for row in rows],
            upvotes=np.array([row[2] for row in rows], dtype=np.int64),
            vectors=stack(row[3] for row in rows),
        )
        self.by_id.update(zip(self.window.ids.tolist(), self.window.vectors, strict=True))
        self.background = semantic.Background.of(self.window.vectors)

    def load(self, paper_ids: Iterable[int]) -> None:
        """The embeddings of these papers not read yet (one query; those without one are
        left out: not embedded yet)."""
        missing = {paper_id for paper_id in paper_ids if paper_id not in self.by_id}
        if not missing:
            return
        rows = list(
            Paper.objects.filter(pk__in=missing, embedding__isnull=False).values_list(
                "id", "embedding"
            )
        )
        if rows:
            vectors = stack(row[1] for row in rows)
            self.by_id.update(zip((row[0] for row in rows), vectors, strict=True))

    def of(self, paper_ids: Sequence[int]) -> np.ndarray:
        return np.vstack([self.by_id[paper_id] for paper_id in paper_ids])


@dataclass(frozen=True)
class _Window:
    ids: np.ndarray
    created_at: list[dt.datetime]
    upvotes: np.ndarray
    vectors: np.ndarray

    @classmethod
    def empty(cls) -> _Window:
        return cls(np.zeros(0, dtype=np.int64), [], np.zeros(0, dtype=np.int64), stack([]))


@dataclass(frozen=True)
class _Liked:
    """A reader's model with what its reasons need: how close the typical paper is to each
    paper they liked (``semantic.Background.spread``), to say "close to X" in z."""

    model: ReaderModel
    means: np.ndarray | None  # None when the reader liked nothing (only "not relevant")
    sds: np.ndarray | None

    def nearest(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per paper (rows), the index of the nearest liked paper (``nearest_liked``) and how
        close the paper is to it in z (-inf when the reader liked nothing)."""
        nearest, cosine = self.model.nearest_liked(vectors)
        if not len(self.model.liked):
            return nearest, cosine.astype(np.float64)
        return nearest, (cosine - self.means[nearest]) / self.sds[nearest]

    def entry(self, index: int, z: float) -> dict:
        """The ``liked`` entry of a digest item's hits (``subscriptions.explain``)."""
        return {
            "field": explain.LIKED,
            "term": explain.tidy(self.model.liked_titles[index], STORED_TEXT_CHARS),
            "paper_id": self.model.liked_ids[index],
            "similarity": float(z),
        }


def _readers(
    found: dict[int, dict[int, Candidate]],
    vectors: _Vectors,
    *,
    now: dt.datetime,
    starts: dict[int, dt.datetime],
) -> dict[int, _Liked]:
    """The models of those planned together who rated papers ("more like this" / "not
    relevant"): one query for everyone's ratings and one batched fit; then, only if someone
    has a model, the window's embedded papers once for them all. Each of their candidates gets
    its reader term (``fair_order`` adds it within each subscription's list) and, when the
    model raised it and it is close to a paper they liked, that paper as a reason. A paper
    without an embedding (not embedded yet) gets neither."""
    models = ReaderModels()
    models.prefetch(found)
    rated = {user_id: model for user_id in found if (model := models.get(user_id)) is not None}
    if not rated:
        return {}
    vectors.load_window(start=min(starts[user_id] for user_id in rated), now=now)
    vectors.load(paper_id for user_id in rated for paper_id in found[user_id])
    readers = {}
    for user_id, model in rated.items():
        means, sds = vectors.background.spread(model.liked) if len(model.liked) else (None, None)
        liked = readers[user_id] = _Liked(model, means, sds)
        candidates = [c for c in found[user_id].values() if c.paper_id in vectors.by_id]
        if not candidates:
            continue
        matrix = vectors.of([c.paper_id for c in candidates])
        nearest, closeness = liked.nearest(matrix)
        for candidate, value, index, z in zip(
            candidates, model.score(matrix), nearest, closeness, strict=True
        ):
            candidate.reader = float(value)
            if (
                value > 0
                and index >= 0
                and z >= CLOSE_IN_MEANING_Z
                and model.liked_ids[index] != candidate.paper_id
            ):
                candidate.hits.append(liked.entry(index, z))
    return readers


def _name_examples(close: list[tuple[Candidate, dict]], vectors: _Vectors) -> None:
    """Complete the ``meaning`` entries of papers close to an interest with example papers:
    an interest with words says it has examples too; one of example papers only names the
    example nearest to the paper (by cosine: the interest is their mean, and the paper is
    close to that). One query for the examples of every subscription concerned."""
    subscription_ids = {entry["subscription_id"] for _, entry in close}
    examples: dict[int, list[tuple[int, str, bytes | None]]] = {}
    for subscription_id, paper_id, title, embedding in Subscription.examples.through.objects.filter(
        subscription_id__in=subscription_ids
    ).values_list("subscription_id", "paper_id", "paper__title", "paper__embedding"):
        examples.setdefault(subscription_id, []).append((paper_id, title, embedding))
    vectors.load(candidate.paper_id for candidate, entry in close if not entry["term"])
    for candidate, entry in close:
        given = examples.get(entry["subscription_id"], [])
        if entry["term"]:
            entry["examples"] = bool(given)
            continue
        embedded = [(paper_id, title, blob) for paper_id, title, blob in given if blob]
        if not embedded or candidate.paper_id not in vectors.by_id:
            continue
        cosine = stack(blob for _, _, blob in embedded) @ vectors.by_id[candidate.paper_id]
        paper_id, title, _ = embedded[int(cosine.argmax())]
        entry["example"] = explain.tidy(title, STORED_TEXT_CHARS)
        entry["example_id"] = paper_id


@dataclass
class Suggestion:
    """A paper for "You might also like" and its hybrid score (the model's term, upvotes)."""

    candidate: Candidate
    score: float


def _suggestions(
    readers: dict[int, _Liked],
    found: dict[int, dict[int, Candidate]],
    vectors: _Vectors,
    *,
    starts: dict[int, dt.datetime],
    now: dt.datetime,
) -> dict[int, list[Suggestion]]:
    """Suggestions, per reader with a model: up to ``DIGEST_SUGGESTIONS`` papers
    first seen in their window that none of their subscriptions matched, not sent, rated or
    hidden, that their model raises (a positive correction) and that are close to a paper they
    liked; best first by the hybrid score (the model's term; upvotes break ties). The window's
    papers are the ones ``_readers`` read; one more query finds what each reader has had
    (matched, sent or rated), and one matrix product scores the window for every reader."""
    wanted = int(settings.DIGEST_SUGGESTIONS)
    window = vectors.window
    if wanted <= 0 or not readers or not len(window.ids):
        return {}
    user_ids = list(readers)
    in_window = {
        "paper__created_at__gt": min(starts[user_id] for user_id in user_ids),
        "paper__created_at__lte": now,
    }
    had: dict[int, set[int]] = {user_id: set(found[user_id]) for user_id in user_ids}
    for user_id, paper_id in (
        Match.objects.filter(owner__in=user_ids, **in_window)
        .order_by()
        .values_list("owner_id", "paper_id")
        .union(
            DigestItem.objects.filter(user__in=user_ids, **in_window)
            .order_by()
            .values_list("user_id", "paper_id"),
            Feedback.objects.filter(user__in=user_ids, **in_window)
            .order_by()
            .values_list("user_id", "paper_id"),
        )
    ):
        had[user_id].add(paper_id)
    corrections = score_readers([readers[user_id].model for user_id in user_ids], window.vectors)
    created = np.array([moment.timestamp() for moment in window.created_at])
    found_suggestions: dict[int, list[Suggestion]] = {}
    for row, user_id in enumerate(user_ids):
        liked = readers[user_id]
        correction = corrections[row]
        open_ = (
            (created > starts[user_id].timestamp())
            & (correction > 0)
            & ~np.isin(window.ids, list(had[user_id]))
        )
        positions = np.flatnonzero(open_)
        if not len(positions):
            continue
        nearest, closeness = liked.nearest(window.vectors[positions])
        close = (nearest >= 0) & (closeness >= CLOSE_IN_MEANING_Z)
        positions, nearest, closeness = positions[close], nearest[close], closeness[close]
        scores = combine(reader=correction[positions], upvotes=window.upvotes[positions])
        picks = []
        for position, index, z, value in zip(positions, nearest, closeness, scores, strict=True):
            candidate = Candidate(
                int(window.ids[position]),
                False,
                window.created_at[position],
                int(window.upvotes[position]),
                hits=[liked.entry(int(index), float(z))],
                reader=float(correction[position]),
            )
            picks.append(Suggestion(candidate, float(value)))
        picks.sort(key=lambda pick: (-pick.score, pick.candidate.rank_key()))
        found_suggestions[user_id] = picks[:wanted]
    return found_suggestions
