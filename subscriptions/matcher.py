"""Former home of the matcher, kept only so that the layers above import unchanged until they
import the homes below; delete it then.

- ``match_new_papers``, ``rematch_subscription``: ``subscriptions.match_step``
- ``rank_key`` (the one ranking rule, for digests too): ``subscriptions.ranking``
- ``highlight``: ``subscriptions.highlight``
- ``preview``: ``subscriptions.preview.run_preview`` (``preview`` below is the old signature,
  for ``subscriptions.query_views.preview_json``).
"""

from __future__ import annotations

from subscriptions.highlight import highlight
from subscriptions.match_step import match_new_papers, rematch_subscription
from subscriptions.preview import PREVIEW_DAYS, PreviewHit, run_preview
from subscriptions.query import parse
from subscriptions.ranking import rank_key

__all__ = ["highlight", "match_new_papers", "preview", "rank_key", "rematch_subscription"]


def preview(
    query_text: str, days: int = PREVIEW_DAYS, limit: int | None = None
) -> list[PreviewHit]:
    """Every hit of ``run_preview`` (or ``limit`` of them); raises ``QueryError`` for an invalid
    query, and for an empty one as the parser does."""
    result = run_preview(query_text, days=days, limit=limit)
    if result.empty_query:
        parse(query_text)  # raises the parser's QueryError for an empty query
    if result.error is not None:
        raise result.error
    return result.hits
