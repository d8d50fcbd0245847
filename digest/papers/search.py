"""Search papers the way curators type: words from the title, the abstract, an author's name,
or an arXiv id (``2601.01234``, ``arXiv:2601.01234v2``).

Authors are a JSON list. Rather than a database-specific JSON operator, the list is cast to text
and searched with ``icontains``, which works on SQLite and PostgreSQL alike. The two store JSON
text differently: PostgreSQL's jsonb prints ``José`` as is, SQLite keeps Python's ASCII escapes
(``Jos\\u00e9``); each term is therefore also searched in its escaped form.
"""

from __future__ import annotations

import json
import re

from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils.text import smart_split, unescape_string_literal

ARXIV_ID = re.compile(r"^(?:arxiv:)?(\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?$", re.I)
TEXT_FIELDS = ("title", "abstract", "key", "doi")


def search_terms(text: str) -> list[str]:
    """Split like Django's admin: words, with "quoted phrases" kept together."""
    terms = []
    for bit in smart_split(text):
        if bit[:1] in ('"', "'") and bit[-1:] == bit[:1] and len(bit) > 1:
            bit = unescape_string_literal(bit)
        if bit:
            terms.append(bit)
    return terms


def json_escaped(term: str) -> str:
    """``term`` as it appears inside a JSON string written with ASCII escapes."""
    return json.dumps(term)[1:-1]


def term_query(term: str) -> Q:
    query = Q()
    for name in TEXT_FIELDS:
        query |= Q(**{f"{name}__icontains": term})
    query |= Q(authors_text__icontains=term)
    escaped = json_escaped(term)
    if escaped != term:
        query |= Q(authors_text__icontains=escaped)
    if match := ARXIV_ID.match(term):
        query |= Q(arxiv_id__iexact=match.group(1))
    return query


def search_papers(queryset: QuerySet, text: str) -> QuerySet:
    """Papers matching every term of ``text`` in some field."""
    terms = search_terms(text)
    if not terms:
        return queryset
    queryset = queryset.alias(authors_text=Cast("authors", output_field=TextField()))
    for term in terms:
        queryset = queryset.filter(term_query(term))
    return queryset
