"""Why a paper matched, in words: one wording for the digest email, the admin and
``manage.py match``.

Hits are what the matcher stores for a match: ``[{"term": "zero-shot", "field": "title"}, ...]``.
A digest's items carry the same hits, each also naming the subscription it came from
(``"subscription": "Vision"``); those are grouped by subscription.

    >>> explain([{"term": "zero-shot", "field": "title"}, {"term": "CLIP", "field": "abstract"}])
    'matched: `zero-shot` in title, `CLIP` in abstract'
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# The matcher's field names, as a reader would say them.
FIELD_NAMES = {
    "title": "title",
    "abstract": "abstract",
    "author": "authors",
    "category": "category",
}


@dataclass(frozen=True)
class TermReason:
    """One matched term and the fields it was found in (``title and abstract``)."""

    term: str
    fields: tuple[str, ...]

    @property
    def where(self) -> str:
        return " and ".join(self.fields)

    def __str__(self) -> str:
        return f"`{self.term}` in {self.where}" if self.fields else f"`{self.term}`"


@dataclass(frozen=True)
class Reason:
    """What one subscription matched (``subscription`` is empty for plain matcher hits)."""

    subscription: str
    terms: tuple[TermReason, ...]

    def __str__(self) -> str:
        terms = ", ".join(str(term) for term in self.terms)
        if not self.subscription:
            return terms
        return f"{terms} ({self.subscription})" if terms else f"({self.subscription})"


def reasons(hits: Iterable[object] | None) -> list[Reason]:
    """``hits`` grouped by subscription, then by term, in order of first appearance; each term
    with its fields once. Entries that are not objects, or name no term and no subscription,
    say nothing and are left out."""
    grouped: dict[str, dict[str, list[str]]] = {}
    for hit in hits or ():
        if not isinstance(hit, dict):
            continue
        subscription = str(hit.get("subscription") or "")
        term, field = str(hit.get("term") or ""), str(hit.get("field") or "")
        if not (term or subscription):
            continue
        terms = grouped.setdefault(subscription, {})
        if not term:
            continue  # a match stored without hit detail still names its subscription
        fields = terms.setdefault(term, [])
        name = FIELD_NAMES.get(field, field)
        if name and name not in fields:
            fields.append(name)
    return [
        Reason(
            subscription,
            tuple(TermReason(term, tuple(fields)) for term, fields in terms.items()),
        )
        for subscription, terms in grouped.items()
    ]


def explain(hits: Iterable[object] | None) -> str:
    """``matched: `zero-shot` in title and abstract, `CLIP` in abstract``; a digest's hits add
    the subscription: ``matched: `zero-shot` in title (Vision); `robot` in abstract (Robots)``.
    Empty when there are no hits."""
    found = reasons(hits)
    return "matched: " + "; ".join(str(reason) for reason in found) if found else ""
