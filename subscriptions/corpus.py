"""The recent papers, analysed once and shared by every process: what the preview searches, what
ranking measures word rarity on (IDF), what a saved subscription is re-matched against, and what
the match step percolates.

The cache holds the visible papers first seen since the start of the day ``days`` ago, each
analysed once (compact: stem and word tuples, no sets) plus an inverted index from stems, author
keys and category prefixes to papers. It is valid while the papers' count and latest
``modified_at`` are unchanged — one aggregate query per call — so repeated previews as someone
types cost only the search. When papers arrive or change (a curator fixing a title bumps
``modified_at``), only those are analysed again.

Every process shares the work through a copy on disk (``MATCH_CORPUS_DIR``), written after each
rebuild: a process that starts — a web worker serving its first preview, the Celery worker
running the match step — loads it in a few tens of milliseconds instead of analysing every paper
(seconds for 10,000 papers), and only analyses what changed since. To make that load one fast C
call, each paper's analysis is stored pickled (``RecentPaper.stored_doc``, decoded when the paper
is first looked at) and the postings as packed integer arrays. The copy is named after the
database and a fingerprint of the analysing code, so another database or another version of
Paperboy never reads it. It is a pickle, like Django's file cache: only this service writes there.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import hashlib
import logging
import math
import os
import pickle
import tempfile
import threading
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max
from django.utils import timezone

from digest.papers.models import Paper
from subscriptions.matcher import (
    PREFIX_KEY,
    CNode,
    Hit,
    PaperDoc,
    _match,
    required_keys,
)

logger = logging.getLogger(__name__)

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
    stored_doc: bytes  # the pickled PaperDoc: what the copy on disk keeps
    _doc: PaperDoc | None = None

    @property
    def doc(self) -> PaperDoc:
        """The analysed paper (compact fields: sorted tuples instead of sets), unpickled when
        first needed: a process that loads the copy on disk pays only for the papers it reads."""
        if self._doc is None:
            self._doc = pickle.loads(self.stored_doc)
        return self._doc

    @classmethod
    def analyse(cls, paper: Paper) -> RecentPaper:
        doc = PaperDoc.compact(paper.title, paper.abstract, paper.authors, paper.categories)
        return cls(
            id=paper.id,
            created_at=paper.created_at,
            modified_at=paper.modified_at,
            upvotes=paper.upvotes,
            featured=paper.featured,
            stored_doc=pickle.dumps(doc, pickle.HIGHEST_PROTOCOL),
            _doc=doc,
        )


# A posting list: the indices of the papers holding a key, packed as unsigned 32-bit integers so
# that the copy on disk loads as one bytes object per key, not one object per paper.
POSTING_TYPE = "I"
POSTING_SIZE = array(POSTING_TYPE).itemsize


def packed(indices: list[int]) -> bytes:
    return array(POSTING_TYPE, indices).tobytes()


def unpacked(posting: bytes) -> array:
    return array(POSTING_TYPE, posting)


class RecentCorpus:
    def __init__(
        self,
        papers: Iterable[RecentPaper],
        since: dt.datetime,
        signature: tuple = (),
        *,
        postings: dict[str, bytes] | None = None,
        word_postings: dict[str, bytes] | None = None,
    ):
        """Indexes ``papers``; a corpus loaded from disk passes its ``postings`` and
        ``word_postings`` (as ``packed`` bytes) instead."""
        self.papers = sorted(papers, key=lambda p: (p.created_at, p.id), reverse=True)
        self.since = since
        self.signature = signature
        if postings is None or word_postings is None:
            postings, word_postings = self._index(self.papers)
        self.postings = postings
        self.word_postings = word_postings
        self.vocabulary = sorted(word_postings)
        self._prefix_postings: dict[str, set[int]] = {}
        self.by_id = {paper.id: paper for paper in self.papers}

    @staticmethod
    def _index(papers: list[RecentPaper]) -> tuple[dict[str, bytes], dict[str, bytes]]:
        postings: dict[str, list[int]] = {}
        words: dict[str, list[int]] = {}
        add_key, add_word = postings.setdefault, words.setdefault
        for index, paper in enumerate(papers):
            # Without stem pairs, which would triple the index: a pair is looked up as the
            # intersection of its two stems.
            for key in paper.doc.keys(pairs=False):
                add_key(key, []).append(index)
            for word in paper.doc.words():
                add_word(word, []).append(index)
        return (
            {key: packed(found) for key, found in postings.items()},
            {word: packed(found) for word, found in words.items()},
        )

    def __len__(self) -> int:
        return len(self.papers)

    def df(self, key: str | tuple[str, str]) -> int:
        """Papers containing ``key``: exact for stems, authors and categories, an upper bound for
        a stem pair, counted once (then remembered) for a word prefix."""
        if type(key) is tuple:
            return min(len(self.postings.get(part, b"")) for part in key) // POSTING_SIZE
        if key[0] != PREFIX_KEY:
            return len(self.postings.get(key, b"")) // POSTING_SIZE
        return len(self.prefix_postings(key[1:]))

    def prefix_postings(self, prefix: str) -> set[int]:
        """Papers with a word starting with ``prefix`` (remembered: people retype them)."""
        found = self._prefix_postings.get(prefix)
        if found is None:
            start = bisect.bisect_left(self.vocabulary, prefix)
            end = bisect.bisect_left(self.vocabulary, prefix + "\U0010ffff")
            found = set()
            for word in self.vocabulary[start:end]:
                found.update(unpacked(self.word_postings[word]))
            self._prefix_postings[prefix] = found
        return found

    def idf(self, key: str | tuple[str, str]) -> float:
        return math.log(1 + len(self.papers) / (1 + self.df(key)))

    def candidates(self, keys: list) -> Iterable[int]:
        found: set[int] = set()
        for key in keys:
            if type(key) is tuple:
                first, *rest = (set(unpacked(self.postings.get(part, b""))) for part in key)
                found.update(first.intersection(*rest))
            elif key[0] == PREFIX_KEY:
                found.update(self.prefix_postings(key[1:]))
            else:
                found.update(unpacked(self.postings.get(key, b"")))
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
            if _match(node, paper.doc, hits):
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
        # Another process may have brought the copy on disk up to date already.
        stored = load_stored(days)
        if stored is not None and stored.signature == signature:
            _cache[days] = stored
            return stored
        known = (cached or stored).by_id if cached or stored else {}
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
        store(days, corpus)
        return corpus


# --- The copy on disk ---------------------------------------------------------------------------


@functools.cache
def code_fingerprint() -> str:
    """Changes whenever the code that analyses papers may have changed (a new deploy)."""
    from subscriptions import matcher, text

    digest = hashlib.sha256()
    for module in (text, matcher):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:16]


def stored_path(days: int) -> Path:
    return Path(settings.MATCH_CORPUS_DIR) / f"{_stored_prefix(days)}{code_fingerprint()}.pickle"


def _stored_prefix(days: int) -> str:
    """The start of the copy's name for this database and window, whatever the code version."""
    database = connection.settings_dict
    where = f"{connection.vendor}|{database['NAME']}|{database.get('HOST')}|{database.get('PORT')}"
    return f"recent-{days}-{hashlib.sha256(where.encode()).hexdigest()[:16]}-"


def store(days: int, corpus: RecentCorpus) -> None:
    """Write the corpus for other processes (atomically: a reader sees the old or the new copy).
    Failing to write only costs them the analysis, so it is logged, not raised."""
    state = {
        "since": corpus.since,
        "signature": corpus.signature,
        "papers": [
            (p.id, p.created_at, p.modified_at, p.upvotes, p.featured, p.stored_doc)
            for p in corpus.papers
        ],
        "postings": corpus.postings,
        "word_postings": corpus.word_postings,
    }
    path = stored_path(days)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            dir=path.parent, prefix="recent-", suffix=".tmp", delete=False
        ) as handle:
            try:
                pickle.dump(state, handle, pickle.HIGHEST_PROTOCOL)
            except BaseException:
                os.unlink(handle.name)
                raise
        os.replace(handle.name, path)
        # Copies written by an earlier version of the code are never read again.
        for outdated in path.parent.glob(f"{_stored_prefix(days)}*.pickle"):
            if outdated != path:
                outdated.unlink(missing_ok=True)
    except OSError as error:
        logger.warning("could not store the corpus of recent papers in %s: %s", path, error)


def load_stored(days: int) -> RecentCorpus | None:
    """The copy on disk, or ``None`` if there is none (or it cannot be read: then the corpus is
    rebuilt and the copy rewritten)."""
    try:
        state = pickle.loads(stored_path(days).read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, ValueError):
        return None
    papers = [RecentPaper(*row) for row in state["papers"]]
    return RecentCorpus(
        papers,
        since=state["since"],
        signature=state["signature"],
        postings=state["postings"],
        word_postings=state["word_postings"],
    )


def clear_cache() -> None:
    """Forget the corpus, in this process and on disk."""
    with _lock:
        _cache.clear()
        directory = Path(settings.MATCH_CORPUS_DIR)
        for path in directory.glob("recent-*.pickle") if directory.is_dir() else ():
            path.unlink(missing_ok=True)
