"""Matching papers to subscriptions: the evaluator, the percolator, scoring, and the match step.

**Compiled queries.** A parsed :class:`~subscriptions.query.Query` is compiled into nested tuples
of stems (``compile_query``) and stored as JSON on the subscription when it is saved
(``Subscription.compiled``): the match step reads a million of those in seconds, where parsing a
million query texts with luqum would take minutes.

**The evaluator** ``evaluate(query, doc)`` is the reference: it decides whether one query matches
one analysed paper (:class:`PaperDoc`) and returns the hits — which term matched in which field,
``[{"term": "zero-shot", "field": "title"}, ...]`` — or ``None``.

**The percolator** (the way Lucene Monitor and Elasticsearch's percolator work) turns the loop
around. For each query it extracts a set of keys of which a matching paper must contain at least
one: a word's stem, a phrase's rarest stem, a wildcard's prefix, an author's family name, a
category. ``AND`` keeps only its most selective child's keys, ``OR`` takes the union of its
children's, ``NOT`` contributes nothing. Queries are indexed by those keys; each paper is
analysed once, its keys looked up, and only the candidate queries found are verified with the
evaluator. Cost follows candidates, not subscriptions. The index is rebuilt for every batch of
papers, and selectivity is measured on that batch: a query whose keys are absent from the batch
is never indexed. Identical compiled queries are stored once and fan out to every subscriber.

**Scoring** (``score``): each distinct hit adds ``FIELD_WEIGHTS[field] × idf`` where idf is
``ln(1 + N / (1 + df))`` over the recent papers (``MATCH_RECENT_DAYS``; a phrase adds its words'
idfs), so title matches rank above abstract matches and rare terms above common ones. Hugging Face
upvotes only break ties: the relevance is rounded to 3 decimals and ``upvotes × 1e-7`` (capped
below 0.0005) is added, so ``order_by("-score")`` already honours them. Featured papers come
first: ``rank_key`` sorts by (featured, score) and is what digests and previews use.

**The match step** ``match_new_papers()`` percolates the papers with ``matched_at`` unset
against the enabled subscriptions and writes ``Match`` rows (idempotent: conflicting rows are
ignored); ``rematch_subscription(sub)`` recomputes one subscription's matches over the recent
papers not yet delivered to its owner. ``preview(text)`` is the same query over the last days'
papers, served from a per-process cache (``subscriptions.corpus``).
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import logging
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from digest.models import DigestItem, Paper
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


def loads(text: str) -> CNode | None:
    """The node stored by :func:`dumps`, or ``None`` if another version of Paperboy wrote it."""
    version, node = json.loads(text)
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
    def from_parts(
        cls, title: FieldText, abstract: FieldText, authors: tuple, categories: tuple
    ) -> PaperDoc:
        """A doc from already analysed parts (the cache of recent papers keeps them compact)."""
        doc = cls.__new__(cls)
        doc.title, doc.abstract = title.complete(), abstract.complete()
        doc.authors, doc.categories = authors, categories
        return doc

    def keys(self) -> set[str | tuple[str, str]]:
        """The percolator's lookup keys: stems, adjacent stem pairs (``("zero", "shot")``, for
        phrases), author keys (see ``author_keys``) and every prefix of every category
        (``cs.CV`` → ``c``, ``cs``, ``cs.``, ``cs.c``, ``cs.cv``)."""
        title, abstract = self.title, self.abstract
        keys = set(title.present)
        keys.update(abstract.present, bigrams(title.stems), bigrams(abstract.stems))
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


class Percolator:
    """Queries indexed by the keys they require, for one batch of papers.

    >>> percolator = Percolator(docs)
    >>> percolator.add(subscription.compiled, subscription.id)   # for every subscription
    >>> for doc_index, payloads, hits in percolator.matches(): ...

    Identical compiled queries are stored once; ``payloads`` lists everything added with it.
    """

    def __init__(self, docs: Sequence[PaperDoc]):
        self.docs = docs
        self.doc_keys = [doc.keys() for doc in docs]
        self.doc_words = [doc.words() for doc in docs]
        self.key_df: Counter[str] = Counter()
        word_df: Counter[str] = Counter()
        for keys, words in zip(self.doc_keys, self.doc_words, strict=True):
            self.key_df.update(keys)
            word_df.update(words)
        self._word_df = word_df
        self._vocabulary = sorted(word_df)
        self._prefix_df: dict[str, int] = {}
        self.queries: list[CNode | None] = []
        self.payloads: list[Any] = []  # one payload, or a list when several share a query
        # Per query, necessary conditions checked with one set operation each before the
        # evaluator runs: for "a AND b" indexed under a, is b here at all?
        self.filters: list[tuple | None] = []
        # Per query, its words when it is only words (then no evaluator is needed at all).
        self.plain: list[tuple | None] = []
        self._query_ids: dict[str, int] = {}
        self.index: dict[str, list[int]] = {}
        self.prefix_index: dict[str, list[int]] = {}
        self._prefix_lengths: list[int] = []
        self.skipped = 0  # queries that cannot match this batch (their keys are absent)
        self.candidate_count = 0  # queries found through the index
        self.verified = 0  # of those, checked with the evaluator (the rest failed the filter)

    def __len__(self) -> int:
        return len(self.queries)

    def df(self, key: str | tuple[str, str]) -> int:
        """Papers of this batch containing ``key`` (for a prefix key, an upper bound)."""
        if type(key) is tuple or key[0] != PREFIX_KEY:
            return self.key_df.get(key, 0)
        return self._prefix_count(key)

    def _prefix_count(self, key: str) -> int:
        cached = self._prefix_df.get(key)
        if cached is None:
            prefix = key[1:]
            vocabulary = self._vocabulary
            start = bisect.bisect_left(vocabulary, prefix)
            end = bisect.bisect_left(vocabulary, prefix + "\U0010ffff")
            cached = sum(self._word_df[word] for word in vocabulary[start:end])
            self._prefix_df[key] = cached
        return cached

    def add(self, compiled: str, payload: Any) -> None:
        """Index one query (its ``Subscription.compiled`` JSON)."""
        query_id = self._query_ids.get(compiled)
        if query_id is not None:
            existing = self.payloads[query_id]
            if type(existing) is list:
                existing.append(payload)
            else:
                self.payloads[query_id] = [existing, payload]
            return
        query_id = len(self.queries)
        self._query_ids[compiled] = query_id
        node = loads(compiled)
        self.payloads.append(payload)
        found = sorted(conditions(node, self.df), key=_by_cost) if node is not None else []
        if not found or found[0][0] == 0:
            self.queries.append(None)  # cannot match any paper of this batch
            self.filters.append(None)
            self.plain.append(None)
            self.skipped += 1
            return
        self.queries.append(node)
        # Filters: every other condition that is one key (all must be present: one
        # issuperset), and the best condition of several keys (one must be: one isdisjoint).
        must = tuple(keys[0] for _, keys in found[1:] if len(keys) == 1 and not _is_prefix(keys[0]))
        any_of = next(
            (
                tuple(keys)
                for _, keys in found[1:]
                if len(keys) > 1 and not any(_is_prefix(key) for key in keys)
            ),
            None,
        )
        self.filters.append((must or None, any_of) if must or any_of else None)
        self.plain.append(_plain_terms(node))
        for key in found[0][1]:
            if _is_prefix(key):
                prefix = key[1:]
                self.prefix_index.setdefault(prefix, []).append(query_id)
                if len(prefix) not in self._prefix_lengths:
                    self._prefix_lengths = sorted({*self._prefix_lengths, len(prefix)})
            else:
                self.index.setdefault(key, []).append(query_id)

    def candidates(self, doc_index: int) -> set[int]:
        found: set[int] = set()
        update = found.update
        get = self.index.get
        for key in self.doc_keys[doc_index]:
            posting = get(key)
            if posting is not None:
                update(posting)
        if self.prefix_index:
            get = self.prefix_index.get
            lengths = self._prefix_lengths
            shortest = lengths[0]
            for word in self.doc_words[doc_index]:
                size = len(word)
                if size < shortest:
                    continue
                for length in lengths:
                    if length > size:
                        break
                    posting = get(word[:length])
                    if posting is not None:
                        update(posting)
        return found

    def matches(self) -> Iterator[tuple[int, list[Any], list[Hit]]]:
        """(paper index, payloads of the matching query, hits) for every match in the batch."""
        queries, payloads, filters, plains = self.queries, self.payloads, self.filters, self.plain
        match = _match
        for doc_index, doc in enumerate(self.docs):
            candidates = self.candidates(doc_index)
            keys = self.doc_keys[doc_index]
            title_present, abstract_present = doc.title.present, doc.abstract.present
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
                plain = plains[query_id]
                if plain is not None:
                    # Words anywhere in title or abstract, all present (the filter said so):
                    # a match for sure, only the fields are left to tell.
                    for term in plain:
                        if term[2] in title_present:
                            hits.append((term[3], "title", term))
                        if term[2] in abstract_present:
                            hits.append((term[3], "abstract", term))
                elif not match(queries[query_id], doc, hits):
                    continue
                payload = payloads[query_id]
                yield doc_index, payload if type(payload) is list else [payload], hits
            self.candidate_count += len(candidates)
            self.verified += verified


def _plain_terms(node: CNode) -> tuple[CNode, ...] | None:
    """The words of a query made only of words looked for in title or abstract (``diffusion``,
    ``diffusion video model``): found by one word and filtered by the others, it matches."""
    if node[0] == TERM and node[1] == 0:
        return (node,)
    if node[0] == AND and all(child[0] == TERM and child[1] == 0 for child in node[1]):
        return tuple(node[1])
    return None


def _is_prefix(key: str | tuple) -> bool:
    return type(key) is str and key[0] == PREFIX_KEY


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
        return [condition for child in node[1] for condition in conditions(child, df)]
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
            docs.append(recent.doc())  # analysed already, for the cache of recent papers
        else:
            docs.append(PaperDoc.from_paper(paper))
    percolator = Percolator(docs)
    for subscription_id, owner_id, compiled in enabled_subscriptions():
        percolator.add(compiled, (subscription_id, owner_id))
    found = 0
    with transaction.atomic():
        rows: list[Match] = []
        for doc_index, payloads, hits in percolator.matches():
            paper = papers[doc_index]
            explained = public_hits(hits)
            value = score(hits, corpus.idf, paper.upvotes)
            for subscription_id, owner_id in payloads:
                rows.append(
                    Match(
                        subscription_id=subscription_id,
                        paper_id=paper.pk,
                        owner_id=owner_id,
                        hits=explained,
                        score=value,
                    )
                )
            if len(rows) >= 5000:
                found += len(rows)
                Match.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
                rows = []
        found += len(rows)
        Match.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
        Paper.objects.filter(pk__in=[paper.pk for paper in papers]).update(matched_at=now)
    logger.info(
        "matched %d papers against %d distinct queries: %d matches",
        len(papers),
        len(percolator),
        found,
    )
    return found


def enabled_subscriptions() -> Iterator[tuple[int, int, str]]:
    """(id, owner id, compiled query) of every enabled subscription. A subscription saved
    without going through ``save()`` (bulk-created) or by another version is compiled here and
    stored; one whose query does not parse is skipped and logged."""
    outdated: list[tuple[int, str]] = []
    prefix = f"[{COMPILED_VERSION},"
    rows = Subscription.objects.filter(enabled=True).values_list(
        "id", "owner_id", "compiled", "query"
    )
    for subscription_id, owner_id, compiled, query in rows.iterator(chunk_size=10_000):
        if not compiled.startswith(prefix):
            try:
                compiled = compile_text(query)
            except QueryError as error:
                logger.warning("subscription %s has an invalid query: %s", subscription_id, error)
                continue
            outdated.append((subscription_id, compiled))
        yield subscription_id, owner_id, compiled
    for subscription_id, compiled in outdated:
        Subscription.objects.filter(pk=subscription_id).update(compiled=compiled)


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
