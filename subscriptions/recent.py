"""The recent papers as the matcher reads them: what the preview searches, what ranking measures
word rarity on (IDF), and what a saved subscription is re-matched against.

``recent_papers(days)`` holds the visible papers first seen since the start of the day ``days``
ago, with their stored analyses (``subscriptions.analyses``; a paper lacking a current one is
analysed and stored first). The set is kept per process while the papers are unchanged — their
count and latest ``modified_at``, one aggregate query per call — so repeated previews as someone
types cost only the search; when papers arrive or change (a curator fixing a title bumps
``modified_at``), it is read again.

A process that has just started must answer its first preview quickly (under a second for
10,000 papers, bench/matching.py), and decoding 10,000 analyses takes longer than that. So a
paper's analysis is decoded only when a query reaches it, and the papers holding a key are found
by a substring search in each paper's key text (``PaperDoc.key_text``), remembered per key.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Max
from django.utils import timezone

from digest.models import Paper
from subscriptions.analyses import analyse_stale
from subscriptions.compiled import CNode, Hit, Key, match, required_keys
from subscriptions.documents import KEY_SEPARATOR, PREFIX_KEY, PaperDoc
from subscriptions.ranking import idf


@dataclass(slots=True)
class RecentPaper:
    """What ranking reads of a recent paper."""

    id: int
    created_at: dt.datetime
    upvotes: int
    featured: bool
    featured_everywhere: bool


ROW_FIELDS = (
    "id",
    "created_at",
    "upvotes",
    "featured",
    "featured_everywhere",
    "analysis__keys",
    "analysis__doc",
)


class RecentPapers:
    """The recent papers, newest first, each with its key text and its analysis (decoded when
    first read). ``previous``: the set this one replaces, whose decoded analyses are kept for
    the papers whose analysis is unchanged."""

    def __init__(
        self,
        rows: Iterable[tuple],
        *,
        signature: tuple = (),
        previous: RecentPapers | None = None,
    ):
        self.signature = signature
        self.papers: list[RecentPaper] = []
        self.key_texts: list[str] = []
        self.doc_texts: list[str] = []
        for *paper, key_text, doc_text in rows:
            self.papers.append(RecentPaper(*paper))
            self.key_texts.append(key_text)
            self.doc_texts.append(doc_text)
        self._docs: dict[int, PaperDoc] = {}  # by position
        if previous is not None:
            known = {
                paper.id: (text, previous._docs[index])
                for index, (paper, text) in enumerate(
                    zip(previous.papers, previous.doc_texts, strict=True)
                )
                if index in previous._docs
            }
            for index, (paper, text) in enumerate(zip(self.papers, self.doc_texts, strict=True)):
                if paper.id in known and known[paper.id][0] == text:
                    self._docs[index] = known[paper.id][1]
        self._found: dict[str, list[int]] = {}
        self._counts: Counter[str] | None = None

    def __len__(self) -> int:
        return len(self.papers)

    def doc(self, index: int) -> PaperDoc:
        doc = self._docs.get(index)
        if doc is None:
            doc = self._docs[index] = PaperDoc.from_json(self.doc_texts[index])
        return doc

    def papers_with(self, key: str) -> list[int]:
        """Positions of the papers holding ``key`` (a word prefix for a ``PREFIX_KEY`` key)."""
        found = self._found.get(key)
        if found is None:
            needle = KEY_SEPARATOR + key
            if key[0] != PREFIX_KEY:
                needle += KEY_SEPARATOR
            found = self._found[key] = [
                index for index, text in enumerate(self.key_texts) if needle in text
            ]
        return found

    def df(self, key: Key) -> int:
        """Papers holding ``key``: exact, except for a pair of stems (the lesser of its stems')."""
        if type(key) is tuple:
            return min(self.df(part) for part in key)
        if key[0] == PREFIX_KEY:
            return len(self.papers_with(key))
        if self._counts is None:
            # Every key at once: the match step asks for thousands.
            self._counts = Counter(
                itertools.chain.from_iterable(text.split(KEY_SEPARATOR) for text in self.key_texts)
            )
        return self._counts[key]

    def idf(self, key: Key) -> float:
        return idf(self.df(key), len(self.papers))

    def candidates(self, keys: list[Key]) -> list[int]:
        """Positions of the papers holding one of ``keys`` (both stems, for a pair)."""
        found: set[int] = set()
        for key in keys:
            if type(key) is tuple:
                first, second = key
                found.update(set(self.papers_with(first)).intersection(self.papers_with(second)))
            else:
                found.update(self.papers_with(key))
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
            if match(node, self.doc(index), hits):
                results.append((paper, hits))
        return results


_cache: dict[int, RecentPapers] = {}
_lock = threading.Lock()


def window_start(days: int, now: dt.datetime | None = None) -> dt.datetime:
    """Midnight (UTC) ``days`` days ago: the set covers whole days so it stays valid all day;
    callers filter by the exact time."""
    now = now or timezone.now()
    start = (now - dt.timedelta(days=days)).astimezone(dt.UTC)
    return start.replace(hour=0, minute=0, second=0, microsecond=0)


def recent_papers(days: int, *, now: dt.datetime | None = None) -> RecentPapers:
    """The papers first seen in the last ``days`` days (and a little more: from midnight), read
    again when papers were added, changed or hidden."""
    since = window_start(days, now)
    papers = Paper.objects.visible().filter(created_at__gte=since)
    summary = papers.aggregate(count=Count("id"), latest=Max("modified_at"))
    signature = (since, summary["count"], summary["latest"])
    with _lock:
        cached = _cache.get(days)
        if cached is not None and cached.signature == signature:
            return cached
        analyse_stale(papers)
        # (A paper that arrived since has no analysis yet: the next call sees it in the summary.)
        analysed = papers.filter(analysis__isnull=False).order_by("-created_at", "-id")
        rows = analysed.values_list(*ROW_FIELDS)
        _cache[days] = RecentPapers(rows, signature=signature, previous=cached)
        return _cache[days]


def clear_cache() -> None:
    """Forget the recent papers held by this process."""
    with _lock:
        _cache.clear()
