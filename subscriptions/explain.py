"""Why a paper is shown, in words: one wording for the digest email, the web digest, the admin,
``manage.py match`` and ``manage.py recommend`` (``subscriptions.hybrid.reason_lines``).

Hits are what the matcher stores for a match: ``[{"term": "zero-shot", "field": "title"}, ...]``.
A digest's items carry the same hits, each also naming the subscription it came from
(``"subscription": "Vision", "subscription_id": 7``), and what else the composer knew when it
ranked the paper, so the email sent today and the web page read next month say the same:

* ``{"field": "meaning", "term": <the interest's words, may be empty>, "similarity": z, ...}``
  — how close in meaning the paper is to the subscription's interest (``Match.similarity``);
  ``"examples": true`` when the interest has example papers too, and for an interest of
  example papers only ``"example"``/``"example_id"``: the example nearest to the paper;
* ``{"field": "liked", "term": <title>, "paper_id": id, "similarity": z}`` — the paper the
  reader liked that this one is nearest to, written only when the reader's model raised it.

:func:`lines` turns them into reasons, most telling first, each as plain text (``str``) and as
HTML (``.html``, everything escaped). A reason is said only when the data bears it out: close in
meaning only from ``CLOSE_IN_MEANING_Z`` spreads above the typical paper, whoever wrote the
entry. Entries of another shape are left out, never shown raw.

    >>> explain([{"term": "zero-shot", "field": "title"}, {"term": "CLIP", "field": "abstract"}])
    'matched: `zero-shot` in title, `CLIP` in abstract'
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Said "close in meaning" (to an interest, or to a liked paper) only when the paper is this many
# spreads above the typical paper (``subscriptions.semantic``; strictness 2's threshold): below
# it, closeness is not a reason a reader would recognise. ``subscriptions.hybrid`` uses it too.
CLOSE_IN_MEANING_Z = 1.5

# The matcher's field names, as a reader would say them.
FIELD_NAMES = {
    "title": "title",
    "abstract": "abstract",
    "author": "authors",
    "category": "category",
}
FIELD_ORDER = {"title": 0, "abstract": 1, "author": 2, "category": 3}
MEANING, LIKED = "meaning", "liked"
# A reader's own words and a paper's title are quoted at most this long: a paragraph-long
# interest repeated under every paper would crowd the papers out of the email.
QUOTE_CHARS = 80
TITLE_CHARS = 120
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def tidy(text: object, limit: int | None = None) -> str:
    """``text`` on one line — whitespace runs are one space, control characters gone (a plain
    text email must not get lines or terminal escapes from a title) — and cut at a word
    boundary with "…" past ``limit`` characters."""
    text = " ".join(_CONTROL.sub(" ", str(text or "")).split())
    if limit is not None and len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0].rstrip(",;:.") + "…"
    return text


# --- Lines: a reason as parts to mark up ------------------------------------------------------

PLAIN, TERM, TITLE, QUOTE, NAME, ONLY_NAME = "", "term", "title", "quote", "name", "only-name"
_TEXT = {PLAIN: "{}", TERM: "`{}`", TITLE: "*{}*", QUOTE: "“{}”", NAME: "({})", ONLY_NAME: "({})"}
_HTML = {
    PLAIN: "{}",
    TERM: "<strong>{}</strong>",
    TITLE: "<em>{}</em>",
    QUOTE: "“{}”",
    NAME: "· <em>{}</em>",  # after what it matched
    ONLY_NAME: "<em>{}</em>",  # a match that says only which subscription it came from
}


@dataclass(frozen=True)
class Line:
    """One reason: ``(kind, text)`` parts — plain words, a matched ``term``, a paper's
    ``title``, the reader's own words (``quote``), a subscription's ``name`` (``only-name``
    when nothing else is said of its match)."""

    parts: tuple[tuple[str, str], ...]

    def __str__(self) -> str:
        return "".join(_TEXT[kind].format(text) for kind, text in self.parts)

    @property
    def html(self) -> SafeString:
        """The line as HTML, its first letter capitalised; every part escaped."""
        html = "".join(_HTML[kind].format(escape(text)) for kind, text in self.parts)
        return mark_safe(html[:1].upper() + html[1:])  # noqa: S308 - every part is escaped


def featured_line() -> Line:
    return Line(((PLAIN, "featured by the curators"),))


def meaning_line(interest: str, *, examples: bool = False, example: str = "") -> Line:
    """Close in meaning to the interest's words (and its example papers), or, for an interest
    of example papers only, to those papers, naming the nearest one when known."""
    interest = tidy(interest, QUOTE_CHARS)
    if interest:
        parts = [(PLAIN, "close in meaning to your interest "), (QUOTE, interest)]
        if examples:
            parts.append((PLAIN, " and its example papers"))
        return Line(tuple(parts))
    if example:
        return Line(
            (
                (PLAIN, "close in meaning to your example papers, nearest to "),
                (TITLE, tidy(example, TITLE_CHARS)),
            )
        )
    return Line(((PLAIN, "close in meaning to your example papers"),))


def liked_line(title: str) -> Line:
    return Line(
        ((PLAIN, "close to "), (TITLE, tidy(title, TITLE_CHARS)), (PLAIN, ", which you liked"))
    )


def upvotes_line(upvotes: int) -> Line:
    return Line(((PLAIN, f"{upvotes} upvote{'s' if upvotes != 1 else ''}"),))


# --- Boolean hits, grouped --------------------------------------------------------------------


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
    """What one subscription matched by its words (``subscription`` is empty for plain matcher
    hits; ``terms`` is empty for a match that says only which subscription it came from)."""

    subscription: str
    terms: tuple[TermReason, ...]

    def __str__(self) -> str:
        terms = ", ".join(str(term) for term in self.terms)
        if not self.subscription:
            return terms
        return f"{terms} ({self.subscription})" if terms else f"({self.subscription})"

    def parts(self) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for position, term in enumerate(self.terms):
            if position:
                found.append((PLAIN, ", "))
            found.append((TERM, term.term))
            if term.fields:
                found.append((PLAIN, f" in {term.where}"))
        if self.subscription:
            found += (
                [(PLAIN, " "), (NAME, self.subscription)]
                if self.terms
                else [(ONLY_NAME, self.subscription)]
            )
        return found


def _entries(hits: Iterable[object] | None) -> list[dict]:
    return [hit for hit in hits or () if isinstance(hit, dict)]


def _z(entry: dict) -> float:
    """An entry's similarity as a number; anything else (missing, text, NaN) is not close."""
    value = entry.get("similarity")
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return -math.inf
    return float(value)


def is_close(entry: dict) -> bool:
    return _z(entry) >= CLOSE_IN_MEANING_Z


def reasons(hits: Iterable[object] | None) -> list[Reason]:
    """The boolean hits grouped by subscription (in order of first appearance), then by term
    (title hits first, then by first appearance); each term with its fields once. A
    subscription whose entries say nothing else — a match stored without hit detail, or one by
    meaning that is not close enough to say so — is named alone. Entries that are not objects,
    or name no term and no subscription, are left out."""
    entries = [hit for hit in _entries(hits) if hit.get("field") != LIKED]
    close_by_meaning = {
        tidy(hit.get("subscription"))
        for hit in entries
        if hit.get("field") == MEANING and is_close(hit)
    }
    grouped: dict[str, dict[str, list[str]]] = {}
    for hit in entries:
        grouped.setdefault(tidy(hit.get("subscription")), {})
    for hit in sorted(entries, key=lambda hit: FIELD_ORDER.get(str(hit.get("field")), 9)):
        field = str(hit.get("field") or "")
        term = "" if field == MEANING else tidy(hit.get("term"))
        if not term:
            continue  # a match stored without hit detail still names its subscription
        fields = grouped[tidy(hit.get("subscription"))].setdefault(term, [])
        name = FIELD_NAMES.get(field, tidy(field))
        if name and name not in fields:
            fields.append(name)
    return [
        Reason(
            subscription,
            tuple(TermReason(term, tuple(fields)) for term, fields in terms.items()),
        )
        for subscription, terms in grouped.items()
        if terms or (subscription and subscription not in close_by_meaning)
    ]


def lines(hits: Iterable[object] | None, *, featured: bool = False, upvotes: int = 0) -> list[Line]:
    """Every reason to show for a paper, most telling first: featured by the curators; the
    words that matched, per subscription; close in meaning to an interest; close to a paper
    the reader liked; its upvotes. ``featured`` and ``upvotes`` are the paper's."""
    entries = _entries(hits)
    found = [featured_line()] if featured else []
    matched = reasons(entries)
    if matched:
        parts: list[tuple[str, str]] = [(PLAIN, "matched: ")]
        for position, reason in enumerate(matched):
            if position:
                parts.append((PLAIN, "; "))
            parts += reason.parts()
        found.append(Line(tuple(parts)))
    said: set[tuple] = set()
    for entry in entries:
        if entry.get("field") != MEANING or not is_close(entry):
            continue
        line = meaning_line(
            str(entry.get("term") or ""),
            examples=bool(entry.get("examples")),
            example=str(entry.get("example") or ""),
        )
        subscription = tidy(entry.get("subscription"))
        if subscription:
            line = Line((*line.parts, (PLAIN, " "), (NAME, subscription)))
        if line.parts not in said:
            said.add(line.parts)
            found.append(line)
    for entry in entries:
        title = tidy(entry.get("term"))
        if entry.get("field") == LIKED and title and is_close(entry):
            found.append(liked_line(title))
            break  # the nearest liked paper: one is the reason
    if isinstance(upvotes, int) and upvotes > 0:
        found.append(upvotes_line(upvotes))
    return found


def explain(hits: Iterable[object] | None, *, featured: bool = False, upvotes: int = 0) -> str:
    """The reasons on one line: ``matched: `zero-shot` in title and abstract, `CLIP` in
    abstract``; a digest's hits add the subscription (``matched: `zero-shot` in title
    (Vision); `robot` in abstract (Robots)``) and its other reasons, separated by ``; ``.
    Empty when there is nothing to say."""
    return "; ".join(str(line) for line in lines(hits, featured=featured, upvotes=upvotes))
