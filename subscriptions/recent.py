"""The recent papers as the matcher reads them: what the preview searches, what ranking measures
word rarity on (IDF), and what a saved subscription is re-matched against.

``recent_papers(days)`` holds the visible papers first seen since the start of the day ``days``
ago, read from their stored analyses (``subscriptions.analyses``; a paper lacking a current one
is analysed and stored first). The set is kept per process while the papers are unchanged —
their count and latest ``modified_at``, one aggregate query per call — so repeated previews as
someone types cost only the search; when papers arrive or change (a curator fixing a title
bumps ``modified_at``), it is read again.

A process that has just started must answer its first preview quickly (under a second for
10,000 papers, bench/matching.py), and reading and decoding 10,000 whole analyses takes longer
than that. So at first only each paper's texts of stems, author and category keys, pairs and
words are read (``PaperDoc.stem_text`` and the others): the papers holding a key, a pair of
adjacent stems or a word starting with a prefix are found by a substring search in them,
remembered per key (~10 ms per key over 10,000 papers, where building an index of every key
would take seconds), and a query's other conditions are checked in the papers found. The rest
of a paper — its analysis, and what ranking reads — is read and decoded when a query first
reaches it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import operator
import threading
from collections import Counter
from dataclasses import dataclass

from django.db.models import Count, Max, QuerySet
from django.utils import timezone

from digest.papers.models import Paper
from subscriptions.analyses import BATCH, analyse_papers, has_current_analysis
from subscriptions.compiled import CNode, Hit, Key, conditions, match
from subscriptions.documents import AUTHOR_KEY, CATEGORY_KEY, PREFIX_KEY, SEPARATOR, PaperDoc
from subscriptions.ranking import idf


@dataclass(slots=True)
class RecentPaper:
    """A recent paper as a search returns it: what ranking reads, and its analysis."""

    id: int
    created_at: dt.datetime
    upvotes: int
    featured: bool
    featured_everywhere: bool
    doc: PaperDoc


PAPER_FIELDS = ("id", "created_at", "upvotes", "featured", "featured_everywhere")
NAME_KEYS = (AUTHOR_KEY, CATEGORY_KEY)


class RecentPapers:
    """The recent papers, newest first: their ids and texts of keys, pairs and words; the rest of
    each paper (a ``RecentPaper``) is read when a search first reaches it."""

    def __init__(
        self,
        rows: list[tuple[int, str, str, str, str]],
        *,
        signature: tuple = (),
        analysed: dict[int, PaperDoc] | None = None,
    ):
        """``rows``: (paper id, stem text, name text, pair text, word text) of each paper,
        newest first; ``analysed``: papers this process has just analysed, which need no
        decoding."""
        self.signature = signature
        self._analysed = analysed or {}
        self.ids = [row[0] for row in rows]
        self.stem_texts = [row[1] for row in rows]
        self.name_texts = [row[2] for row in rows]
        self.pair_texts = [row[3] for row in rows]
        self.word_texts = [row[4] for row in rows]
        self._counts: Counter[str] | None = None  # see count_every_key
        self._papers: dict[int, RecentPaper] = {}  # by id, as searches read them
        self._found: dict[Key, list[int]] = {}  # key → positions of the papers holding it
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.ids)

    def _texts_and_needle(self, key: Key) -> tuple[list[str], str]:
        """The texts to look for ``key`` in, and what to look for."""
        if type(key) is tuple:
            return self.pair_texts, SEPARATOR + key[0] + " " + key[1] + SEPARATOR
        if key[0] == PREFIX_KEY:
            return self.word_texts, SEPARATOR + key[1:]
        if key[0] in NAME_KEYS:
            return self.name_texts, SEPARATOR + key + SEPARATOR
        return self.stem_texts, SEPARATOR + key + SEPARATOR

    def papers_with(self, key: Key) -> list[int]:
        """Positions of the papers holding ``key`` (a word starting with the prefix, for a
        ``PREFIX_KEY`` key; both stems and the pair, for a pair)."""
        found = self._found.get(key)
        if found is None:
            texts, needle = self._texts_and_needle(key)
            if type(key) is tuple:
                # Among the papers holding both stems, found once for ranking anyway.
                both = set(self.papers_with(key[0])).intersection(self.papers_with(key[1]))
                found = sorted(index for index in both if needle in texts[index])
            else:
                found = [index for index, text in enumerate(texts) if needle in text]
            self._found[key] = found
        return found

    def df(self, key: Key) -> int:
        """How many papers hold ``key``."""
        if self._counts is not None and type(key) is str and key[0] != PREFIX_KEY:
            return self._counts[key]
        return len(self.papers_with(key))

    def count_every_key(self) -> None:
        """Count the papers of every key at once, for a caller that will ask for thousands of
        them (the match step): 0.4–0.7 s for 10,000 papers, where a preview asks for a few keys
        at ~10 ms each."""
        if self._counts is None:
            texts = itertools.chain(self.stem_texts, self.name_texts)
            self._counts = Counter(
                itertools.chain.from_iterable(text.split(SEPARATOR) for text in texts)
            )

    def idf(self, key: Key) -> float:
        return idf(self.df(key), len(self.ids))

    def _known_df(self, key: Key) -> int:
        """``df`` if it is known without a search, else as if every paper held the key."""
        if self._counts is not None and type(key) is str and key[0] != PREFIX_KEY:
            return self._counts[key]
        found = self._found.get(key)
        return len(self.ids) if found is None else len(found)

    def candidates(self, node: CNode) -> list[int]:
        """Positions of the papers meeting every necessary condition of ``node``. Only the first
        condition is searched for among all the papers — the rarest one known, else the first in
        the query —; the others are checked in the papers left. (Ranking then counts the papers
        of the terms that matched, and only of those.)"""
        found: set[int] | None = None
        for _, keys in sorted(conditions(node, self._known_df), key=_cost):
            if found is None:
                found = set().union(*(self.papers_with(key) for key in keys))
            else:
                lookups = [self._texts_and_needle(key) for key in keys]
                found = {
                    index
                    for index in found
                    if any(needle in texts[index] for texts, needle in lookups)
                }
            if not found:
                break
        return sorted(found or ())

    def search(
        self, node: CNode, *, since: dt.datetime | None = None
    ) -> list[tuple[RecentPaper, list[Hit]]]:
        """The papers ``node`` matches (first seen at or after ``since``), newest first."""
        papers = self.read([self.ids[index] for index in self.candidates(node)])
        results = []
        for paper in papers.values():
            if since is not None and paper.created_at < since:
                continue
            hits: list[Hit] = []
            if match(node, paper.doc, hits):
                results.append((paper, hits))
        return results

    def read(self, ids: list[int]) -> dict[int, RecentPaper]:
        """The papers ``ids``, read from the database (and decoded) the first time; one deleted
        since is left out."""
        with self._lock:
            missing = [paper_id for paper_id in ids if paper_id not in self._papers]
            for start in range(0, len(missing), BATCH):
                batch = Paper.objects.filter(pk__in=missing[start : start + BATCH])
                for *fields, text in batch.values_list(*PAPER_FIELDS, "analysis__doc"):
                    doc = self._analysed.pop(fields[0], None)
                    if doc is None and text is not None:
                        doc = PaperDoc.from_json(text)
                    if doc is not None:
                        self._papers[fields[0]] = RecentPaper(*fields, doc)
            return {
                paper_id: self._papers[paper_id] for paper_id in ids if paper_id in self._papers
            }


_cost = operator.itemgetter(0)
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
        rows = _rows(papers)
        stale = [paper_id for paper_id, current, *_ in rows if not current]
        analysed = analyse_papers(stale) if stale else {}
        if stale:
            rows = _rows(papers)
        # (A paper that arrived since has no analysis yet: the next call sees it in the summary.)
        rows = [(paper_id, *texts) for paper_id, _, *texts in rows if texts[0] is not None]
        _cache[days] = RecentPapers(rows, signature=signature, analysed=analysed)
        return _cache[days]


def _rows(papers: QuerySet[Paper]) -> list[tuple]:
    """(id, whether its analysis is current, stem, name, pair and word texts) of each paper,
    newest first."""
    return list(
        papers.annotate(current=has_current_analysis())
        .order_by("-created_at", "-id")
        .values_list(
            "id",
            "current",
            "analysis__stems",
            "analysis__names",
            "analysis__pairs",
            "analysis__words",
        )
    )


def clear_cache() -> None:
    """Forget the recent papers held by this process."""
    with _lock:
        _cache.clear()
