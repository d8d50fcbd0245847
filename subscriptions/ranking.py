"""How well a paper matches, and the order a reader sees papers in.

**Scoring** (``score``): each distinct hit adds ``FIELD_WEIGHTS[field] × idf`` where idf is
``ln(1 + N / (1 + df))`` over the recent papers (``MATCH_RECENT_DAYS``; a phrase adds its words'
idfs), so title matches rank above abstract matches and rare terms above common ones. Hugging Face
upvotes only break ties: the relevance is rounded to 3 decimals and ``upvotes × 1e-7`` (capped
below 0.0005) is added, so ``order_by("-score")`` already honours them.

**Ranking** (``rank_key``): the one order of papers for a reader, in a preview as in a digest:
featured papers first, then by score, then by how many of the reader's subscriptions matched,
by upvotes, newest first, and by id.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable

from subscriptions.compiled import AUTHOR, CATEGORY, PHRASE, PREFIX, TERM, CNode, Hit, Key
from subscriptions.documents import AUTHOR_KEY, CATEGORY_KEY, PREFIX_KEY

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
