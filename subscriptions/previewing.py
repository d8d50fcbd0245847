"""Former home of the preview, kept only so that the views (``subscriptions/views.py``,
``accounts/views.py``, ``accounts/services.py``) import unchanged until the web layer imports
the homes below; delete it then. The preview is ``subscriptions.preview.run_preview``;
``compose_query`` is part of the query language (``subscriptions.query``)."""

from subscriptions.preview import PreviewResult, run_preview
from subscriptions.query import compose_query

__all__ = ["PreviewResult", "compose_query", "run_preview"]
