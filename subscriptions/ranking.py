"""How well a paper matches, and the order a reader sees papers in.

**Scoring** (``score``): each distinct hit adds ``FIELD_WEIGHTS[field] × idf`` where idf is
``ln(1 + N / (1 + df))`` over the recent papers (``MATCH_RECENT_DAYS``; a phrase adds its words'
idfs), so title matches rank above abstract matches and rare terms above common ones. Hugging Face
upvotes only break ties: the relevance is rounded to 3 decimals and ``upvotes × 1e-7`` (capped
below 0.0005) is added, so ``order_by("-score")`` already honours them.

**Ranking** (``rank_key``): the order of a query's preview (its keyword matches: the hybrid
score of those is the keyword score's order) and the digest's tie-breaker: featured papers
first, then by score, then by how many of the reader's subscriptions matched, by upvotes, newest
first, and by id.

**Fair ranking** (``fair_order``): a digest mixes several subscriptions, whose scores are not
comparable — a broad query's common words and a narrow one's author each score on their own
scale, and comparing them raw let a broad query crowd the narrow one out (an author's paper
ranked 42nd of 65, past the 25-paper cap). So featured papers lead as in ``rank_key``, then the
subscriptions take turns: each one's best paper not placed yet, then each one's second, and so
on. A subscription's papers are ordered by the one hybrid score (``hybrid.combine``): how close
in meaning each is to the subscription's interest (z, ``Match.similarity``), plus its keyword
score divided by the subscription's best in this digest (0–1, ``hybrid.normalise_keyword``),
plus the reader's own model, featured and upvotes. z and the normalised keyword score are on
one scale for every subscription, so within a turn the picks go by that score, then
``rank_key``; featured papers lead by it too. A paper several subscriptions matched is placed
once, at the first turn that reaches it. For papers a query matched by its words alone (a
preview), the hybrid order is ``rank_key``'s up to upvote ties: dividing by the best keeps the
order of scores.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol, TypeVar

import numpy as np

from subscriptions.compiled import AUTHOR, CATEGORY, PHRASE, PREFIX, TERM, CNode, Hit, Key
from subscriptions.documents import AUTHOR_KEY, CATEGORY_KEY, PREFIX_KEY
from subscriptions.hybrid import combine, normalise_keyword

FIELD_WEIGHTS = {"title": 3.0, "abstract": 1.0, "author": 2.0, "category": 0.5}
UPVOTE_WEIGHT = 1e-7
MAX_TIEBREAK_UPVOTES = 4_999  # keeps the tie-breaker under half of the relevance's last digit

IdfOf = Callable[[Key], float]


def idf(df: int, total: int) -> float:
    """Inverse document frequency of a key found in ``df`` of ``total`` papers."""
    return math.log(1 + total / (1 + df))


def relevance(hits: Iterable[Hit], idf_of: IdfOf) -> float:
    """Σ field weight × idf over the distinct (node, field) hits; ``idf_of(key)`` takes the
    lookup keys of ``subscriptions.documents``."""
    total = 0.0
    seen: set[tuple[int, str]] = set()
    for _, field_name, node in hits:
        marker = (id(node), field_name)
        if marker in seen:
            continue
        seen.add(marker)
        total += FIELD_WEIGHTS[field_name] * _node_idf(node, idf_of)
    return total


def _node_idf(node: CNode, idf_of: IdfOf) -> float:
    op = node[0]
    if op == TERM:
        return idf_of(node[2])
    if op == PHRASE:
        return sum(idf_of(s) for s in node[2])
    if op == PREFIX:
        return idf_of(PREFIX_KEY + node[2])
    if op == AUTHOR:
        return max(idf_of(AUTHOR_KEY + part) for part in node[3])
    if op == CATEGORY:
        return idf_of(CATEGORY_KEY + node[1])
    raise ValueError(f"no hit comes from opcode {op!r}")


def score(hits: Iterable[Hit], idf_of: IdfOf, upvotes: int = 0) -> float:
    """Relevance rounded to 3 decimals, plus upvotes as a tie-breaker that never outweighs it."""
    return round(relevance(hits, idf_of), 3) + min(upvotes, MAX_TIEBREAK_UPVOTES) * UPVOTE_WEIGHT


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


def rank_key(
    *,
    featured: bool,
    score: float,
    created_at: dt.datetime,
    paper_id: int,
    featured_everywhere: bool = False,
    subscriptions: int = 1,
    upvotes: int = 0,
) -> tuple:
    """Sort key putting the paper a reader should see first first:
    ``sorted(items, key=lambda item: rank_key(featured=..., score=..., ...))``.

    Featured papers (for everyone or for the subscribers they match) first, then the higher
    score (the best of the paper's matches), then the paper more of the reader's subscriptions
    matched, the one with more upvotes (the score holds them only up to a cap), the newest, and
    the lowest id: a total order, so the same papers rank the same wherever they are shown."""
    age = (_EPOCH - created_at) // _MICROSECOND  # newest first, exactly (no float rounding)
    return (
        not (featured or featured_everywhere),
        -score,
        -subscriptions,
        -upvotes,
        age,
        paper_id,
    )


class FairItem(Protocol):
    """What ``fair_order`` reads of a paper on its way to a reader."""

    @property
    def featured(self) -> bool: ...

    @property
    def scores(self) -> Mapping[int, float]:
        """The boolean match's score per subscription (id) that matched the paper; 0 for a
        subscription that matched it by meaning only."""
        ...

    @property
    def similarities(self) -> Mapping[int, float | None]:
        """How close in meaning (z) the paper is to each matching subscription's interest;
        absent or None for a subscription without one."""
        ...

    @property
    def reader(self) -> float | None:
        """The reader model's correction for the paper; None without a model or embedding."""
        ...

    @property
    def upvotes(self) -> int: ...

    def rank_key(self) -> tuple: ...


Item = TypeVar("Item", bound=FairItem)


def hybrid_scores(items: Sequence[FairItem]) -> dict[int, dict[int, float]]:
    """Per subscription (id), the ``hybrid.combine`` score of each of its papers (by position in
    ``items``): its keyword score relative to the best among them, its z, the reader's model,
    featured and upvotes."""
    found: dict[int, dict[int, float]] = {}
    for subscription_id in sorted({s for item in items for s in item.scores}):
        members = [i for i, item in enumerate(items) if subscription_id in item.scores]
        combined = combine(
            keyword=normalise_keyword(
                np.array([items[i].scores[subscription_id] for i in members])
            ),
            similarity=np.array(
                [items[i].similarities.get(subscription_id) or 0.0 for i in members]
            ),
            reader=np.array([items[i].reader or 0.0 for i in members]),
            featured=np.array([items[i].featured for i in members], dtype=bool),
            upvotes=np.array([items[i].upvotes for i in members]),
        )
        found[subscription_id] = dict(zip(members, combined.tolist(), strict=True))
    return found


def fair_order(items: Sequence[Item]) -> list[tuple[Item, float]]:
    """``items`` in the order a reader sees them, each with the hybrid score it was placed by
    (the best of its subscriptions'): featured first, then the reader's subscriptions in turns,
    each one's best paper not placed yet per turn (see the module docstring); papers no
    subscription matched last. Ties go by ``rank_key``."""
    by_subscription = hybrid_scores(items)
    best: dict[int, float] = {}
    for scores in by_subscription.values():
        for i, value in scores.items():
            best[i] = max(best.get(i, value), value)
    for i, item in enumerate(items):
        if i not in best:  # no subscription matched it: featured everywhere, say
            best[i] = float(
                combine(reader=item.reader or 0.0, featured=item.featured, upvotes=item.upvotes)
            )

    def by_score(i: int) -> tuple:
        return (-best[i], items[i].rank_key())

    featured = sorted((i for i, item in enumerate(items) if item.featured), key=by_score)
    queues = {
        subscription_id: sorted(
            (-value, items[i].rank_key(), i) for i, value in scores.items() if not items[i].featured
        )
        for subscription_id, scores in by_subscription.items()
    }
    placed: set[int] = set(featured)
    ordered = list(featured)
    heads = dict.fromkeys(queues, 0)
    while True:
        turn = []
        for subscription_id, queue in queues.items():
            position = heads[subscription_id]
            while position < len(queue) and queue[position][2] in placed:
                position += 1
            heads[subscription_id] = position + 1
            if position < len(queue):
                turn.append(queue[position])
                placed.add(queue[position][2])
        if not turn:
            break
        ordered += [i for _, _, i in sorted(turn)]
    ordered += sorted((i for i in range(len(items)) if i not in placed), key=by_score)
    return [(items[i], best[i]) for i in ordered]
