"""The match step (first version): keyword subscriptions against new papers.

A subscription's query is a list of words; a paper matches when every word occurs in its title
or abstract as a whole word, ignoring case (``zero-shot`` matches "Zero-shot TTS", not
"zero-shots"). Each match is a ``Match`` row whose ``hits`` say which word matched in which
field. The matcher branch replaces the internals with the query language; the entry point
``match_new_papers()`` keeps its name and meaning.
"""

from __future__ import annotations

import re

from django.db import transaction
from django.utils import timezone

from digest.models import Paper
from subscriptions.models import Match, Subscription

BATCH = 500


def keyword_terms(query: str) -> list[str]:
    return [word for word in re.split(r"[\s,]+", query.strip()) if word]


def keyword_hits(terms: list[str], paper: Paper) -> list[dict[str, str]] | None:
    """The hits of ``paper`` for ``terms``, or ``None`` when some term does not occur."""
    hits: list[dict[str, str]] = []
    for term in terms:
        pattern = re.compile(rf"(?<!\w){re.escape(term)}(?!\w)", re.IGNORECASE)
        fields = [name for name in ("title", "abstract") if pattern.search(getattr(paper, name))]
        if not fields:
            return None
        hits.extend({"term": term, "field": name} for name in fields)
    return hits


def match_new_papers() -> int:
    """Match every paper with ``matched_at`` unset against the enabled subscriptions, write
    the ``Match`` rows and set ``matched_at``. Safe to run twice or in parallel: existing
    matches are kept, not duplicated. Returns the number of papers processed."""
    subscriptions = [
        (subscription, keyword_terms(subscription.query))
        for subscription in Subscription.objects.filter(enabled=True)
    ]
    processed = 0
    while True:
        papers = list(Paper.objects.filter(matched_at__isnull=True).order_by("pk")[:BATCH])
        if not papers:
            return processed
        matches = []
        for paper in papers:
            for subscription, terms in subscriptions:
                hits = keyword_hits(terms, paper) if terms else None
                if hits:
                    matches.append(
                        Match(
                            subscription=subscription,
                            paper=paper,
                            owner_id=subscription.owner_id,
                            hits=hits,
                            score=float(len(hits)),
                        )
                    )
        with transaction.atomic():
            Match.objects.bulk_create(matches, ignore_conflicts=True)
            Paper.objects.filter(pk__in=[paper.pk for paper in papers]).update(
                matched_at=timezone.now()
            )
        processed += len(papers)
