"""The preview: the papers a query would have matched over the last days, best first.

``run_preview(text)`` is the one way to preview a query — the subscription form, the
onboarding, the query help page, the JSON endpoint and ``manage.py match`` all call it. It
never raises for a bad query: the result carries the ``QueryError`` (with the column where the
query went wrong), or the best ``limit`` papers and how many matched in all. It searches the
recent papers held by the process (``subscriptions.recent``) and ranks them as digests do.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from digest.papers.models import Paper
from subscriptions.analyses import KEPT_DAYS
from subscriptions.compiled import compile_query, public_hits
from subscriptions.query import QueryError, parse
from subscriptions.ranking import rank_key, score
from subscriptions.recent import recent_papers

PREVIEW_DAYS = 7
PREVIEW_MAX_DAYS = KEPT_DAYS  # longer works, but analyses older papers again each time
PREVIEW_LIMIT = 20  # papers shown; ``total`` says how many matched
PAPERS_PER_LOAD = 100


class PreviewHit:
    """A paper a query would have matched: ``.paper`` (loaded on first use, in batches),
    ``.hits`` ([{"term", "field"}]) and ``.score``."""

    __slots__ = ("paper_id", "hits", "score", "_loader")

    def __init__(self, paper_id: int, hits: list[dict[str, str]], score: float, loader):
        self.paper_id = paper_id
        self.hits = hits
        self.score = score
        self._loader = loader

    @property
    def paper(self) -> Paper:
        return self._loader(self.paper_id)

    def __repr__(self) -> str:
        return f"PreviewHit(paper_id={self.paper_id}, score={self.score}, hits={self.hits})"


class _PaperLoader:
    """Loads the papers of a preview ``PAPERS_PER_LOAD`` at a time, in order, as their
    ``.paper`` is read: listing 20 of 5,000 matches loads 100 papers, not 5,000."""

    def __init__(self, paper_ids: list[int]):
        self.paper_ids = paper_ids
        self.position = {paper_id: index for index, paper_id in enumerate(paper_ids)}
        self.loaded: dict[int, Paper] = {}

    def __call__(self, paper_id: int) -> Paper:
        if paper_id not in self.loaded:
            start = self.position[paper_id]
            batch = self.paper_ids[start : start + PAPERS_PER_LOAD]
            self.loaded.update(Paper.objects.in_bulk(batch))
        return self.loaded[paper_id]


@dataclass
class PreviewResult:
    query: str
    days: int = PREVIEW_DAYS
    hits: list[PreviewHit] = field(default_factory=list)  # the best ones, at most the limit
    total: int = 0  # papers matched in all
    error: QueryError | None = None

    @property
    def empty_query(self) -> bool:
        return not self.query.strip()


def run_preview(
    text: str,
    *,
    days: int = PREVIEW_DAYS,
    limit: int | None = PREVIEW_LIMIT,
    now: dt.datetime | None = None,
) -> PreviewResult:
    """The papers ``text`` would have matched among those first seen in the last ``days`` days:
    the best ``limit`` (all with ``None``), ranked by ``subscriptions.ranking.rank_key``. An
    empty query previews nothing; an invalid one gives its ``QueryError`` in ``error``."""
    result = PreviewResult(query=text, days=days)
    if result.empty_query:
        return result
    try:
        node = compile_query(parse(text))
    except QueryError as error:
        result.error = error
        return result
    now = now or timezone.now()
    recent = recent_papers(max(days, settings.MATCH_RECENT_DAYS), now=now)
    found = [
        (paper, hits, score(hits, recent.idf, paper.upvotes))
        for paper, hits in recent.search(node, since=now - dt.timedelta(days=days))
    ]
    found.sort(
        key=lambda item: rank_key(
            featured=item[0].featured,
            featured_everywhere=item[0].featured_everywhere,
            score=item[2],
            upvotes=item[0].upvotes,
            created_at=item[0].created_at,
            paper_id=item[0].id,
        )
    )
    result.total = len(found)
    shown = found if limit is None else found[:limit]
    loader = _PaperLoader([paper.id for paper, _, _ in shown])
    result.hits = [
        PreviewHit(paper.id, public_hits(hits), value, loader) for paper, hits, value in shown
    ]
    return result
