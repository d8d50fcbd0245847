"""Marking the words that made a paper match, safely, in HTML.

The matcher (``subscriptions.matcher.highlight``) knows its own query language best and is used
when it provides ``highlight``; this module is the fallback with the same signature, so the email
never depends on which branch landed first. Every piece of the input is escaped; only the
``<mark>`` tags we add are markup.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


def _term_pattern(term: str) -> str | None:
    term = term.strip().strip("\"'").strip()
    if not term:
        return None
    prefix = term.endswith("*")
    words = [w for w in re.split(r"[\s\-]+", term.rstrip("*")) if w]
    if not words:
        return None
    # "zero-shot" also marks "zero shot" and "zero–shot": the matcher treats them alike.
    body = r"[\s\-‐‑–]+".join(re.escape(word) for word in words)
    return rf"(?<!\w){body}" + (r"\w*" if prefix else r"(?!\w)")


@functools.lru_cache(maxsize=4096)
def _compiled(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    patterns = [p for p in (_term_pattern(t) for t in sorted(terms, key=len, reverse=True)) if p]
    if not patterns:
        return None
    return re.compile("|".join(patterns), re.IGNORECASE)


def highlight(text: str, hits: Iterable[Mapping[str, str]]) -> SafeString:
    """``text`` as HTML with every hit's term wrapped in ``<mark>``; everything else escaped."""
    terms = tuple(sorted({str(hit.get("term", "")) for hit in hits if hit.get("term")}))
    pattern = _compiled(terms) if terms else None
    if pattern is None:
        return mark_safe(escape(text))  # noqa: S308 - escaped just now
    parts: list[str] = []
    position = 0
    for match in pattern.finditer(text):
        parts.append(escape(text[position : match.start()]))
        parts.append(f"<mark>{escape(match.group(0))}</mark>")
        position = match.end()
    parts.append(escape(text[position:]))
    return mark_safe("".join(parts))  # noqa: S308 - every piece escaped above
