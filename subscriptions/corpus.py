"""The recent papers, analysed once per process: what the preview searches, what ranking measures
word rarity on (IDF), and what a saved subscription is re-matched against.

The cache holds the visible papers first seen since the start of the day ``days`` ago, each
analysed once (compact: stem and word tuples, no sets) plus an inverted index from stems, author
keys and category prefixes to papers. It is valid while the papers' count and latest
``modified_at`` are unchanged — one aggregate query per call — so repeated previews as someone
types cost only the search. When papers arrive or change, only those are analysed again.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Max
from django.utils import timezone

from digest.models import Paper
from subscriptions.matcher import (
    AUTHOR_KEY,
    CATEGORY_KEY,
    PREFIX_KEY,
    CNode,
    Hit,
    PaperDoc,
    _match,
    author_keys,
    required_keys,
)
from subscriptions.text import FieldText, analyze, fold_category, name_tokens

PAPER_FIELDS = (
    "id",
    "title",
    "abstract",
    "authors",
    "categories",
    "created_at",
    "modified_at",
    "upvotes",
    "featured",
)


@dataclass(slots=True)
class RecentPaper:
    id: int
    created_at: dt.datetime
    modified_at: dt.datetime
    upvotes: int
    featured: bool
    title: FieldText  # compact
    abstract: FieldText  # compact
    authors: tuple[tuple[str, tuple[str, ...]], ...]
    categories: tuple[tuple[str, str], ...]

    @classmethod
    def analyse(cls, paper: Paper) -> RecentPaper:
        return cls(
            id=paper.id,
            created_at=paper.created_at,
            modified_at=paper.modified_at,
            upvotes=paper.upvotes,
            featured=paper.featured,
            title=analyze(paper.title or "").compact(),
            abstract=analyze(paper.abstract or "").compact(),
            authors=tuple((name, name_tokens(name)) for name in paper.authors or () if name),
            categories=tuple((fold_category(c), c) for c in paper.categories or () if c),
        )

    def doc(self) -> PaperDoc:
        return PaperDoc.from_parts(self.title, self.abstract, self.authors, self.categories)

    def index_keys(self) -> set[str]:
        """The index keys (like ``PaperDoc.keys`` but without stem pairs, which would triple
        the index; a pair is looked up as the intersection of its two stems)."""
        keys = set(self.title.stems)
        keys.update(self.title.joined, self.abstract.stems, self.abstract.joined)
        for _, parts in self.authors:
            keys.update([AUTHOR_KEY + key for key in author_keys(parts)])
        for folded, _ in self.categories:
            keys.update([CATEGORY_KEY + folded[:end] for end in range(1, len(folded) + 1)])
        return keys


class RecentCorpus:
    def __init__(self, papers: Iterable[RecentPaper], since: dt.datetime, signature: tuple = ()):
        self.papers = sorted(papers, key=lambda p: (p.created_at, p.id), reverse=True)
        self.since = since
        self.signature = signature
        self.postings: dict[str, list[int]] = {}
        setdefault = self.postings.setdefault
        for index, paper in enumerate(self.papers):
            for key in paper.index_keys():
                setdefault(key, []).append(index)
        self._prefix_df: dict[str, int] = {}
        self.by_id = {paper.id: paper for paper in self.papers}

    def __len__(self) -> int:
        return len(self.papers)

    def df(self, key: str | tuple[str, str]) -> int:
        """Papers containing ``key``: exact for stems, authors and categories, an upper bound for
        a stem pair, counted once (then remembered) for a word prefix."""
        if type(key) is tuple:
            return min(len(self.postings.get(part, ())) for part in key)
        if key[0] != PREFIX_KEY:
            return len(self.postings.get(key, ()))
        cached = self._prefix_df.get(key)
        if cached is None:
            prefix = key[1:]
            cached = sum(
                1
                for paper in self.papers
                if paper.title.has_prefix(prefix) or paper.abstract.has_prefix(prefix)
            )
            self._prefix_df[key] = cached
        return cached

    def idf(self, key: str | tuple[str, str]) -> float:
        return math.log(1 + len(self.papers) / (1 + self.df(key)))

    def candidates(self, keys: list) -> Iterable[int]:
        found: set[int] = set()
        for key in keys:
            if type(key) is tuple:
                first, *rest = (set(self.postings.get(part, ())) for part in key)
                found.update(first.intersection(*rest))
            elif key[0] == PREFIX_KEY:
                return range(len(self.papers))  # words have no index: check every paper
            else:
                found.update(self.postings.get(key, ()))
        return sorted(found)

    def search(
        self, node: CNode, *, since: dt.datetime | None = None
    ) -> list[tuple[RecentPaper, list[Hit]]]:
        """The papers ``node`` matches (first seen at or after ``since``), newest first."""
        condition = required_keys(node, self.df)
        if condition is None:
            return []
        results = []
        for index in self.candidates(condition[1]):
            paper = self.papers[index]
            if since is not None and paper.created_at < since:
                continue
            hits: list[Hit] = []
            if _match(node, paper.doc(), hits):
                results.append((paper, hits))
        return results


_cache: dict[int, RecentCorpus] = {}
_lock = threading.Lock()


def window_start(days: int, now: dt.datetime | None = None) -> dt.datetime:
    """Midnight (UTC) ``days`` days ago: the cache covers whole days so it stays valid all day;
    callers filter by the exact time."""
    now = now or timezone.now()
    start = (now - dt.timedelta(days=days)).astimezone(dt.UTC)
    return start.replace(hour=0, minute=0, second=0, microsecond=0)


def recent_corpus(days: int, *, now: dt.datetime | None = None) -> RecentCorpus:
    """The cached corpus of the papers first seen in the last ``days`` days (and a little more:
    from midnight), refreshed when papers were added, changed or hidden."""
    since = window_start(days, now)
    papers = Paper.objects.visible().filter(created_at__gte=since)
    summary = papers.aggregate(count=Count("id"), latest=Max("modified_at"))
    signature = (since, summary["count"], summary["latest"])
    with _lock:
        cached = _cache.get(days)
        if cached is not None and cached.signature == signature:
            return cached
        known = cached.by_id if cached else {}
        current = dict(papers.values_list("id", "modified_at"))
        stale = [
            pk
            for pk, modified in current.items()
            if pk not in known or known[pk].modified_at != modified
        ]
        fresh: dict[int, RecentPaper] = {}
        for start in range(0, len(stale), 500):  # SQLite limits the number of query parameters
            for paper in Paper.objects.filter(pk__in=stale[start : start + 500]).only(
                *PAPER_FIELDS
            ):
                fresh[paper.id] = RecentPaper.analyse(paper)
        corpus = RecentCorpus(
            (fresh.get(pk) or known[pk] for pk in current if pk in fresh or pk in known),
            since=since,
            signature=signature,
        )
        _cache[days] = corpus
        return corpus


def clear_cache() -> None:
    with _lock:
        _cache.clear()
