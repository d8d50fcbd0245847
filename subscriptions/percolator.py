"""The percolator: every query against a batch of papers, at a cost that follows the matches.

It turns the naive loop around, the way Lucene Monitor and Elasticsearch's percolator work.
Each query is reduced to its necessary conditions (``subscriptions.compiled.conditions``) and
indexed under its rarest one, with the next rarest one-key condition as a second level; each
paper of the batch is analysed once, and the intersection of its keys with both levels (in C)
yields the candidate queries; wildcard queries are found per prefix by binary search in the
batch's sorted vocabulary. The other one-key conditions are then checked with one set operation,
and the candidates left are verified by the evaluator (``subscriptions.compiled.match``). The
property tests check that this finds exactly what the evaluator finds, hits included.

**The index is built for each batch** (not kept in sync with saves and deletes): the daily
run percolates once, so a kept index would have to be maintained through every save and delete
of the day to be reused once, while the rebuild — decoding the stored JSON and indexing each
distinct query — is about a third of a run at a million subscriptions (bench/RESULTS.md). It
also lets selectivity be measured on the batch itself, so a query whose keys are all absent
costs one dictionary lookup, and a save is seen by the next run without any invalidation.
Identical compiled queries are indexed once and fan out to every subscriber.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import operator
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from subscriptions.compiled import CNode, Hit, Key, conditions, loads, match
from subscriptions.documents import PREFIX_KEY, PaperDoc


class _BatchFrequencies(Counter):
    """Papers of the batch per key; a word prefix's count is worked out when first asked for
    (an upper bound: papers per word, summed over the words with the prefix)."""

    def __init__(self, vocabulary: list[str], word_df: Counter[str]):
        super().__init__()
        self.vocabulary = vocabulary
        self.word_df = word_df

    def __missing__(self, key: Key) -> int:
        if type(key) is tuple or key[0] != PREFIX_KEY:
            return 0
        prefix = key[1:]
        start = bisect.bisect_left(self.vocabulary, prefix)
        end = bisect.bisect_left(self.vocabulary, prefix + "\U0010ffff")
        count = sum(self.word_df[word] for word in self.vocabulary[start:end])
        self[key] = count
        return count


class AnalysedPapers:
    """What the percolator needs of one batch of papers, worked out once however many
    percolators (chunks of subscriptions) run over it: per paper, all its keys and its words
    (for wildcards); and how many papers of the batch hold each key (the selectivity the index
    is built on)."""

    def __init__(self, docs: Sequence[PaperDoc]):
        self.docs = docs
        self.doc_keys = [doc.keys() for doc in docs]
        self.doc_words = [doc.words() for doc in docs]
        word_df: Counter[str] = Counter()
        for words in self.doc_words:
            word_df.update(words)
        self.key_df = _BatchFrequencies(sorted(word_df), word_df)
        for keys in self.doc_keys:
            self.key_df.update(keys)

    def __len__(self) -> int:
        return len(self.docs)


class Percolator:
    """Queries indexed by the keys they require, for one batch of papers.

    >>> percolator = Percolator(docs)
    >>> percolator.add(subscription.compiled, subscription.id)   # for every subscription
    >>> for doc_index, payloads, hits in percolator.matches(): ...

    Identical compiled queries are stored once; ``payloads`` lists everything added with it.
    ``Percolator(AnalysedPapers(docs))`` shares the analysed batch between percolators, one per
    chunk of queries.
    """

    def __init__(self, papers: AnalysedPapers | Sequence[PaperDoc]):
        if not isinstance(papers, AnalysedPapers):
            papers = AnalysedPapers(papers)
        self.papers = papers
        self.key_df = papers.key_df
        self.payloads: list[Any] = []  # one payload, or a list when several share a query
        self.nodes: list[CNode | None] = []  # None: cannot match any paper of this batch
        # Per query, necessary conditions checked with one set operation each before the
        # evaluator runs: for "a AND b AND c" indexed under a, then b, are all of c here?
        self.filters: list[tuple | None] = []
        self._query_ids: dict[str, int] = {}
        self.index: dict[Key, dict[Key | None, list[int]]] = {}
        self.prefix_index: dict[str, dict[Key | None, list[int]]] = {}
        self._prefix_groups: list[list[dict]] | None = None  # per paper, once queries are added
        self.skipped = 0  # queries that cannot match this batch (their keys are absent)
        self.candidate_count = 0  # queries found through the index
        self.verified = 0  # of those, checked with the evaluator (the rest failed the filter)

    def __len__(self) -> int:
        return len(self.payloads)

    def add(self, compiled: str, payload: Any) -> None:
        """Index one query (its ``Subscription.compiled`` JSON)."""
        payloads = self.payloads
        query_id = self._query_ids.get(compiled)
        if query_id is not None:
            existing = payloads[query_id]
            if type(existing) is list:
                existing.append(payload)
            else:
                payloads[query_id] = [existing, payload]
            return
        query_id = len(payloads)
        self._query_ids[compiled] = query_id
        payloads.append(payload)
        node = loads(compiled)
        found = conditions(node, self.key_df.__getitem__) if node is not None else []
        if len(found) > 1:
            found.sort(key=_cost)  # stable: ties keep the query's order
        if not found or found[0][0] == 0:
            self.nodes.append(None)
            self.filters.append(None)
            self.skipped += 1
            return
        self.nodes.append(node)
        # The next most selective one-key condition becomes the second level of the index
        # (a paper only reaches the query when it has both keys); the other one-key conditions
        # are checked together (one issuperset), and the best one of several keys (isdisjoint).
        second = None
        must: list[Key] = []
        any_of = None
        for _, keys in found[1:]:
            if len(keys) == 1:
                if not _is_prefix(keys[0]):
                    if second is None:
                        second = keys[0]
                    else:
                        must.append(keys[0])
            elif any_of is None and not any(_is_prefix(key) for key in keys):
                any_of = tuple(keys)
        self.filters.append((tuple(must) or None, any_of) if must or any_of else None)
        for key in found[0][1]:
            if _is_prefix(key):
                groups = self.prefix_index.setdefault(key[1:], {})
            else:
                groups = self.index.setdefault(key, {})
            groups.setdefault(second, []).append(query_id)

    def candidates(self, doc_index: int) -> set[int]:
        """The queries whose first key and second key (if any) this paper has. Both
        intersections run in C: only queries that pass them cost Python work."""
        found: set[int] = set()
        keys = self.papers.doc_keys[doc_index]
        index = self.index
        for key in index.keys() & keys:
            _add_groups(index[key], keys, found.update)
        if self._prefix_groups is None:
            self._prefix_groups = self._prefix_groups_by_paper()
        for groups in self._prefix_groups[doc_index]:
            _add_groups(groups, keys, found.update)
        return found

    def _prefix_groups_by_paper(self) -> list[list[dict]]:
        """Per paper, the index groups of the wildcards that one of its words starts with,
        worked out per wildcard over the batch's sorted vocabulary rather than by slicing every
        word of every paper at every wildcard length."""
        groups_of_word: dict[str, list[dict]] = {}
        vocabulary = self.key_df.vocabulary
        for prefix, groups in self.prefix_index.items():
            start = bisect.bisect_left(vocabulary, prefix)
            end = bisect.bisect_left(vocabulary, prefix + "\U0010ffff")
            for word in vocabulary[start:end]:
                groups_of_word.setdefault(word, []).append(groups)
        by_paper: list[list[dict]] = []
        for words in self.papers.doc_words:
            found: list[dict] = []
            for word in groups_of_word.keys() & words:
                found.extend(groups_of_word[word])
            by_paper.append(found)
        return by_paper

    def matches(self) -> Iterator[tuple[int, list[Any], list[Hit]]]:
        """(paper index, payloads of the matching query, hits) for every match in the batch."""
        payloads, filters, nodes = self.payloads, self.filters, self.nodes
        for doc_index, doc in enumerate(self.papers.docs):
            candidates = self.candidates(doc_index)
            keys = self.papers.doc_keys[doc_index]
            verified = 0
            for query_id in candidates:
                check = filters[query_id]
                if check is not None:
                    must, any_of = check
                    if must is not None and not keys.issuperset(must):
                        continue
                    if any_of is not None and keys.isdisjoint(any_of):
                        continue
                verified += 1
                hits: list[Hit] = []
                if match(nodes[query_id], doc, hits):
                    payload = payloads[query_id]
                    yield doc_index, payload if type(payload) is list else [payload], hits
            self.candidate_count += len(candidates)
            self.verified += verified


def _add_groups(groups: dict, keys: set, add: Callable[[list[int]], None]) -> None:
    unfiltered = groups.get(None)
    if unfiltered is not None:
        add(unfiltered)
        if len(groups) == 1:
            return
    for second in groups.keys() & keys:
        add(groups[second])


def _is_prefix(key: Key) -> bool:
    return type(key) is str and key[0] == PREFIX_KEY


_cost = operator.itemgetter(0)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Building the index allocates millions of small lists and tuples and no reference cycles;
    Python's cyclic collector would walk the whole growing heap again and again (it tripled the
    build time at a million subscriptions). Reference counting still frees everything."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
