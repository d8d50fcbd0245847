"""The match step: new papers against every enabled subscription, and one subscription again
when it is saved.

``match_new_papers()`` percolates the papers with ``matched_at`` unset against the enabled
subscriptions and writes a ``Match`` row per (subscription, paper) with its hits and score
(idempotent: rows that exist already are left alone). Each paper is analysed once and the
analysis stored for every other process (``subscriptions.analyses``); analyses of papers older
than any window reads are dropped at the end. The subscriptions are indexed
``MATCH_BATCH_SUBSCRIPTIONS`` at a time over the batch's papers, analysed once for all the
chunks, so the step's memory does not grow with the number of subscribers; the papers are marked
matched in the transaction that wrote every chunk's rows.

``rematch_subscription(subscription)`` recomputes one subscription's matches over the recent
papers not yet delivered to its owner (``subscriptions.services`` calls it on every save).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from digest.papers.models import Paper
from subscriptions.analyses import TEXT_FIELDS, docs_of, forget_old_analyses
from subscriptions.compiled import (
    COMPILED_VERSION,
    compile_query,
    compile_text,
    loads,
    public_hits,
)
from subscriptions.models import Match, Subscription
from subscriptions.percolator import AnalysedPapers, Percolator, gc_paused
from subscriptions.query import QueryError, parse
from subscriptions.ranking import IdfOf, score
from subscriptions.recent import RecentPapers, recent_papers

logger = logging.getLogger(__name__)

PAPER_FIELDS = (*TEXT_FIELDS, "upvotes")
WRITE_BATCH = 1000  # Match rows per bulk_create


def match_new_papers(*, now: dt.datetime | None = None) -> int:
    """Percolate every visible paper whose ``matched_at`` is unset against the enabled
    subscriptions, in batches of ``MATCH_BATCH_PAPERS``: write a ``Match`` row per (subscription,
    paper) with its hits and score, and set ``matched_at``. Safe to run twice or concurrently:
    rows that exist already are left alone. Hidden papers wait (unhiding one gets it matched).
    Returns the number of papers processed."""
    processed = 0
    recent = None
    while True:
        papers = list(
            Paper.objects.filter(matched_at__isnull=True, hidden=False)
            .order_by("pk")
            .only(*PAPER_FIELDS)[: settings.MATCH_BATCH_PAPERS]
        )
        if not papers:
            forget_old_analyses(now or timezone.now())
            return processed
        docs = docs_of(papers)
        if recent is None:  # for the idf of each term, measured on the recent papers
            recent = recent_papers(settings.MATCH_RECENT_DAYS, now=now)
            recent.count_every_key()
        _match_batch(papers, AnalysedPapers(docs), recent, now or timezone.now())
        processed += len(papers)


def _match_batch(
    papers: list[Paper], analysed: AnalysedPapers, recent: RecentPapers, now: dt.datetime
) -> None:
    queries = found = 0
    # One transaction for all the chunks: the papers are marked matched with all their rows
    # written, or not at all.
    with transaction.atomic():
        for chunk in enabled_subscription_chunks(settings.MATCH_BATCH_SUBSCRIPTIONS):
            chunk_queries, chunk_found = _percolate_chunk(analysed, chunk, papers, recent.idf)
            queries += chunk_queries
            found += chunk_found
        Paper.objects.filter(pk__in=[paper.pk for paper in papers]).update(matched_at=now)
    logger.info(
        "matched %d papers against %d distinct queries: %d matches", len(papers), queries, found
    )


def _percolate_chunk(
    analysed: AnalysedPapers,
    chunk: list[tuple[int, int, str]],
    papers: list[Paper],
    idf_of: IdfOf,
) -> tuple[int, int]:
    """Index one chunk of subscriptions, write its matches and let the index go: only one
    chunk's index is held at a time. Returns the number of distinct queries and of matches."""
    rows: list[Match] = []
    found = 0
    with gc_paused():
        percolator = Percolator(analysed)
        for subscription_id, owner_id, compiled in chunk:
            percolator.add(compiled, (subscription_id, owner_id))
        for doc_index, payloads, hits in percolator.matches():
            paper = papers[doc_index]
            shown, value = public_hits(hits), score(hits, idf_of, paper.upvotes)
            rows += [
                Match(
                    subscription_id=subscription_id,
                    paper_id=paper.pk,
                    owner_id=owner_id,
                    hits=shown,
                    score=value,
                )
                for subscription_id, owner_id in payloads
            ]
            if len(rows) >= WRITE_BATCH:
                found += _write(rows)
                rows = []
        found += _write(rows)
    return len(percolator), found


def _write(rows: list[Match]) -> int:
    Match.objects.bulk_create(rows, batch_size=WRITE_BATCH, ignore_conflicts=True)
    return len(rows)


def enabled_subscription_chunks(size: int) -> Iterator[list[tuple[int, int, str]]]:
    """(id, owner id, compiled query) of every enabled subscription, ``size`` at a time in id
    order, each chunk read by its own query (no cursor held open across the caller's writes).
    A subscription saved without going through ``save()`` (bulk-created) or by another version
    is compiled here and stored; one whose query does not parse is skipped and logged."""
    after = 0
    size = max(size, 1)
    # Query text → compiled JSON (or None, invalid), kept across chunks: bulk-created
    # subscriptions repeat the same few thousand queries. Emptied when it holds a chunk's worth.
    compiled_texts: dict[str, str | None] = {}
    while True:
        rows = list(
            Subscription.objects.filter(enabled=True, id__gt=after)
            .order_by("id")
            .values_list("id", "owner_id", "compiled", "query")[:size]
        )
        if not rows:
            return
        after = rows[-1][0]
        if len(compiled_texts) > size:
            compiled_texts.clear()
        chunk = _compiled_rows(rows, compiled_texts)
        if chunk:  # not when all its queries were invalid: an empty index is a pass for nothing
            yield chunk


def _compiled_rows(
    rows: list[tuple[int, int, str, str]], compiled_texts: dict[str, str | None]
) -> list[tuple[int, int, str]]:
    """The rows with their compiled query, compiling (and storing) those that lack it."""
    outdated: list[Subscription] = []
    prefix = f"[{COMPILED_VERSION},"
    found = []
    for subscription_id, owner_id, compiled, query in rows:
        if not compiled.startswith(prefix):
            if query not in compiled_texts:
                try:
                    compiled_texts[query] = compile_text(query)
                except QueryError as error:
                    compiled_texts[query] = None
                    logger.warning(
                        "subscription %s has an invalid query: %s", subscription_id, error
                    )
            compiled = compiled_texts[query]
            if compiled is None:
                continue
            outdated.append(Subscription(id=subscription_id, compiled=compiled))
        found.append((subscription_id, owner_id, compiled))
    Subscription.objects.bulk_update(outdated, ["compiled"], batch_size=500)
    return found


def rematch_subscription(subscription: Subscription, *, now: dt.datetime | None = None) -> int:
    """Recompute ``subscription``'s matches over the papers of the last ``MATCH_REMATCH_DAYS``
    days that its owner has not been sent yet (sent ones stay as they were). Called when a
    subscription is saved (``subscriptions.services``). Returns the number of matches."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=settings.MATCH_REMATCH_DAYS)
    owner_id = subscription.owner_id
    # Papers in one of the owner's digests: what they were sent is kept as it was sent. (Found
    # through the digest items' relation to the paper, so the subscriptions layer does not
    # import the digests above it.)
    sent = Paper.objects.filter(created_at__gte=since, digest_items__user_id=owner_id)
    with transaction.atomic():
        Match.objects.filter(subscription=subscription, paper__created_at__gte=since).exclude(
            paper__in=sent
        ).delete()
        if not subscription.enabled or subscription.pk is None:
            return 0
        node = loads(subscription.compiled) if subscription.compiled else None
        if node is None:
            try:
                node = compile_query(parse(subscription.query))
            except QueryError:
                return 0
        recent = recent_papers(
            max(settings.MATCH_REMATCH_DAYS, settings.MATCH_RECENT_DAYS), now=now
        )
        found = recent.search(node, since=since)
        sent_ids = set(sent.values_list("pk", flat=True))
        rows = [
            Match(
                subscription=subscription,
                paper_id=paper.id,
                owner_id=owner_id,
                hits=public_hits(hits),
                score=score(hits, recent.idf, paper.upvotes),
            )
            for paper, hits in found
            if paper.id not in sent_ids
        ]
        Match.objects.bulk_create(rows, batch_size=WRITE_BATCH, ignore_conflicts=True)
    return len(rows)
