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
import json
import logging
import math
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from subscriptions.query import And, Author, Category, Node, Not, Or, Query, Term, parse
from subscriptions.text import FieldText, analyze, fold_category, name_tokens, stem

logger = logging.getLogger(__name__)

# --- Compiled queries ---------------------------------------------------------------------------
# Nodes are tuples whose first item is the opcode:
#   (TERM, fields, stem, display)         (PHRASE, fields, stems, display)
#   (PREFIX, fields, prefix, display)     (AUTHOR, parts, display, full_parts)
#   (CATEGORY, pattern, is_prefix, display)
#   (AND, children)  (OR, children)  (NOT, child)
# ``fields`` indexes PaperDoc.fields: (0, 1) = title or abstract, (0,) = title, (1,) = abstract.

TERM, PHRASE, PREFIX, AUTHOR, CATEGORY, AND, OR, NOT = range(8)
COMPILED_VERSION = 1
FIELD_NAMES = ("title", "abstract")
_FIELD_CODES = {"text": 0, "title": 1, "abstract": 2}
_FIELD_TUPLES = ((0, 1), (0,), (1,))

CNode = tuple


def compile_query(query: Query | Node) -> CNode:
    """The AST as nested tuples of stems, ready for the evaluator."""
    node = query.root if isinstance(query, Query) else query
    if isinstance(node, Term):
        fields = _FIELD_TUPLES[_FIELD_CODES[node.field]]
        display = sys.intern(node.text or " ".join(node.words))
        if node.prefix:
            return (PREFIX, fields, sys.intern(node.words[0]), display)
        stems = tuple(stem(word) for word in node.words)
        if len(stems) == 1:
            return (TERM, fields, stems[0], display)
        phrase = (PHRASE, fields, stems, display)
        if node.compound:
            return (OR, (phrase, (TERM, fields, stem("".join(node.words)), display)))
        return phrase
    if isinstance(node, Author):
        parts = tuple(sys.intern(part) for part in node.parts)
        full = tuple(part for part in parts if len(part) > 1)
        return (AUTHOR, parts, node.text or " ".join(parts), full)
    if isinstance(node, Category):
        return (CATEGORY, node.pattern, node.prefix, node.text or node.pattern)
    if isinstance(node, And):
        return (AND, tuple(compile_query(child) for child in node.children))
    if isinstance(node, Or):
        return (OR, tuple(compile_query(child) for child in node.children))
    if isinstance(node, Not):
        return (NOT, compile_query(node.child))
    raise TypeError(f"not a query node: {node!r}")


def dumps(node: CNode) -> str:
    """Compact JSON for ``Subscription.compiled``: ``[version, tree]``."""
    return json.dumps([COMPILED_VERSION, _to_json(node)], separators=(",", ":"), ensure_ascii=False)


def _to_json(node: CNode) -> list:
    op = node[0]
    if op in (AND, OR):
        return [op, [_to_json(child) for child in node[1]]]
    if op == NOT:
        return [op, _to_json(node[1])]
    if op in (TERM, PHRASE, PREFIX):
        return [op, _FIELD_TUPLES.index(node[1]), node[2], node[3]]
    if op == AUTHOR:
        return [op, list(node[1]), node[2]]
    return [op, node[1], node[2], node[3]]


def loads(text: str) -> CNode | None:
    """The node stored by :func:`dumps`, or ``None`` if it was written by another version."""
    version, tree = json.loads(text)
    if version != COMPILED_VERSION:
        return None
    return _from_json(tree)


def _from_json(item: list) -> CNode:
    intern = sys.intern
    op = item[0]
    if op == TERM or op == PREFIX:
        return (op, _FIELD_TUPLES[item[1]], intern(item[2]), intern(item[3]))
    if op == AND or op == OR:
        return (op, tuple([_from_json(child) for child in item[1]]))
    if op == PHRASE:
        return (op, _FIELD_TUPLES[item[1]], tuple([intern(s) for s in item[2]]), intern(item[3]))
    if op == NOT:
        return (op, _from_json(item[1]))
    if op == AUTHOR:
        parts = tuple([intern(part) for part in item[1]])
        return (op, parts, intern(item[2]), tuple([p for p in parts if len(p) > 1]))
    return (op, intern(item[1]), bool(item[2]), intern(item[3]))


def compile_text(text: str) -> str:
    """Parse (raising QueryError) and return the JSON stored on the subscription."""
    return dumps(compile_query(parse(text)))


# --- Papers, analysed ---------------------------------------------------------------------------


class PaperDoc:
    """A paper as the matcher sees it: title and abstract analysed once (stems in order, the set
    of stems, folded words for wildcards), authors as (name, folded parts), categories as
    (folded, as written)."""

    __slots__ = ("fields", "authors", "categories")

    def __init__(
        self,
        title: str = "",
        abstract: str = "",
        authors: Sequence[str] = (),
        categories: Sequence[str] = (),
    ):
        self.fields: tuple[FieldText, FieldText] = (analyze(title), analyze(abstract or ""))
        self.authors = tuple((name, name_tokens(name)) for name in authors or () if name)
        self.categories = tuple(
            (fold_category(category), category) for category in categories or () if category
        )

    @classmethod
    def from_paper(cls, paper: Any) -> PaperDoc:
        return cls(paper.title, paper.abstract, paper.authors, paper.categories)

    def keys(self) -> tuple[set[str], set[str], set[str], set[str]]:
        """The percolator's lookup keys: stems, words (for prefixes), author name parts and
        every prefix of every category (``cs.CV`` → ``c``, ``cs``, ``cs.``, ``cs.c``, ``cs.cv``)."""
        title, abstract = self.fields
        author_parts = {part for _, parts in self.authors for part in parts}
        category_keys = {
            folded[:length] for folded, _ in self.categories for length in range(1, len(folded) + 1)
        }
        return (
            title.present | abstract.present,
            title.words | abstract.words,
            author_parts,
            category_keys,
        )


# --- The evaluator ------------------------------------------------------------------------------

Hit = tuple[str, str, CNode]  # (term as shown, field name, the node that matched)


def evaluate(query: Query | CNode, doc: PaperDoc) -> list[dict[str, str]] | None:
    """The reference matcher: the hits of ``query`` in ``doc``, or ``None`` if it does not match."""
    node = compile_query(query) if isinstance(query, Query) else query
    hits: list[Hit] = []
    if not _match(node, doc, hits):
        return None
    return public_hits(hits)


def public_hits(hits: Iterable[Hit]) -> list[dict[str, str]]:
    """``[{"term", "field"}]``, each pair once, in the order found."""
    seen: dict[tuple[str, str], None] = {}
    for display, field_name, _ in hits:
        seen.setdefault((display, field_name), None)
    return [{"term": term, "field": field_name} for term, field_name in seen]


def _match(node: CNode, doc: PaperDoc, hits: list[Hit]) -> bool:
    """Whether ``node`` matches; appends the hits of the parts that matched. Every child of an
    OR is evaluated so that all its hits are reported; a failed AND removes its partial hits."""
    op = node[0]
    if op == TERM:
        found = False
        stem_ = node[2]
        for index in node[1]:
            if stem_ in doc.fields[index].present:
                hits.append((node[3], FIELD_NAMES[index], node))
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
        for index in node[1]:
            if _has_phrase(doc.fields[index], node[2]):
                hits.append((node[3], FIELD_NAMES[index], node))
                found = True
        return found
    if op == PREFIX:
        found = False
        prefix = node[2]
        for index in node[1]:
            for word in doc.fields[index].words:
                if word.startswith(prefix):
                    hits.append((node[3], FIELD_NAMES[index], node))
                    found = True
                    break
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


def _has_phrase(field: FieldText, phrase: tuple[str, ...]) -> bool:
    present = field.present
    for word in phrase:
        if word not in present:
            return False
    stems = field.stems
    first, length = phrase[0], len(phrase)
    position = -1
    try:
        while True:
            position = stems.index(first, position + 1)
            if stems[position : position + length] == phrase:
                return True
    except ValueError:
        return False


def _name_matches(query_parts: tuple[str, ...], full_parts: tuple[str, ...], name: tuple) -> bool:
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


def _assign(query_parts: tuple[str, ...], index: int, name: tuple, used: int) -> bool:
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
    >>> percolator.add(compiled_node, subscription_id)      # for every subscription
    >>> for doc_index, payloads, hits in percolator.matches(): ...

    ``payloads`` are whatever was passed to ``add`` for identical queries (a list).
    """

    def __init__(self, docs: Sequence[PaperDoc]):
        self.docs = docs
        self.doc_keys = [doc.keys() for doc in docs]
        self.stem_df: Counter[str] = Counter()
        self.word_df: Counter[str] = Counter()
        self.author_df: Counter[str] = Counter()
        self.category_df: Counter[str] = Counter()
        for stems, words, author_parts, category_keys in self.doc_keys:
            self.stem_df.update(stems)
            self.word_df.update(words)
            self.author_df.update(author_parts)
            self.category_df.update(category_keys)
        self._vocabulary = sorted(self.word_df)
        self._prefix_df: dict[str, int] = {}
        self.queries: list[CNode] = []
        self.payloads: list[Any] = []  # one payload, or a list when several share a query
        self._query_ids: dict[CNode, int] = {}
        # key kind → key → query ids.  Kinds: stem, prefix, author part, category prefix.
        self.index: tuple[dict[str, list[int]], ...] = ({}, {}, {}, {})
        self._prefix_lengths: set[int] = set()
        self.skipped = 0  # queries that cannot match this batch (their keys are absent)

    def __len__(self) -> int:
        return len(self.queries)

    # Selectivity, measured on this batch.
    def df(self, kind: int, key: str) -> int:
        if kind == 0:
            return self.stem_df.get(key, 0)
        if kind == 2:
            return self.author_df.get(key, 0)
        if kind == 3:
            return self.category_df.get(key, 0)
        cached = self._prefix_df.get(key)
        if cached is None:
            # Upper bound: papers per word summed over the words with this prefix.
            vocabulary = self._vocabulary
            start = bisect.bisect_left(vocabulary, key)
            end = bisect.bisect_left(vocabulary, key + "\U0010ffff")
            cached = sum(self.word_df[word] for word in vocabulary[start:end])
            self._prefix_df[key] = cached
        return cached

    def required_keys(self, node: CNode) -> tuple[int, list[tuple[int, str]]] | None:
        """(estimated candidates, keys): a matching paper contains at least one of the keys.
        ``None`` for a node that can match without containing anything (NOT)."""
        return required_keys(node, self.df)

    def add(self, node: CNode, payload: Any) -> None:
        query_id = self._query_ids.get(node)
        if query_id is not None:
            existing = self.payloads[query_id]
            if type(existing) is list:
                existing.append(payload)
            else:
                self.payloads[query_id] = [existing, payload]
            return
        query_id = len(self.queries)
        self._query_ids[node] = query_id
        self.queries.append(node)
        self.payloads.append(payload)
        required = required_keys(node, self.df)
        if required is None or required[0] == 0:
            self.skipped += 1
            return
        for kind, key in required[1]:
            self.index[kind].setdefault(key, []).append(query_id)
            if kind == 1:
                self._prefix_lengths.add(len(key))

    def candidates(self, doc_index: int) -> set[int]:
        stems, words, author_parts, category_keys = self.doc_keys[doc_index]
        stem_index, prefix_index, author_index, category_index = self.index
        found: set[int] = set()
        update = found.update
        for keys, index in ((stems, stem_index), (author_parts, author_index)):
            if index:
                for key in keys:
                    posting = index.get(key)
                    if posting is not None:
                        update(posting)
        if category_index:
            for key in category_keys:
                posting = category_index.get(key)
                if posting is not None:
                    update(posting)
        if prefix_index:
            lengths = sorted(self._prefix_lengths)
            for word in words:
                size = len(word)
                for length in lengths:
                    if length > size:
                        break
                    posting = prefix_index.get(word[:length])
                    if posting is not None:
                        update(posting)
        return found

    def matches(self) -> Iterator[tuple[int, list[Any], list[Hit]]]:
        """(paper index, payloads of the matching query, hits) for every match in the batch."""
        queries, payloads, docs = self.queries, self.payloads, self.docs
        match = _match
        for doc_index, doc in enumerate(docs):
            for query_id in self.candidates(doc_index):
                hits: list[Hit] = []
                if match(queries[query_id], doc, hits):
                    payload = payloads[query_id]
                    yield doc_index, payload if type(payload) is list else [payload], hits


def required_keys(node: CNode, df) -> tuple[int, list[tuple[int, str]]] | None:
    """Keys of which a paper matching ``node`` must contain one, with their summed frequency
    ``df(kind, key)``; kinds: 0 stem, 1 word prefix, 2 author name part, 3 category prefix."""
    op = node[0]
    if op == TERM:
        return df(0, node[2]), [(0, node[2])]
    if op == PHRASE:
        rarest = min(node[2], key=lambda s: df(0, s))
        return df(0, rarest), [(0, rarest)]
    if op == PREFIX:
        return df(1, node[2]), [(1, node[2])]
    if op == AUTHOR:
        keys = [(2, part) for part in node[3]]
        return sum(df(2, part) for part in node[3]), keys
    if op == CATEGORY:
        return df(3, node[1]), [(3, node[1])]
    if op == AND:
        best = None
        for child in node[1]:
            required = required_keys(child, df)
            if required is not None and (
                best is None or (required[0], len(required[1])) < (best[0], len(best[1]))
            ):
                best = required
        return best
    if op == OR:
        total, keys = 0, []
        for child in node[1]:
            required = required_keys(child, df)
            if required is None:
                return None
            total += required[0]
            keys.extend(required[1])
        return total, keys
    return None  # NOT


# --- Scoring ------------------------------------------------------------------------------------

FIELD_WEIGHTS = {"title": 3.0, "abstract": 1.0, "author": 2.0, "category": 0.5}
UPVOTE_WEIGHT = 1e-7
MAX_TIEBREAK_UPVOTES = 4_999  # keeps the tie-breaker under half of the relevance's last digit


def idf(df: int, total: int) -> float:
    return math.log(1 + total / (1 + df))


def relevance(hits: Iterable[Hit], idf_of) -> float:
    """Σ field weight × idf over the distinct (node, field) hits; ``idf_of(kind, key)``."""
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
        return idf_of(0, node[2])
    if op == PHRASE:
        return sum(idf_of(0, s) for s in node[2])
    if op == PREFIX:
        return idf_of(1, node[2])
    if op == AUTHOR:
        return max(idf_of(2, part) for part in node[3])
    return idf_of(3, node[1])


def score(hits: Iterable[Hit], idf_of, upvotes: int = 0) -> float:
    """Relevance rounded to 3 decimals, plus upvotes as a tie-breaker that never outweighs it."""
    return round(relevance(hits, idf_of), 3) + min(upvotes, MAX_TIEBREAK_UPVOTES) * UPVOTE_WEIGHT


def rank_key(*, featured: bool, score: float, paper_id: int = 0) -> tuple:
    """Sort key for a digest or a preview: featured papers first, then by score, newest id last
    resort. Use ``sorted(items, key=lambda i: rank_key(featured=..., score=...))``."""
    return (not featured, -score, -paper_id)
