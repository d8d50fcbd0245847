"""Compiled queries and the evaluator: what a query is once parsed, and whether it matches a paper.

**Compiled queries.** A parsed :class:`~subscriptions.query.Query` is compiled into nested lists
of stems (``compile_query``) and stored as JSON on the subscription when it is saved
(``Subscription.compiled``): the match step decodes a million of those in seconds, where
parsing a million query texts with luqum would take minutes (bench/RESULTS.md has both).

**The evaluator** ``match(node, doc, hits)`` decides whether one compiled query matches one
analysed paper (:class:`~subscriptions.documents.PaperDoc`) and collects the hits — which term
matched in which field. ``evaluate`` wraps it for one-off use:
``[{"term": "zero-shot", "field": "title"}, ...]`` or ``None``. The percolator and the search
over the recent papers find candidates by keys, then ask the evaluator.

**Conditions** (``conditions``): the keys a matching paper must hold — sets of keys of which it
contains at least one: a word's stem, each pair of adjacent stems of a phrase, a wildcard's
prefix, an author's name part with another part's initial, a category prefix. Every child of
an ``AND`` is a condition, an ``OR`` is the union of its children's best ones, a ``NOT`` gives
none. The percolator indexes a query under its rarest condition; the recent papers look up a
query's rarest one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence

from subscriptions.documents import (
    AUTHOR_KEY,
    CATEGORY_KEY,
    PREFIX_KEY,
    PaperDoc,
    bigrams,
)
from subscriptions.query import And, Author, Category, Node, Not, Or, Query, Term, parse
from subscriptions.text import FieldText, stem

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
    """The node stored by :func:`dumps`, or ``None`` if another version of Paperboy wrote it
    (or it is not ours at all)."""
    try:
        version, node = json.loads(text)
    except (ValueError, TypeError):
        return None
    return node if version == COMPILED_VERSION else None


def compile_text(text: str) -> str:
    """Parse (raising QueryError) and return the JSON stored on the subscription."""
    return dumps(compile_query(parse(text)))


# --- The evaluator ------------------------------------------------------------------------------

Hit = tuple[str, str, CNode]  # (term as shown, field name, the node that matched)
FIELD_ORDER = {"title": 0, "abstract": 1, "author": 2, "category": 3}


def evaluate(query: Query | CNode, doc: PaperDoc) -> list[dict[str, str]] | None:
    """The reference matcher: the hits of ``query`` in ``doc``, or ``None`` if it does not match."""
    node = compile_query(query) if isinstance(query, Query) else query
    hits: list[Hit] = []
    if not match(node, doc, hits):
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


def match(node: CNode, doc: PaperDoc, hits: list[Hit]) -> bool:
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
            if not match(child, doc, hits):
                del hits[mark:]
                return False
        return True
    if op == OR:
        found = False
        for child in node[1]:
            if match(child, doc, hits):
                found = True
        return found
    if op == NOT:
        return not match(node[1], doc, [])
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


# --- Conditions ---------------------------------------------------------------------------------

Key = str | tuple[str, str]
Condition = tuple[int, list[Key]]  # (estimated papers, keys: a matching paper has one of them)
Frequencies = Callable[[Key], int]  # how many papers (about) contain a key


def conditions(node: CNode, df: Frequencies) -> list[Condition]:
    """Necessary conditions for ``node`` to match: a matching paper contains at least one key of
    each. ``df(key)`` estimates how many papers contain a key. Keys are stems, pairs of adjacent
    stems (``("zero", "shot")``), author keys, category prefixes and word prefixes, told apart
    by the ``*_KEY`` marks. Every pair of a phrase and every child of an AND is a condition of
    its own; an OR is one condition, the union of its children's most selective ones; a NOT
    gives none (the parser rejects a query of NOTs alone)."""
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


def required_keys(node: CNode, df: Frequencies) -> Condition | None:
    """The most selective necessary condition of ``node`` (``None`` if it has none)."""
    found = conditions(node, df)
    if not found:
        return None
    return min(found, key=_by_cost)


def _by_cost(condition: Condition) -> tuple[int, int]:
    return condition[0], len(condition[1])


def _query_author_keys(parts: Sequence[str]) -> list[str]:
    if len(parts) == 1:
        return [AUTHOR_KEY + parts[0]]
    return [
        AUTHOR_KEY + part + " " + parts[(index + 1) % len(parts)][0]
        for index, part in enumerate(parts)
        if len(part) > 1
    ]
