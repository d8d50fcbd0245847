"""Preview for people writing a query: what it would have matched over the last week.

Wraps the matcher's ``preview()`` for the web pages: a query error becomes a message with the
column where it went wrong instead of an exception; the number shown is capped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from subscriptions.arxiv_categories import CATEGORIES

PREVIEW_DAYS = 7
PREVIEW_SHOWN = 20


@dataclass
class PreviewResult:
    query: str
    hits: list = field(default_factory=list)  # matcher PreviewHit: .paper, .hits, .score
    total: int = 0
    error: str = ""
    days: int = PREVIEW_DAYS

    @property
    def empty_query(self) -> bool:
        return not self.query.strip()


def compose_query(text: str, categories: list[str] | tuple[str, ...] = ()) -> str:
    """The subscription query for a text query restricted to arXiv categories (either may be
    empty): ``(zero-shot) AND (cat:cs.CV OR cat:cs.LG)``."""
    text = " ".join(text.split())
    known = [c for c in dict.fromkeys(categories) if c in CATEGORIES]
    in_categories = " OR ".join(f"cat:{code}" for code in known)
    if text and known:
        return f"({text}) AND ({in_categories})"
    return text or in_categories


def run_preview(query_text: str, *, days: int = PREVIEW_DAYS, shown: int = PREVIEW_SHOWN):
    from subscriptions.matcher import preview
    from subscriptions.query import QueryError

    result = PreviewResult(query=query_text, days=days)
    if result.empty_query:
        return result
    try:
        hits = list(preview(query_text, days=days))
    except QueryError as error:
        result.error = str(error)
        return result
    result.total = len(hits)
    result.hits = hits[:shown]
    return result
