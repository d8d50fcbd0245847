"""The match step by meaning: which papers are close enough to each subscription's interest, and
how close every matched paper is. ``subscriptions.match_step`` calls this for each chunk of
subscriptions over a batch of new papers, and for one subscription when it is saved.

**Matched by meaning.** A subscription with an interest (its free text and/or example papers,
``Subscription.interest_vector``) matches a paper whose similarity to it, in spreads above the
typical paper's (z, ``subscriptions.semantic``), reaches the threshold of its strictness — the
subscription's own, else its kind's default (``semantic.DEFAULT_STRICTNESS_BY_KIND``) — and that
is in one of its categories, if it names any. "In its categories" is decided by the rule of
``cat:`` on the paper's analysed categories (:func:`in_categories`), so the query's side and this
side agree on it. The typical paper is measured on the recent papers' embeddings
(:func:`recent_background`, ``semantic.Background.of``). A chunk of interests is scored with one
matrix product per 10,000 of them (``semantic.similarities_in_chunks``).

**Every match carries its z.** A paper the subscription's query matched gets the same z as
``similarity`` (one dot product per pair, :meth:`Interests.z`).

**A boolean-only subscription gets a z too, from its query's words** (:class:`QueryWords`:
``semantic.compiled_interest_text``, the ``Kind.QUERY`` interest) — to rank what its query
matched, never to match: it matches nothing by meaning. Decided so because the hybrid ranking
(``subscriptions.hybrid``, z + 3 × keyword) puts one reader's subscriptions on one scale: without
it, a query's matches would count z as 0 next to interest matches that are all above their
threshold; and on the recorded listings, ranking by the query words' z plus the keyword score
instead of the keyword score alone lifts the AUC from 0.712 to 0.816 (bench/relevance.py). Its
cost is one embedding per distinct query that matched in a chunk (~50 µs, tokenising most of
it) and one dot product per distinct query × paper matched (~1.5 µs). bench/matching.py, 1M
subscriptions × 2,000 papers: +1.7 s when they share 5,000 queries (2,566 embedded; the
percolation takes 1.1 s), +43 s when almost every subscriber wrote their own (465,000 embedded,
6.8M dot products; the percolation takes 30 s). The second is more than the percolation, but
the step writes 9.3M match rows then, at ~115 µs of CPU each (bench/delivery.py's match step),
so it adds a few percent to the step; it grows with the distinct queries that match, not with
the subscribers.

A paper without an embedding (the daily run embeds papers first, ``digest.pipeline.match``)
is matched by queries only, and its matches have no similarity.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from django.db.models import Exists, OuterRef

from digest.papers.models import Paper
from subscriptions import semantic
from subscriptions.compiled import CNode, compile_text, loads, match
from subscriptions.documents import PaperDoc
from subscriptions.embeddings import embed, from_bytes, stack
from subscriptions.models import Subscription
from subscriptions.query import QueryError, compose_query
from subscriptions.recent import window_start


def recent_background(days: int, now: dt.datetime) -> semantic.Background:
    """The typical paper: the embeddings of the visible papers first seen in the last ``days``
    days (``semantic.Background.of`` mixes in the shipped background and samples many)."""
    stored = (
        Paper.objects.visible()
        .filter(created_at__gte=window_start(days, now), embedding__isnull=False)
        .values_list("embedding", flat=True)
    )
    return semantic.Background.of(stack(stored))


@dataclass(frozen=True)
class PaperVectors:
    """Papers (a batch, or the window of a re-match) as the meaning side reads them: the
    embeddings of those that have one, and where each is among the papers given."""

    vectors: np.ndarray  # (embedded papers, DIMENSIONS)
    positions: np.ndarray  # each row's position among the papers given
    rows: dict[int, int]  # position → row; a paper without an embedding has none
    count: int  # papers given, with an embedding or not
    background: semantic.Background

    @classmethod
    def of(
        cls, embeddings: Sequence[bytes | memoryview | None], background: semantic.Background
    ) -> PaperVectors:
        positions = [
            position for position, embedding in enumerate(embeddings) if embedding is not None
        ]
        return cls(
            vectors=stack(embeddings[position] for position in positions),
            positions=np.array(positions, dtype=np.int64),
            rows={position: row for row, position in enumerate(positions)},
            count=len(embeddings),
            background=background,
        )

    def missing(self) -> int:
        """How many of the papers have no embedding."""
        return self.count - len(self.positions)

    def vector(self, position: int) -> np.ndarray | None:
        row = self.rows.get(position)
        return None if row is None else self.vectors[row]


@dataclass(frozen=True)
class Interest:
    """What the meaning side needs of one subscription with an interest."""

    id: int
    vector: np.ndarray
    z: float  # the threshold of its strictness


def threshold_z(*, strictness: int | None, query: str, interest: str, has_examples: bool) -> float:
    """The z a paper needs: the subscription's strictness, else its kind's default. A strictness
    out of 1–5 (written past the form) counts as the default."""
    kind = semantic.interest_kind(query=query, text=interest, papers=int(has_examples))
    default = semantic.DEFAULT_STRICTNESS_BY_KIND.get(kind, semantic.DEFAULT_STRICTNESS)
    return semantic.strictness_z(strictness if strictness in semantic.STRICTNESS_Z else default)


def read_interests(ids: Sequence[int]) -> list[Interest]:
    """The interests of the subscriptions ``ids`` (ascending) that are still enabled with one:
    read by their id range, so a chunk is one query whatever its size."""
    if not ids:
        return []
    wanted = set(ids)
    has_examples = Exists(
        Subscription.examples.through.objects.filter(subscription_id=OuterRef("pk"))
    )
    rows = (
        Subscription.objects.filter(
            id__gte=ids[0], id__lte=ids[-1], enabled=True, interest_vector__isnull=False
        )
        .annotate(has_examples=has_examples)
        .order_by("id")
        .values_list("id", "interest_vector", "strictness", "query", "interest", "has_examples")
    )
    return [
        Interest(
            id=subscription_id,
            vector=from_bytes(vector),
            z=threshold_z(
                strictness=strictness, query=query, interest=interest, has_examples=examples
            ),
        )
        for subscription_id, vector, strictness, query, interest, examples in rows
        if subscription_id in wanted
    ]


def interest_of(subscription: Subscription) -> Interest | None:
    """The interest of one subscription as it is now, or ``None`` without one."""
    if subscription.interest_vector is None:
        return None
    return Interest(
        id=subscription.pk,
        vector=from_bytes(subscription.interest_vector),
        z=threshold_z(
            strictness=subscription.strictness,
            query=subscription.query,
            interest=subscription.interest,
            has_examples=subscription.examples.exists(),
        ),
    )


class Interests:
    """Some subscriptions' interests against some papers: the pairs that pass, and any pair's z."""

    def __init__(self, interests: Sequence[Interest], papers: PaperVectors):
        self.ids = [interest.id for interest in interests]
        self.row = {subscription_id: row for row, subscription_id in enumerate(self.ids)}
        self.vectors = semantic.stack_interests([interest.vector for interest in interests])
        self.means, self.sds = papers.background.spread(self.vectors)
        z = np.array([interest.z for interest in interests], dtype=np.float32)
        self.cut = semantic.thresholds(self.vectors, papers.background, z)
        self.papers = papers

    def z(self, subscription_id: int, position: int) -> float | None:
        """How close the paper at ``position`` is to the subscription's interest; ``None`` for a
        subscription without one or a paper without an embedding."""
        row, paper = self.row.get(subscription_id), self.papers.vector(position)
        if row is None or paper is None:
            return None
        return float((self.vectors[row] @ paper - self.means[row]) / self.sds[row])

    def passing(self) -> Iterator[tuple[int, int, float]]:
        """(subscription id, paper position, z) of every pair at or above its threshold."""
        if not self.ids or not len(self.papers.vectors):
            return
        for start, passed in semantic.similarities_in_chunks(
            self.papers.vectors, self.vectors, self.cut
        ):
            rows = passed.interest + start
            z = (passed.similarity - self.means[rows]) / self.sds[rows]
            positions = self.papers.positions[passed.paper]
            for row, position, value in zip(
                rows.tolist(), positions.tolist(), z.tolist(), strict=True
            ):
                yield self.ids[row], position, value


class QueryWords:
    """The words of boolean-only subscriptions' queries as interests, to rank what they matched:
    each distinct compiled query is embedded once (when it first matches), and a paper's z is one
    dot product. Queries with no words (authors or categories only) get no similarity."""

    def __init__(self, background: semantic.Background, *, kept: int):
        """``kept``: how many queries' vectors (1 KiB each) to keep — all of them when the
        distinct queries are a few thousand; when every subscriber wrote their own, a chunk of
        subscriptions' worth, emptied when full."""
        self.background = background
        self.kept = max(kept, 1)
        self.embedded = 0  # queries embedded so far
        self._interests: dict[str, tuple[np.ndarray, float, float] | None] = {}

    def z(self, compiled: str, paper: np.ndarray | None) -> float | None:
        if paper is None:
            return None
        interest = self._interests.get(compiled, False)
        if interest is False:
            if len(self._interests) >= self.kept:
                self._interests.clear()
            interest = self._interests[compiled] = self._interest(compiled)
        if interest is None:
            return None
        vector, mean, sd = interest
        return (float(vector @ paper) - mean) / sd

    def _interest(self, compiled: str) -> tuple[np.ndarray, float, float] | None:
        node = loads(compiled)
        text = semantic.compiled_interest_text(node) if node is not None else ""
        if not text:
            return None
        self.embedded += 1
        vector = embed([text])[0]
        if not vector.any():
            return None
        means, sds = self.background.spread(vector[None, :])
        return vector, float(means[0]), float(sds[0])


def in_categories(categories: Sequence[str], doc: PaperDoc) -> bool:
    """Whether the paper is in one of ``categories`` (all papers are, when there are none), by
    the rule of ``cat:``: a category, or every category of an archive."""
    node = _categories_node(tuple(categories or ()))
    return node is None or match(node, doc, [])


@functools.lru_cache(maxsize=4096)
def _categories_node(categories: tuple[str, ...]) -> CNode | None:
    text = compose_query("", list(categories))  # unknown codes are dropped, as on the query side
    if not text:
        return None
    try:
        return loads(compile_text(text))
    except QueryError:  # not from a known category code: nothing to filter on
        return None
