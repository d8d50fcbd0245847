"""Papers like a given one, by meaning: what a paper's page shows under "Similar papers".

The paper's embedding (``subscriptions.embeddings``) is compared with those of the other visible
papers first seen in the last ``SIMILAR_DAYS`` days: one matrix-vector product of cosine
similarities in numpy, best first. Only papers clearly closer than the typical paper are shown
(one spread above it, measured against the shipped background as semantic interests are), so a
paper with no real neighbours gets no list rather than five unrelated papers. A paper without an
embedding (not through the match step yet) has no similar papers.

The ids found are cached for an hour: the page is public, and reading thousands of stored vectors
for every view of it would let anyone make the site work hard.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from django.core.cache import cache
from django.utils import timezone

from digest.papers.models import Paper
from subscriptions import semantic
from subscriptions.embeddings import from_bytes, stack

SIMILAR_DAYS = 30
SIMILAR_LIMIT = 5
MAX_CANDIDATES = 10_000  # the newest papers compared: 10 MB of vectors at most
CLOSER_THAN_TYPICAL_Z = 1.0
CACHE_SECONDS = 60 * 60


def similar_papers(
    paper: Paper, *, limit: int = SIMILAR_LIMIT, now: dt.datetime | None = None
) -> list[Paper]:
    """Up to ``limit`` other visible recent papers closest in meaning to ``paper``, closest
    first; none when ``paper`` has no embedding."""
    if paper.embedding is None:
        return []
    key = f"similar-papers:{paper.pk}:{limit}"
    ids = cache.get(key)
    if ids is None:
        ids = _closest_ids(from_bytes(paper.embedding), paper.pk, limit, now or timezone.now())
        cache.set(key, ids, CACHE_SECONDS)
    found = Paper.objects.visible().in_bulk(ids)
    return [found[paper_id] for paper_id in ids if paper_id in found]


def _closest_ids(vector: np.ndarray, paper_id: int, limit: int, now: dt.datetime) -> list[int]:
    if not vector.any():
        return []
    rows = list(
        Paper.objects.visible()
        .filter(created_at__gte=now - dt.timedelta(days=SIMILAR_DAYS), embedding__isnull=False)
        .exclude(pk=paper_id)
        .order_by("-created_at", "-id")
        .values_list("pk", "embedding")[:MAX_CANDIDATES]
    )
    if not rows:
        return []
    cosines = stack(embedding for _, embedding in rows) @ vector
    cut = semantic.thresholds(
        vector[None, :], semantic.shipped_background(), CLOSER_THAN_TYPICAL_Z
    )[0]
    order = np.argsort(-cosines, kind="stable")[:limit]
    return [rows[index][0] for index in order if cosines[index] >= cut]
