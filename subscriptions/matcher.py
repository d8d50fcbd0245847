"""Matching papers to subscriptions: the evaluator, the percolator, scoring, and the match step.

**Compiled queries.** A parsed :class:`~subscriptions.query.Query` is compiled into nested lists
of stems (``compile_query``) and stored as JSON on the subscription when it is saved
(``Subscription.compiled``): the match step decodes a million of those in seconds, where
parsing a million query texts with luqum would take minutes (bench/RESULTS.md has both).

**The evaluator** ``evaluate(query, doc)`` is the reference: it decides whether one query matches
one analysed paper (:class:`PaperDoc`) and returns the hits — which term matched in which field,
``[{"term": "zero-shot", "field": "title"}, ...]`` — or ``None``.

**The percolator** (the way Lucene Monitor and Elasticsearch's percolator work) turns the loop
around. Each query is reduced to necessary conditions (``conditions``): sets of keys of which a
matching paper must contain at least one — a word's stem, each pair of adjacent stems of a
phrase, a wildcard's prefix, an author's name part with another part's initial, a category
prefix. Every child of an ``AND`` is a condition, an ``OR`` is the union of its children's best
ones, a ``NOT`` gives none. The query is indexed under its rarest condition, with the next
rarest one-key condition as a second level; each paper is analysed once, and the intersection of
its keys with both levels (in C) yields the candidate queries; wildcard queries are found per
prefix by binary search in the batch's sorted vocabulary. Candidates are then checked exactly:
common shapes (words, two-word phrases, hyphenated pairs, wildcards, ANDed, some negated, OR
groups of words) by a flat loop, everything else by the evaluator. Cost follows candidates, not
subscriptions. The property tests check that this finds exactly what the evaluator finds, hits
included.

**The index is rebuilt for each batch** (not kept in sync with saves and deletes): the daily
run percolates once, so a kept index would have to be maintained through every save and delete
of the day to be reused once, while the rebuild — decoding the stored JSON and indexing each
distinct query — is about a third of a run at a million subscriptions (bench/RESULTS.md). It
also lets selectivity be measured on the batch itself, so a query whose keys are all absent
costs one dictionary lookup, and a save is seen by the next run without any invalidation.
Identical compiled queries are stored once and fan out to every subscriber.

**Papers are analysed once**, for the corpus of recent papers (``subscriptions.corpus``), whose
copy on disk every process shares: the match step percolates those analyses rather than
analysing the batch again.

**Scoring** (``score``): each distinct hit adds ``FIELD_WEIGHTS[field] × idf`` where idf is
``ln(1 + N / (1 + df))`` over the recent papers (``MATCH_RECENT_DAYS``; a phrase adds its words'
idfs), so title matches rank above abstract matches and rare terms above common ones. Hugging Face
upvotes only break ties: the relevance is rounded to 3 decimals and ``upvotes × 1e-7`` (capped
below 0.0005) is added, so ``order_by("-score")`` already honours them. Featured papers come
first: ``rank_key`` sorts by (featured, score) and is what previews use; the digest builder
sorts by section, then score, the same way.

**The match step** ``match_new_papers()`` percolates the papers with ``matched_at`` unset
against the enabled subscriptions and writes ``Match`` rows with a few large ``INSERT`` statements
(``MatchWriter``; idempotent: conflicting rows are ignored). The subscriptions are indexed
``MATCH_BATCH_SUBSCRIPTIONS`` at a time over the batch's papers, analysed once for all the
chunks (``AnalysedPapers``), so the step's memory does not grow with the number of
subscribers; the papers are marked matched in the transaction that wrote every chunk's rows.
``rematch_subscription(sub)`` recomputes one subscription's matches over the recent papers not
yet delivered to its owner (``subscriptions.services`` calls it on every save).
``preview(text)`` runs a query over the last days' papers, served from the corpus of recent
papers (``subscriptions.corpus``).
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import gc
import itertools
import json
import logging
import math
import operator
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models.constants import OnConflict
from django.utils import timezone

from digest.digests.models import DigestItem
from digest.papers.models import Paper
from subscriptions.highlight import highlight  # noqa: F401  (the email imports it from here)
from subscriptions.models import Match, Subscription
from subscriptions.query import (
    And,
    Author,
    Category,
    Node,
    Not,
    Or,
    Query,
    QueryError,
    Term,
    parse,
)
from subscriptions.text import FieldText, analyze, fold_category, name_tokens, stem

logger = logging.getLogger(__name__)

# --- Compiled queries ---------------------------------------------------------------------------
# A compiled node is a JSON-ready list whose first item is the opcode:
#   [TERM, where, stem, display]          [PHRASE, where, [stems], display]
#   [PREFIX, where, prefix, display]      [AUTHOR, [parts], display, [full parts]]
#   [CATEGORY, pattern, is_prefix, display]
#   [AND, [children]]  [OR, [children]]  [NOT, child]
# ``where``: 0 title or abstract, 1 title, 2 abstract. ``display`` is the term as the user wrote
# it, reported in hits. The evaluator reads exactly what json.loads returns: loading a stored
# query costs one C call.

TERM, PHRASE, PREFIX, AUTHOR, CATEGORY, AND, OR, NOT = range(8)
COMPILED_VERSION = 1
_WHERE = {"text": 0, "title": 1, "abstract": 2}

CNode = list


def compile_query(query: Query | Node) -> CNode:
    """The AST as nested lists of stems, ready for the evaluator."""
    node = query.root if isinstance(query, Query) else query
    if isinstance(node, Term):
        where = _WHERE[node.field]
        display = node.text or " ".join(node.words)
        if node.prefix:
            return [PREFIX, where, node.words[0], display]
        stems = [stem(word) for word in node.words]
        if len(stems) == 1:
            return [TERM, where, stems[0], display]
        phrase = [PHRASE, where, stems, display]
        if node.compound:
            return [OR, [phrase, [TERM, where, stem("".join(node.words)), display]]]
        return phrase
    if isinstance(node, Author):
        parts = list(node.parts)
        full = [part for part in parts if len(part) > 1]
        return [AUTHOR, parts, node.text or " ".join(parts), full]
    if isinstance(node, Category):
        return [CATEGORY, node.pattern, int(node.prefix), node.text or node.pattern]
    if isinstance(node, And):
        return [AND, [compile_query(child) for child in node.children]]
    if isinstance(node, Or):
        return [OR, [compile_query(child) for child in node.children]]
    if isinstance(node, Not):
        return [NOT, compile_query(node.child)]
    raise TypeError(f"not a query node: {node!r}")


def dumps(node: CNode) -> str:
    """Compact JSON for ``Subscription.compiled``: ``[version, node]``."""
    return json.dumps([COMPILED_VERSION, node], separators=(",", ":"), ensure_ascii=False)


_scan_json = json.JSONDecoder().scan_once  # json.loads without its Python wrappers


def loads(text: str) -> CNode | None:
    """The node stored by :func:`dumps`, or ``None`` if another version of Paperboy wrote it
    (or it is not ours at all)."""
    try:
        (version, node), _ = _scan_json(text, 0)
    except (StopIteration, ValueError, TypeError):
        return None
    return node if version == COMPILED_VERSION else None


def compile_text(text: str) -> str:
    """Parse (raising QueryError) and return the JSON stored on the subscription."""
    return dumps(compile_query(parse(text)))


# --- Papers, analysed ---------------------------------------------------------------------------

# Prefixes that keep the percolator's keys of different kinds apart in one set and one dict
# (stems never contain them).
AUTHOR_KEY = "\x01"
CATEGORY_KEY = "\x02"
PREFIX_KEY = "\x03"  # only in conditions: prefixes are looked up in their own index


class PaperDoc:
    """A paper as the matcher sees it: title and abstract analysed once (stems in order, the set
    of stems, sorted folded words for wildcards), authors as (name, folded parts), categories as
    (folded, as written)."""

    __slots__ = ("title", "abstract", "authors", "categories")

    def __init__(
        self,
        title: str = "",
        abstract: str = "",
        authors: Sequence[str] = (),
        categories: Sequence[str] = (),
    ):
        self.title: FieldText = analyze(title or "")
        self.abstract: FieldText = analyze(abstract or "")
        self.authors = tuple((name, name_tokens(name)) for name in authors or () if name)
        self.categories = tuple(
            (fold_category(category), category) for category in categories or () if category
        )

    @classmethod
    def from_paper(cls, paper: Any) -> PaperDoc:
        return cls(paper.title, paper.abstract, paper.authors, paper.categories)

    @classmethod
    def compact(cls, *args: Any) -> PaperDoc:
        """A doc that takes a third of the memory and evaluates a little slower (sorted tuples
        instead of sets): what the cache of recent papers keeps."""
        doc = cls(*args)
        doc.title, doc.abstract = doc.title.compact(), doc.abstract.compact()
        return doc

    def complete(self) -> PaperDoc:
        """This doc with sets again, for the percolator's hot loop."""
        if type(self.title.present) is frozenset and type(self.abstract.present) is frozenset:
            return self
        doc = PaperDoc.__new__(PaperDoc)
        doc.title, doc.abstract = self.title.complete(), self.abstract.complete()
        doc.authors, doc.categories = self.authors, self.categories
        return doc

    def keys(self, *, pairs: bool = True) -> set[str | tuple[str, str]]:
        """The percolator's lookup keys: stems, adjacent stem pairs (``("zero", "shot")``, for
        phrases), author keys (see ``author_keys``) and every prefix of every category
        (``cs.CV`` → ``c``, ``cs``, ``cs.``, ``cs.c``, ``cs.cv``)."""
        title, abstract = self.title, self.abstract
        keys = set(title.present)
        keys.update(abstract.present)
        if pairs:
            keys.update(bigrams(title.stems), bigrams(abstract.stems))
        for _, parts in self.authors:
            keys.update([AUTHOR_KEY + key for key in author_keys(parts)])
        for folded, _ in self.categories:
            keys.update([CATEGORY_KEY + folded[:end] for end in range(1, len(folded) + 1)])
        return keys

    def words(self) -> set[str]:
        return set(self.title.words).union(self.abstract.words)


def bigrams(stems: Sequence[str]) -> Iterator[tuple[str, str]]:
    """Adjacent stems as one key, ``("zero", "shot")``: a phrase's pairs are far rarer than its
    words. (Tuples: zip builds them without running Python code for each pair.)"""
    return zip(stems, stems[1:], strict=False)


def author_keys(parts: Sequence[str]) -> set[str]:
    """Keys of one author's name: each full part (``lecun``), and each full part followed by the
    initial of each other part (``lecun y``, ``yann l``). A query name of several parts needs
    one of its full parts exactly and every other part's initial, so it can be indexed by
    ``part + " " + initial of another part`` — far rarer than a bare given name."""
    keys: set[str] = set()
    for index, part in enumerate(parts):
        if len(part) > 1:
            keys.add(part)
            for other_index, other in enumerate(parts):
                if other_index != index:
                    keys.add(part + " " + other[0])
    return keys


def _query_author_keys(parts: Sequence[str]) -> list[str]:
    if len(parts) == 1:
        return [AUTHOR_KEY + parts[0]]
    return [
        AUTHOR_KEY + part + " " + parts[(index + 1) % len(parts)][0]
        for index, part in enumerate(parts)
        if len(part) > 1
    ]


# --- The evaluator ------------------------------------------------------------------------------

Hit = tuple[str, str, CNode]  # (term as shown, field name, the node that matched)
FIELD_ORDER = {"title": 0, "abstract": 1, "author": 2, "category": 3}


def evaluate(query: Query | CNode, doc: PaperDoc) -> list[dict[str, str]] | None:
    """The reference matcher: the hits of ``query`` in ``doc``, or ``None`` if it does not match."""
    node = compile_query(query) if isinstance(query, Query) else query
    hits: list[Hit] = []
    if not _match(node, doc, hits):
        return None
    return public_hits(hits)


def public_hits(hits: Iterable[Hit]) -> list[dict[str, str]]:
    """``[{"term", "field"}]``, each pair once, title hits first, then abstract, author and
    category, each in the order found."""
    seen: dict[tuple[str, str], None] = {}
    for display, field_name, _ in hits:
        seen.setdefault((display, field_name), None)
    ordered = sorted(seen, key=lambda pair: FIELD_ORDER[pair[1]])
    return [{"term": term, "field": field_name} for term, field_name in ordered]


def _match(node: CNode, doc: PaperDoc, hits: list[Hit]) -> bool:
    """Whether ``node`` matches; appends the hits of the parts that matched. Every child of an
    OR is evaluated so that all its hits are reported; a failed AND removes its partial hits."""
    op = node[0]
    if op == TERM:
        key = node[2]
        found = False
        if node[1] != 2 and key in doc.title.present:
            hits.append((node[3], "title", node))
            found = True
        if node[1] != 1 and key in doc.abstract.present:
            hits.append((node[3], "abstract", node))
            found = True
        return found
    if op == AND:
        mark = len(hits)
        for child in node[1]:
            if not _match(child, doc, hits):
                del hits[mark:]
                return False
        return True
    if op == OR:
        found = False
        for child in node[1]:
            if _match(child, doc, hits):
                found = True
        return found
    if op == NOT:
        return not _match(node[1], doc, [])
    if op == PHRASE:
        found = False
        if node[1] != 2 and _has_phrase(doc.title, node[2]):
            hits.append((node[3], "title", node))
            found = True
        if node[1] != 1 and _has_phrase(doc.abstract, node[2]):
            hits.append((node[3], "abstract", node))
            found = True
        return found
    if op == PREFIX:
        found = False
        if node[1] != 2 and doc.title.has_prefix(node[2]):
            hits.append((node[3], "title", node))
            found = True
        if node[1] != 1 and doc.abstract.has_prefix(node[2]):
            hits.append((node[3], "abstract", node))
            found = True
        return found
    if op == AUTHOR:
        found = False
        for name, parts in doc.authors:
            if _name_matches(node[1], node[3], parts):
                hits.append((name, "author", node))
                found = True
        return found
    if op == CATEGORY:
        found = False
        pattern = node[1]
        for folded, written in doc.categories:
            if (
                folded.startswith(pattern)
                if node[2]
                else folded == pattern or folded.startswith(pattern + ".")
            ):
                hits.append((written, "category", node))
                found = True
        return found
    raise ValueError(f"unknown opcode {op!r}")


def _has_phrase(field: FieldText, phrase: list[str]) -> bool:
    present = field.present
    for word in phrase:
        if word not in present:
            return False
    stems = field.stems
    first, rest = phrase[0], phrase[1:]
    last_start = len(stems) - len(phrase)
    position = -1
    try:
        while True:
            position = stems.index(first, position + 1)
            if position > last_start:
                return False
            for offset, word in enumerate(rest, position + 1):
                if stems[offset] != word:
                    break
            else:
                return True
    except ValueError:
        return False


def _name_matches(query_parts: list[str], full_parts: list[str], name: tuple) -> bool:
    """Each query part matches a different part of the name, equal or as an initial; at least one
    full (2+ letter) query part is equal to a part of the name."""
    for part in full_parts:
        if part in name:
            break
    else:
        return False
    if len(query_parts) == 1:
        return True
    return _assign(query_parts, 0, name, 0)


def _assign(query_parts: list[str], index: int, name: tuple, used: int) -> bool:
    if index == len(query_parts):
        return True
    part = query_parts[index]
    for position, candidate in enumerate(name):
        if used & (1 << position):
            continue
        if (
            candidate == part
            or (len(part) == 1 and candidate[0] == part)
            or (len(candidate) == 1 and part[0] == candidate)
        ) and _assign(query_parts, index + 1, name, used | (1 << position)):
            return True
    return False


# --- The percolator -----------------------------------------------------------------------------


class _BatchFrequencies(Counter):
    """Papers of the batch per key; a word prefix's count is worked out when first asked for
    (an upper bound: papers per word, summed over the words with the prefix)."""

    def __init__(self, vocabulary: list[str], word_df: Counter[str]):
        super().__init__()
        self.vocabulary = vocabulary
        self.word_df = word_df

    def __missing__(self, key: str | tuple[str, str]) -> int:
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
    percolators (chunks of subscriptions) run over it: per paper, its stem pairs by field (a
    two-word phrase is one set lookup), all its keys and its words (for prefixes); and
    how many papers of the batch hold each key (the selectivity the index is built on)."""

    def __init__(self, docs: Sequence[PaperDoc]):
        self.docs = docs
        self.doc_pairs = [
            (frozenset(bigrams(doc.title.stems)), frozenset(bigrams(doc.abstract.stems)))
            for doc in docs
        ]
        self.doc_keys = [
            doc.keys(pairs=False).union(*pairs)
            for doc, pairs in zip(docs, self.doc_pairs, strict=True)
        ]
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
        self.docs = papers.docs
        self.doc_keys = papers.doc_keys
        self.doc_words = papers.doc_words
        self.key_df = papers.key_df
        self.payloads: list[Any] = []  # one payload, or a list when several share a query
        # Per query, necessary conditions checked with one set operation each before the
        # evaluator runs: for "a AND b" indexed under a, is b here at all?
        self.filters: list[tuple | None] = []
        # Per query, the flat list of checks that decides it (see _fast_form), or its compiled
        # node until it is first verified (a third of the queries never are).
        self.checks: list[tuple | CNode | None] = []
        self._query_ids: dict[str, int] = {}
        self.index: dict[str, list[int]] = {}
        self.prefix_index: dict[str, dict] = {}
        self._prefix_groups: list[list[dict]] | None = None  # per paper, once queries are added
        self.skipped = 0  # queries that cannot match this batch (their keys are absent)
        self.candidate_count = 0  # queries found through the index
        self.verified = 0  # of those, checked with the evaluator (the rest failed the filter)

    def __len__(self) -> int:
        return len(self.payloads)

    def df(self, key: str | tuple[str, str]) -> int:
        """Papers of this batch containing ``key`` (for a prefix key, an upper bound)."""
        return self.key_df[key]

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
            self.filters.append(None)  # cannot match any paper of this batch
            self.checks.append(None)
            self.skipped += 1
            return
        # The next most selective one-key condition becomes the second level of the index
        # (a paper only reaches the query when it has both keys); the other one-key conditions
        # are checked together (one issuperset), and the best one of several keys (isdisjoint).
        second = None
        must: list = []
        any_of = None
        for index in range(1, len(found)):
            keys = found[index][1]
            if len(keys) == 1:
                key = keys[0]
                if type(key) is tuple or key[0] != PREFIX_KEY:
                    if second is None:
                        second = key
                    else:
                        must.append(key)
            elif any_of is None and not any(_is_prefix(key) for key in keys):
                any_of = tuple(keys)
        self.filters.append((tuple(must) or None, any_of) if must or any_of else None)
        self.checks.append(node)  # made a flat list of checks when first verified
        for key in found[0][1]:
            if type(key) is str and key[0] == PREFIX_KEY:
                key = key[1:]
                index = self.prefix_index
            else:
                index = self.index
            groups = index.get(key)
            if groups is None:
                index[key] = {second: [query_id]}
                continue
            group = groups.get(second)
            if group is None:
                groups[second] = [query_id]
            else:
                group.append(query_id)

    def candidates(self, doc_index: int) -> set[int]:
        """The queries whose first key and second key (if any) this paper has. Both
        intersections run in C: only queries that pass them cost Python work."""
        found: set[int] = set()
        update = found.update
        keys = self.doc_keys[doc_index]
        index = self.index
        for key in index.keys() & keys:
            self._add_groups(index[key], keys, update)
        if self._prefix_groups is None:
            self._prefix_groups = self._prefix_groups_by_paper()
        for groups in self._prefix_groups[doc_index]:
            self._add_groups(groups, keys, update)
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
        for words in self.doc_words:
            found: list[dict] = []
            for word in groups_of_word.keys() & words:
                found.extend(groups_of_word[word])
            by_paper.append(found)
        return by_paper

    @staticmethod
    def _add_groups(groups: dict, keys: set, update) -> None:
        unfiltered = groups.get(None)
        if unfiltered is not None:
            update(unfiltered)
            if len(groups) == 1:
                return
        for second in groups.keys() & keys:
            update(groups[second])

    def matches(self) -> Iterator[tuple[int, list[Any], list[Hit]]]:
        """(paper index, payloads of the matching query, hits) for every match in the batch."""
        payloads, filters, checks = self.payloads, self.filters, self.checks
        doc_pairs = self.papers.doc_pairs
        match = _match
        for doc_index, doc in enumerate(self.docs):
            candidates = self.candidates(doc_index)
            keys = self.doc_keys[doc_index]
            # Per field, its stems and its stem pairs in one set: a word and a two-word phrase
            # are then the same check. (Made per paper here, not kept for the batch: the sets of
            # 2,000 papers took 30 MB.)
            title_pairs, abstract_pairs = doc_pairs[doc_index]
            title_keys = doc.title.present.union(title_pairs)
            abstract_keys = doc.abstract.present.union(abstract_pairs)
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
                # The query as a flat AND of checks (see _fast_form): words, two-word phrases
                # and hyphenated pairs are set lookups here; OR groups of those loop here too;
                # anything else goes to the evaluator, one child at a time.
                form = checks[query_id]
                if type(form) is list:
                    form = checks[query_id] = _fast_form(form)
                for kind, key, where, display, node, negated, joined in form:
                    if kind == 0:
                        in_title = where != 2 and key in title_keys
                        in_abstract = where != 1 and key in abstract_keys
                        if joined is not None:  # zero-shot: the phrase, or "zeroshot"
                            joined_title = where != 2 and joined[2] in title_keys
                            joined_abstract = where != 1 and joined[2] in abstract_keys
                        else:
                            joined_title = joined_abstract = False
                        if negated:
                            if in_title or in_abstract or joined_title or joined_abstract:
                                break
                            continue
                        if not (in_title or in_abstract or joined_title or joined_abstract):
                            break
                        if in_title:
                            hits.append((display, "title", node))
                        if in_abstract:
                            hits.append((display, "abstract", node))
                        if joined_title:
                            hits.append((display, "title", joined))
                        if joined_abstract:
                            hits.append((display, "abstract", joined))
                    elif kind == 4:  # a wildcard: a binary search in each field's words
                        in_title = where != 2 and doc.title.has_prefix(key)
                        in_abstract = where != 1 and doc.abstract.has_prefix(key)
                        if negated:
                            if in_title or in_abstract:
                                break
                            continue
                        if not (in_title or in_abstract):
                            break
                        if in_title:
                            hits.append((display, "title", node))
                        if in_abstract:
                            hits.append((display, "abstract", node))
                    elif kind == 3:
                        found_one = False
                        for option in key:
                            if _simple(option, title_keys, abstract_keys, hits):
                                found_one = True
                        if not found_one:
                            break
                    elif negated:
                        if match(node, doc, []):
                            break
                    elif not match(node, doc, hits):
                        break
                else:
                    payload = payloads[query_id]
                    yield doc_index, payload if type(payload) is list else [payload], hits
            self.candidate_count += len(candidates)
            self.verified += verified


def _fast_form(node: CNode) -> tuple:
    """The query as a flat AND of checks ``(kind, key, where, display, node, negated,
    joined)``: kind 0 a key of a field — a stem, or a pair of adjacent stems for a two-word
    phrase (``joined`` is then the TERM node of a hyphenated word's joined form) —, 4 a
    wildcard (``key`` is its prefix), 3 an OR of kind 0 checks (``key`` holds them), 2 any other
    node, left to the evaluator. Evaluated in order, appending the same hits in the same order
    as ``_match`` would."""
    children = node[1] if node[0] == AND else [node]
    checks = []
    for child in children:
        negated = child[0] == NOT
        if negated:
            child = child[1]
        check = _simple_check(child, negated)
        if check is None and child[0] == PREFIX:
            check = (4, child[2], child[1], child[3], child, negated, None)
        if check is None and not negated and child[0] == OR:
            alternatives = [_simple_check(option, False) for option in child[1]]
            if all(alternatives):
                check = (3, tuple(alternatives), 0, "", child, False, None)
        checks.append(check or (2, None, 0, "", child, negated, None))
    return tuple(checks)


def _simple_check(node: CNode, negated: bool) -> tuple | None:
    op = node[0]
    if op == TERM:
        return (0, node[2], node[1], node[3], node, negated, None)
    if op == PHRASE and len(node[2]) == 2:
        return (0, (node[2][0], node[2][1]), node[1], node[3], node, negated, None)
    if (
        op == OR
        and len(node[1]) == 2
        and node[1][0][0] == PHRASE
        and len(node[1][0][2]) == 2
        and node[1][1][0] == TERM
        and node[1][0][1] == node[1][1][1]
        and node[1][0][3] == node[1][1][3]  # one display: compiled from one hyphenated word
    ):
        phrase, joined = node[1]
        return (0, (phrase[2][0], phrase[2][1]), phrase[1], phrase[3], phrase, negated, joined)
    return None


def _simple(check: tuple, title_keys: frozenset, abstract_keys: frozenset, hits: list[Hit]) -> bool:
    """One kind 0 check inside an OR group: appends its hits, says if it held."""
    _, key, where, display, node, _, joined = check
    in_title = where != 2 and key in title_keys
    in_abstract = where != 1 and key in abstract_keys
    if in_title:
        hits.append((display, "title", node))
    if in_abstract:
        hits.append((display, "abstract", node))
    found = in_title or in_abstract
    if joined is not None:
        if where != 2 and joined[2] in title_keys:
            hits.append((display, "title", joined))
            found = True
        if where != 1 and joined[2] in abstract_keys:
            hits.append((display, "abstract", joined))
            found = True
    return found


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


def _is_prefix(key: str | tuple) -> bool:
    return type(key) is str and key[0] == PREFIX_KEY


_cost = operator.itemgetter(0)


def _by_cost(condition: Condition) -> tuple[int, int]:
    return condition[0], len(condition[1])


Condition = tuple[int, list[str]]  # (estimated papers, keys: a matching paper has one of them)


def conditions(node: CNode, df) -> list[Condition]:
    """Necessary conditions for ``node`` to match: a matching paper contains at least one key of
    each. ``df(key)`` estimates how many papers contain a key. Keys are stems, pairs of adjacent
    stems (``"zero shot"``), author keys, category prefixes and word prefixes, told apart by the
    ``*_KEY`` marks. Every pair of a phrase and every child of an AND is a condition of its own;
    an OR is one condition, the union of its children's most selective ones; a NOT gives none
    (the parser rejects a query of NOTs alone)."""
    op = node[0]
    if op == TERM:
        return [(df(node[2]), [node[2]])]
    if op == AND:
        found = []
        for child in node[1]:
            if child[0] == TERM:  # the most common child, without the call
                found.append((df(child[2]), [child[2]]))
            else:
                found.extend(conditions(child, df))
        return found
    if op == PHRASE:
        return [(df(pair), [pair]) for pair in dict.fromkeys(bigrams(node[2]))]
    if op == OR:
        total, keys = 0, []
        for child in node[1]:
            best = required_keys(child, df)
            if best is None:
                return []
            total += best[0]
            keys.extend(best[1])
        return [(total, keys)]
    if op == PREFIX:
        key = PREFIX_KEY + node[2]
        return [(df(key), [key])]
    if op == AUTHOR:
        keys = _query_author_keys(node[1])
        return [(sum(df(key) for key in keys), keys)]
    if op == CATEGORY:
        key = CATEGORY_KEY + node[1]
        return [(df(key), [key])]
    return []  # NOT


def required_keys(node: CNode, df) -> Condition | None:
    """The most selective necessary condition of ``node`` (``None`` if it has none)."""
    found = conditions(node, df)
    if not found:
        return None
    return min(found, key=_by_cost)


# --- Scoring ------------------------------------------------------------------------------------

FIELD_WEIGHTS = {"title": 3.0, "abstract": 1.0, "author": 2.0, "category": 0.5}
UPVOTE_WEIGHT = 1e-7
MAX_TIEBREAK_UPVOTES = 4_999  # keeps the tie-breaker under half of the relevance's last digit


def idf(df: int, total: int) -> float:
    return math.log(1 + total / (1 + df))


def relevance(hits: Iterable[Hit], idf_of) -> float:
    """Σ field weight × idf over the distinct (node, field) hits; ``idf_of(key)`` takes the
    percolator's keys."""
    total = 0.0
    seen: set[tuple[int, str]] = set()
    for _, field_name, node in hits:
        marker = (id(node), field_name)
        if marker in seen:
            continue
        seen.add(marker)
        total += FIELD_WEIGHTS[field_name] * _node_idf(node, idf_of)
    return total


def _node_idf(node: CNode, idf_of) -> float:
    op = node[0]
    if op == TERM:
        return idf_of(node[2])
    if op == PHRASE:
        return sum(idf_of(s) for s in node[2])
    if op == PREFIX:
        return idf_of(PREFIX_KEY + node[2])
    if op == AUTHOR:
        return max(idf_of(AUTHOR_KEY + part) for part in node[3])
    return idf_of(CATEGORY_KEY + node[1])


def score(hits: Iterable[Hit], idf_of, upvotes: int = 0) -> float:
    """Relevance rounded to 3 decimals, plus upvotes as a tie-breaker that never outweighs it."""
    return round(relevance(hits, idf_of), 3) + min(upvotes, MAX_TIEBREAK_UPVOTES) * UPVOTE_WEIGHT


def rank_key(*, featured: bool, score: float, paper_id: int = 0) -> tuple:
    """Sort key for a digest or a preview: featured papers first, then by score, newest id last
    resort. Use ``sorted(items, key=lambda i: rank_key(featured=..., score=...))``."""
    return (not featured, -score, -paper_id)


# --- The match step, rematching, preview ----------------------------------------------------------

PAPER_FIELDS = ("id", "title", "abstract", "authors", "categories", "upvotes", "modified_at")


def match_new_papers(*, now: dt.datetime | None = None) -> int:
    """Percolate every visible paper whose ``matched_at`` is unset against the enabled
    subscriptions, in batches of ``MATCH_BATCH_PAPERS``: write a ``Match`` row per (subscription,
    paper) with its hits and score, and set ``matched_at``. Safe to run twice or concurrently:
    rows that exist already are left alone. Hidden papers wait (unhiding one gets it matched).
    Returns the number of papers processed."""
    from subscriptions.corpus import recent_corpus

    processed = 0
    corpus = None
    while True:
        papers = list(
            Paper.objects.filter(matched_at__isnull=True, hidden=False)
            .order_by("pk")
            .only(*PAPER_FIELDS)[: settings.MATCH_BATCH_PAPERS]
        )
        if not papers:
            return processed
        if corpus is None:  # for the idf of each term, measured on the recent papers
            corpus = recent_corpus(settings.MATCH_RECENT_DAYS, now=now)
        _match_batch(papers, corpus, now or timezone.now())
        processed += len(papers)


def _match_batch(papers: list[Paper], corpus, now: dt.datetime) -> int:
    docs = []
    for paper in papers:
        recent = corpus.by_id.get(paper.id)
        if recent is not None and recent.modified_at == paper.modified_at:
            docs.append(recent.doc.complete())  # analysed already for the cache of recent papers
        else:
            docs.append(PaperDoc.from_paper(paper))
    analysed = AnalysedPapers(docs)
    queries = 0
    # One transaction for all the chunks: the papers are marked matched with all their rows
    # written, or not at all.
    with gc_paused(), _page_cache_for_writes(), transaction.atomic():
        writer = MatchWriter()
        for chunk in enabled_subscription_chunks(settings.MATCH_BATCH_SUBSCRIPTIONS):
            queries += _percolate_chunk(analysed, chunk, papers, corpus.idf, writer)
        found = writer.flush()
        Paper.objects.filter(pk__in=[paper.pk for paper in papers]).update(matched_at=now)
    logger.info(
        "matched %d papers against %d distinct queries: %d matches", len(papers), queries, found
    )
    return found


def _percolate_chunk(
    analysed: AnalysedPapers,
    chunk: list[tuple[int, int, str]],
    papers: list[Paper],
    idf_of,
    writer: MatchWriter,
) -> int:
    """Index one chunk of subscriptions, hand its matches to ``writer`` and let the index go:
    only one chunk's index is held at a time. Returns the number of distinct queries."""
    percolator = Percolator(analysed)
    for subscription_id, owner_id, compiled in chunk:
        percolator.add(compiled, (subscription_id, owner_id))
    for doc_index, payloads, hits in percolator.matches():
        paper = papers[doc_index]
        writer.add(paper.pk, payloads, public_hits(hits), score(hits, idf_of, paper.upvotes))
    return len(percolator)


@contextlib.contextmanager
def _page_cache_for_writes() -> Iterator[None]:
    """On SQLite, a larger page cache while the rows are written: each row goes into the table
    and three indexes, and with SQLite's default 2 MiB the pages of the indexes were read and
    evicted again and again (16 MiB made the writes a fifth faster at 300k rows; more gained
    nothing). The connection's own setting is restored: it stays open for other work."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (previous,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size = {-WRITE_PAGE_CACHE_KIB}")
    try:
        yield
    finally:
        if not connection.needs_rollback:  # else a caller's transaction failed: it says why
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size = {int(previous)}")


WRITE_PAGE_CACHE_KIB = 16 * 1024


class MatchWriter:
    """Writes ``Match`` rows from plain tuples, skipping rows that exist already. Django's
    ``bulk_create`` builds a model instance and prepares six values per row, which was most of
    the match step's time at 10k subscribers (300k rows). The hits of one (query, paper) are
    serialised once for all its subscribers, ``created_at`` is one parameter for all the rows,
    and the rows go to the database in few statements: on SQLite, ``INSERT … SELECT FROM
    (VALUES …)`` with thousands of rows each (a prepared ``INSERT`` run per row cost a third
    more: SQLite does a statement's bookkeeping, such as the ``AUTOINCREMENT`` counter, per
    statement); on PostgreSQL one ``INSERT … SELECT FROM unnest(arrays)`` per chunk, each array
    sent as one text (bench/RESULTS.md has the numbers)."""

    CHUNK = 10_000
    COLUMNS = ("subscription", "paper", "owner", "hits", "score", "created_at")

    def __init__(self) -> None:
        fields = [Match._meta.get_field(name) for name in self.COLUMNS]
        self.by_arrays = connection.vendor == "postgresql"
        self.created_at = fields[-1].get_db_prep_value(timezone.now(), connection)
        self.head = "{} {} ({})".format(
            connection.ops.insert_statement(on_conflict=OnConflict.IGNORE),
            connection.ops.quote_name(Match._meta.db_table),
            ", ".join(connection.ops.quote_name(field.column) for field in fields),
        )
        self.tail = (
            connection.ops.on_conflict_suffix_sql(
                [], OnConflict.IGNORE, [], ["subscription", "paper"]
            )
            or ""
        )
        # Rows as (subscription id, paper id, owner id, hits, score); on PostgreSQL ``hits`` is
        # the position of its JSON text in ``hits_texts``.
        self.rows: list[tuple] = []
        self.hits_texts: list[str] = []
        self.written = 0

    def add(
        self, paper_id: int, payloads: list[tuple[int, int]], hits: list[dict], value: float
    ) -> None:
        """One match of ``paper_id`` for each (subscription id, owner id) in ``payloads``."""
        # The text JSONField would store (its get_db_prep_save is json.dumps on both backends).
        stored_hits: str | int = json.dumps(hits)
        if self.by_arrays:
            self.hits_texts.append(stored_hits)
            stored_hits = len(self.hits_texts) - 1
        self.rows.extend(
            [
                (subscription_id, paper_id, owner_id, stored_hits, value)
                for subscription_id, owner_id in payloads
            ]
        )
        if len(self.rows) >= self.CHUNK:
            self.flush(whole_statements_only=not self.by_arrays)

    def flush(self, *, whole_statements_only: bool = False) -> int:
        """Write what was added; returns the number of rows offered so far. With
        ``whole_statements_only``, rows that would make a shorter SQLite statement wait for the
        next flush: each length of statement is prepared and cached by the connection (the
        odd-sized ends of 30 flushes took 30 MB)."""
        if self.rows:
            # In key order, the unique index's pages are visited once, not at random:
            # a third faster on SQLite.
            self.rows.sort(key=_subscription_and_paper)
            with connection.cursor() as cursor:
                if self.by_arrays:
                    self._insert_arrays(cursor)
                    self.written += len(self.rows)
                    self.rows = []
                    self.hits_texts = []
                else:
                    written = self._insert_values(cursor, whole_statements_only)
                    self.written += written
                    self.rows = self.rows[written:]
        return self.written + len(self.rows)

    def _insert_values(self, cursor, whole_statements_only: bool) -> int:
        """Insert the rows; returns how many were (all unless ``whole_statements_only``)."""
        per_statement = self._rows_per_statement()
        end = len(self.rows)
        if whole_statements_only:
            end -= end % per_statement
        for start in range(0, end, per_statement):
            part = self.rows[start : min(start + per_statement, end)]
            sql = "{} SELECT column1, column2, column3, column4, column5, %s FROM (VALUES {}) {}"
            values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(part))
            cursor.execute(
                sql.format(self.head, values, self.tail),
                [self.created_at, *itertools.chain.from_iterable(part)],
            )
        return end

    @staticmethod
    def _rows_per_statement() -> int:
        """As many rows as SQLite takes parameters for (32,766 since 3.32; 999 before), at most
        4,000: larger statements gained nothing."""
        limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        return max(1, min(4_000, (limit - 1) // 5))

    def _insert_arrays(self, cursor) -> None:
        # Each column travels as one text ("1,2,3") split and cast by the server, and the hits
        # as one JSON array of the distinct texts, picked by position: psycopg builds an array
        # parameter element by element in Python, escaping every JSON text, which took more CPU
        # than the server's whole insert (5 s of 9 at 300k rows).
        sql = (
            "{} SELECT subscription_id, paper_id, owner_id, %s::jsonb -> hits_number, score, %s"
            " FROM unnest(string_to_array(%s, ',')::bigint[],"
            " string_to_array(%s, ',')::bigint[], string_to_array(%s, ',')::bigint[],"
            " string_to_array(%s, ',')::integer[], string_to_array(%s, ',')::float8[])"
            " AS row (subscription_id, paper_id, owner_id, hits_number, score) {}"
        )
        subscriptions, papers, owners, hits_numbers, scores = zip(*self.rows, strict=True)
        cursor.execute(
            sql.format(self.head, self.tail),
            [
                "[{}]".format(",".join(self.hits_texts)),
                self.created_at,
                ",".join(map(str, subscriptions)),
                ",".join(map(str, papers)),
                ",".join(map(str, owners)),
                ",".join(map(str, hits_numbers)),
                ",".join(map(repr, scores)),  # repr: the shortest text that reads back exactly
            ],
        )


_subscription_and_paper = operator.itemgetter(0, 1)


def enabled_subscription_chunks(size: int) -> Iterator[list[tuple[int, int, str]]]:
    """(id, owner id, compiled query) of every enabled subscription, ``size`` at a time in id
    order, each chunk read by its own query (no cursor held open across the caller's writes).
    A subscription saved without going through ``save()`` (bulk-created) or by another version
    is compiled here and stored; one whose query does not parse is skipped and logged."""
    after = 0
    size = max(size, 1)
    # Query text → compiled JSON (or None, invalid), kept across chunks: bulk-created
    # subscriptions repeat the same few thousand queries. Emptied when it holds a chunk's worth.
    compiled_texts: dict[str, str | None] = {}
    while True:
        rows = list(
            Subscription.objects.filter(enabled=True, id__gt=after)
            .order_by("id")
            .values_list("id", "owner_id", "compiled", "query")[:size]
        )
        if not rows:
            return
        after = rows[-1][0]
        if len(compiled_texts) > size:
            compiled_texts.clear()
        chunk = _compiled_rows(rows, compiled_texts)
        if chunk:  # not when all its queries were invalid: an empty index is a pass for nothing
            yield chunk


def _compiled_rows(
    rows: list[tuple[int, int, str, str]], compiled_texts: dict[str, str | None]
) -> list[tuple[int, int, str]]:
    """The rows with their compiled query, compiling (and storing) those that lack it."""
    outdated: dict[int, str] = {}
    prefix = f"[{COMPILED_VERSION},"
    found = []
    for subscription_id, owner_id, compiled, query in rows:
        if not compiled.startswith(prefix):
            if query not in compiled_texts:
                try:
                    compiled_texts[query] = compile_text(query)
                except QueryError as error:
                    compiled_texts[query] = None
                    logger.warning(
                        "subscription %s has an invalid query: %s", subscription_id, error
                    )
            compiled = compiled_texts[query]
            if compiled is None:
                continue
            outdated[subscription_id] = compiled
        found.append((subscription_id, owner_id, compiled))
    _store_compiled(outdated)
    return found


def _store_compiled(compiled_by_id: dict[int, str]) -> None:
    """One statement for all of them: bulk-created subscriptions come by thousands. SQLite runs
    a prepared ``UPDATE`` per row in-process; PostgreSQL takes them as one JSON object
    ``{id: compiled}`` (an ``UPDATE`` per row cost a round trip each: 1 s for 17k)."""
    if not compiled_by_id:
        return
    quote = connection.ops.quote_name
    table, compiled, pk = quote(Subscription._meta.db_table), quote("compiled"), quote("id")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {table} SET {compiled} = item.value"
                f" FROM jsonb_each_text(%s::jsonb) AS item WHERE {table}.{pk} = item.key::bigint",
                [json.dumps(compiled_by_id)],
            )
        else:
            cursor.executemany(
                f"UPDATE {table} SET {compiled} = %s WHERE {pk} = %s",
                [(text, subscription_id) for subscription_id, text in compiled_by_id.items()],
            )


def rematch_subscription(subscription: Subscription, *, now: dt.datetime | None = None) -> int:
    """Recompute ``subscription``'s matches over the papers of the last ``MATCH_REMATCH_DAYS``
    days that its owner has not been sent yet (sent ones stay as they were). Called when a
    subscription is saved (``subscriptions.services``). Returns the number of matches."""
    from subscriptions.corpus import recent_corpus

    now = now or timezone.now()
    since = now - dt.timedelta(days=settings.MATCH_REMATCH_DAYS)
    delivered = DigestItem.objects.filter(user_id=subscription.owner_id).values("paper_id")
    with transaction.atomic():
        Match.objects.filter(subscription=subscription, paper__created_at__gte=since).exclude(
            paper_id__in=delivered
        ).delete()
        if not subscription.enabled or subscription.pk is None:
            return 0
        try:
            node = loads(subscription.compiled) if subscription.compiled else None
            if node is None:
                node = compile_query(parse(subscription.query))
        except QueryError:
            return 0
        days = max(settings.MATCH_REMATCH_DAYS, settings.MATCH_RECENT_DAYS)
        corpus = recent_corpus(days, now=now)
        found = corpus.search(node, since=since)
        sent = set(
            DigestItem.objects.filter(
                user_id=subscription.owner_id, paper_id__in=[paper.id for paper, _ in found]
            ).values_list("paper_id", flat=True)
        )
        rows = [
            Match(
                subscription=subscription,
                paper_id=paper.id,
                owner_id=subscription.owner_id,
                hits=public_hits(hits),
                score=score(hits, corpus.idf, paper.upvotes),
            )
            for paper, hits in found
            if paper.id not in sent
        ]
        Match.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    return len(rows)


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
    """Loads the papers of a preview 100 at a time, in order, as their ``.paper`` is read: a
    page showing 20 of 5,000 matches loads 100 papers, not 5,000."""

    def __init__(self, paper_ids: list[int]):
        self.paper_ids = paper_ids
        self.position = {paper_id: index for index, paper_id in enumerate(paper_ids)}
        self.loaded: dict[int, Paper] = {}

    def __call__(self, paper_id: int) -> Paper:
        if paper_id not in self.loaded:
            start = self.position[paper_id]
            self.loaded.update(Paper.objects.in_bulk(self.paper_ids[start : start + 100]))
        return self.loaded[paper_id]


def preview(
    query_text: str, days: int = 7, limit: int | None = None, *, now: dt.datetime | None = None
) -> list[PreviewHit]:
    """The papers ``query_text`` would have matched among those first seen in the last ``days``
    days, best first (featured, then score). Raises ``QueryError`` for an invalid query. Served
    from the per-process cache of recent papers (``subscriptions.corpus``)."""
    from subscriptions.corpus import recent_corpus

    node = compile_query(parse(query_text))
    now = now or timezone.now()
    corpus = recent_corpus(max(days, settings.MATCH_RECENT_DAYS), now=now)
    found = [
        (paper, hits, score(hits, corpus.idf, paper.upvotes))
        for paper, hits in corpus.search(node, since=now - dt.timedelta(days=days))
    ]
    found.sort(
        key=lambda item: rank_key(featured=item[0].featured, score=item[2], paper_id=item[0].id)
    )
    if limit is not None:
        found = found[:limit]
    loader = _PaperLoader([paper.id for paper, _, _ in found])
    return [PreviewHit(paper.id, public_hits(hits), value, loader) for paper, hits, value in found]
