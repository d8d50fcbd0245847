"""The match step: new papers against every enabled subscription, by query and by meaning, and
one subscription again when it is saved.

``match_new_papers()`` matches the papers with ``matched_at`` unset against the enabled
subscriptions, ``MATCH_BATCH_SUBSCRIPTIONS`` at a time, two ways:

* **by query** — the percolator matches each subscription's boolean query (its query within its
  categories, or its categories alone: ``Subscription.boolean_query()``, stored compiled) and a
  ``Match`` row gets the hits and the keyword score (``ranking.score``);
* **by meaning** — a subscription with an interest (free text, example papers) also matches the
  papers close enough to it and in its categories (``subscriptions.semantic_step``): rows with no
  hits and a score of 0.

A paper matched both ways is one row (unique per subscription × paper) with its hits and score.
Every row carries the paper's closeness in meaning as ``similarity`` (z): to the subscription's
interest, or for a boolean-only subscription to its query's words (ranking only; why, and what
it costs, in ``subscriptions.semantic_step``). ``Match.score`` stays the keyword score; compose
combines it with the similarity and the reader's model (``subscriptions.hybrid``). The daily run
embeds the papers before this step (``digest.pipeline.match``); a paper without an embedding is
matched by queries only, and logged.

Idempotent: rows that exist already are left alone. Each paper is analysed once and the analysis
stored for every other process (``subscriptions.analyses``); analyses of papers older than any
window reads are dropped at the end. The subscriptions are read and matched a chunk at a time
over the batch's papers, analysed once for all the chunks, so the step's memory does not grow
with the number of subscribers; the papers are marked matched in the transaction that wrote
every chunk's rows.

``rematch_subscription(subscription)`` recomputes one subscription's matches, both ways, over
the recent papers not yet delivered to its owner (``subscriptions.services`` calls it on every
save). Papers without an embedding are matched by query only there too, not embedded: the
re-match runs in the request that saved the subscription, and such a paper is one the match step
has not reached yet — it embeds it and matches it against the subscription as saved.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from digest.papers.models import Paper
from subscriptions import semantic_step
from subscriptions.analyses import TEXT_FIELDS, docs_of, forget_old_analyses
from subscriptions.compiled import COMPILED_VERSION, compile_text, loads, public_hits
from subscriptions.embeddings import embed, to_bytes
from subscriptions.models import Match, Subscription
from subscriptions.percolator import AnalysedPapers, Percolator, gc_paused
from subscriptions.query import QueryError
from subscriptions.ranking import IdfOf, score
from subscriptions.recent import recent_papers

logger = logging.getLogger(__name__)

PAPER_FIELDS = (*TEXT_FIELDS, "upvotes", "embedding")
WRITE_BATCH = 1000  # Match rows per bulk_create


# An enabled subscription as the match step reads it: (id, owner id, its boolean query compiled
# — "" when it is matched by meaning only —, whether it has an interest vector, and its
# categories for the meaning side — empty when it has no interest: its query has them
# compiled). A plain tuple: Python's collector stops tracking tuples of plain values, not named
# tuples, and reading a million of those took up to twice as long (4.4 s against 2.5 s).
Enabled = tuple[int, int, str, bool, Sequence[str]]


@dataclass(frozen=True)
class Batch:
    """A batch of new papers as both sides of the match read it."""

    papers: list[Paper]
    analysed: AnalysedPapers  # for the percolator and the categories
    vectors: semantic_step.PaperVectors  # for the meaning side
    idf: IdfOf  # word rarity over the recent papers, for the keyword score
    query_words: semantic_step.QueryWords  # boolean-only subscriptions' words, kept across batches
    # (subscription id, paper id) of the batch's papers given as examples: the reader has them,
    # so they are not matched back by meaning (as ``recommend`` leaves them out).
    examples: set[tuple[int, int]]


def match_new_papers(*, now: dt.datetime | None = None) -> int:
    """Match every visible paper whose ``matched_at`` is unset against the enabled subscriptions,
    in batches of ``MATCH_BATCH_PAPERS``: write a ``Match`` row per (subscription, paper) matched
    by query or by meaning, and set ``matched_at``. Safe to run twice or concurrently: rows that
    exist already are left alone. Hidden papers wait (unhiding one gets it matched). Returns the
    number of papers processed."""
    processed = 0
    recent = query_words = None
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
        if recent is None:  # for the idf of each term and the typical paper, on the recent papers
            recent = recent_papers(settings.MATCH_RECENT_DAYS, now=now)
            recent.count_every_key()
            background = semantic_step.recent_background(
                settings.MATCH_RECENT_DAYS, now or timezone.now()
            )
            query_words = semantic_step.QueryWords(
                background, kept=settings.MATCH_BATCH_SUBSCRIPTIONS
            )
        vectors = semantic_step.PaperVectors.of([paper.embedding for paper in papers], background)
        if vectors.missing():
            logger.warning(
                "%d of %d papers have no embedding: they are matched by queries only",
                vectors.missing(),
                len(papers),
            )
        examples = Subscription.examples.through.objects.filter(
            paper_id__in=[paper.pk for paper in papers]
        ).values_list("subscription_id", "paper_id")
        batch = Batch(papers, AnalysedPapers(docs), vectors, recent.idf, query_words, set(examples))
        _match_batch(batch, now or timezone.now())
        processed += len(papers)


def _match_batch(batch: Batch, now: dt.datetime) -> None:
    queries = found = 0
    # One transaction for all the chunks: the papers are marked matched with all their rows
    # written, or not at all.
    with transaction.atomic():
        for chunk in enabled_subscription_chunks(settings.MATCH_BATCH_SUBSCRIPTIONS):
            chunk_queries, chunk_found = _percolate_chunk(batch, chunk)
            queries += chunk_queries
            found += chunk_found
        Paper.objects.filter(pk__in=[paper.pk for paper in batch.papers]).update(matched_at=now)
    logger.info(
        "matched %d papers against %d distinct queries and the interests: %d matches",
        len(batch.papers),
        queries,
        found,
    )


def _percolate_chunk(batch: Batch, chunk: list[Enabled]) -> tuple[int, int]:
    """Match one chunk of subscriptions against the batch and write its rows: its queries
    through a percolator (only one chunk's index is held at a time), then its interests, one
    matrix product for the chunk. Returns the number of distinct queries and of matches."""
    meaning = {row[0]: row for row in chunk if row[3]}  # by id, those with an interest
    interests = semantic_step.Interests(semantic_step.read_interests(list(meaning)), batch.vectors)
    rows: list[Match] = []
    found = 0
    matched_by_query: set[tuple[int, int]] = set()  # (subscription, paper position), interests
    with gc_paused():
        percolator = Percolator(batch.analysed)
        for subscription_id, owner_id, compiled, by_meaning, _ in chunk:
            if compiled:
                # The last item: the query whose words rank a boolean-only subscription's papers.
                words = None if by_meaning else compiled
                percolator.add(compiled, (subscription_id, owner_id, words))
        for position, payloads, hits in percolator.matches():
            paper = batch.papers[position]
            shown, value = public_hits(hits), score(hits, batch.idf, paper.upvotes)
            # Payloads share one compiled query: its words' z is worked out once per paper.
            words = next((words for _, _, words in payloads if words is not None), None)
            words_z = batch.query_words.z(words, batch.vectors.vector(position)) if words else None
            for subscription_id, owner_id, words in payloads:
                if words is None:
                    similarity = interests.z(subscription_id, position)
                    matched_by_query.add((subscription_id, position))
                else:
                    similarity = words_z
                rows.append(
                    Match(
                        subscription_id=subscription_id,
                        paper_id=paper.pk,
                        owner_id=owner_id,
                        hits=shown,
                        score=value,
                        similarity=similarity,
                    )
                )
            if len(rows) >= WRITE_BATCH:
                found += _write(rows)
                rows = []
        for subscription_id, position, z in interests.passing():
            _, owner_id, _, _, categories = meaning[subscription_id]
            paper = batch.papers[position]
            if (
                (subscription_id, position) in matched_by_query
                or (subscription_id, paper.pk) in batch.examples
                or not semantic_step.in_categories(categories, batch.analysed.docs[position])
            ):
                continue
            rows.append(
                Match(
                    subscription_id=subscription_id,
                    paper_id=paper.pk,
                    owner_id=owner_id,
                    hits=[],
                    score=0,
                    similarity=z,
                )
            )
            if len(rows) >= WRITE_BATCH:
                found += _write(rows)
                rows = []
        found += _write(rows)
    return len(percolator), found


def _write(rows: list[Match]) -> int:
    Match.objects.bulk_create(rows, batch_size=WRITE_BATCH, ignore_conflicts=True)
    return len(rows)


def enabled_subscription_chunks(size: int) -> Iterator[list[Enabled]]:
    """Every enabled subscription that can match something, ``size`` at a time in id order,
    each chunk read by its own query (no cursor held open across the caller's writes).
    A subscription saved without going through ``save()`` (bulk-created) or by another version
    is compiled here — its ``boolean_query()``, the query within its categories — and stored.
    One whose query does not parse is logged, and matched by meaning only if it has an
    interest; one matched by meaning only has no boolean query (nothing to log)."""
    after = 0
    size = max(size, 1)
    # (query, categories, has an interest) → compiled JSON ("" meaning only, None invalid), kept
    # across chunks: bulk-created subscriptions repeat the same few thousand queries. Emptied
    # when it holds a chunk's worth.
    compiled_texts: dict[tuple, str | None] = {}
    has_vector = ExpressionWrapper(Q(interest_vector__isnull=False), output_field=BooleanField())
    # The categories as JSON text, decoded only where they are needed: decoding a million of
    # them took four times as long as reading everything else.
    categories = Cast("categories", output_field=TextField())
    while True:
        rows = list(
            Subscription.objects.filter(enabled=True, id__gt=after)
            .order_by("id")
            .annotate(has_vector=has_vector, categories_json=categories)
            .values_list(
                "id", "owner_id", "compiled", "query", "categories_json", "interest", "has_vector"
            )[:size]
        )
        if not rows:
            return
        after = rows[-1][0]
        if len(compiled_texts) > size:
            compiled_texts.clear()
        chunk = _compiled_rows(rows, compiled_texts)
        if chunk:  # not when none can match: an empty index is a pass for nothing
            yield chunk


def _compiled_rows(rows: list[tuple], compiled_texts: dict[tuple, str | None]) -> list[Enabled]:
    """The rows as ``Enabled`` tuples, compiling (and storing) the boolean query of those whose
    stored one is missing or of another version."""
    outdated: list[Subscription] = []
    prefix = f"[{COMPILED_VERSION},"
    found = []
    embedded = _embed_interests({row[0]: row[5] for row in rows if row[5] and not row[6]})
    if embedded:
        rows = [(*row[:6], row[6] or row[0] in embedded) for row in rows]
    for subscription_id, owner_id, compiled, query, categories, interest, has_vector in rows:
        if not compiled.startswith(prefix):
            has_interest = has_vector or bool(interest.strip())
            key = (query, categories, has_interest)
            if key not in compiled_texts:
                compiled_texts[key] = _compile(
                    subscription_id, query, json.loads(categories), has_interest
                )
            current = compiled_texts[key]
            if current is None:  # invalid, and logged
                if not has_vector:
                    continue
                current = ""
            if current != compiled:
                outdated.append(Subscription(id=subscription_id, compiled=current))
            compiled = current
        if compiled or has_vector:
            meaning_categories = json.loads(categories) if has_vector else ()
            found.append((subscription_id, owner_id, compiled, has_vector, meaning_categories))
    Subscription.objects.bulk_update(outdated, ["compiled"], batch_size=500)
    return found


def _embed_interests(interests: dict[int, str]) -> set[int]:
    """Embed and store the interests (by subscription id) that have words but no vector yet —
    subscriptions saved without ``subscriptions.services`` (bulk-created) — so they are matched
    by meaning like the others; returns the ids stored. Words the model knows none of give no
    vector (similar to nothing), as when the form saves them."""
    interests = {key: text for key, text in interests.items() if text.strip()}
    if not interests:
        return set()
    vectors = embed(list(interests.values()))
    stored = [
        Subscription(id=subscription_id, interest_vector=to_bytes(vector))
        for subscription_id, vector in zip(interests, vectors, strict=True)
        if vector.any()
    ]
    Subscription.objects.bulk_update(stored, ["interest_vector"], batch_size=500)
    return {subscription.id for subscription in stored}


def _compile(
    subscription_id: int, query: str, categories: list[str], has_interest: bool
) -> str | None:
    """The compiled boolean query of a subscription with these fields: "" when it has none
    (matched by meaning only), ``None`` (logged) when its query does not parse."""
    # A stand-in for the stored vector: boolean_query() asks only whether there is an interest.
    interest = "interest" if has_interest else ""
    boolean = Subscription(query=query, categories=categories, interest=interest).boolean_query()
    if not boolean:
        return ""
    try:
        return compile_text(boolean)
    except QueryError as error:
        logger.warning("subscription %s has an invalid query: %s", subscription_id, error)
        return None


def rematch_subscription(subscription: Subscription, *, now: dt.datetime | None = None) -> int:
    """Recompute ``subscription``'s matches, by query and by meaning, over the papers of the
    last ``MATCH_REMATCH_DAYS`` days that its owner has not been sent yet (sent ones stay as
    they were). Called when a subscription is saved (``subscriptions.services``). Returns the
    number of matches."""
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
        compiled = _compiled_query(subscription)
        interest = semantic_step.interest_of(subscription)
        if not compiled and interest is None:  # an invalid query and nothing else
            return 0
        sent_ids = set(sent.values_list("pk", flat=True))
        recent = recent_papers(
            max(settings.MATCH_REMATCH_DAYS, settings.MATCH_RECENT_DAYS), now=now
        )
        window = [
            (paper_id, embedding)
            for paper_id, embedding in Paper.objects.visible()
            .filter(created_at__gte=since, embedding__isnull=False)
            .values_list("pk", "embedding")
            if paper_id not in sent_ids
        ]
        background = semantic_step.recent_background(settings.MATCH_RECENT_DAYS, now)
        vectors = semantic_step.PaperVectors.of([embedding for _, embedding in window], background)
        position_of = {paper_id: position for position, (paper_id, _) in enumerate(window)}
        interests = semantic_step.Interests([interest] if interest else [], vectors)
        query_words = semantic_step.QueryWords(background, kept=1)
        rows: dict[int, Match] = {}
        node = loads(compiled) if compiled else None
        for paper, hits in recent.search(node, since=since) if node is not None else ():
            if paper.id in sent_ids:
                continue
            position = position_of.get(paper.id, -1)
            if interest is not None:
                similarity = interests.z(subscription.pk, position)
            else:
                similarity = query_words.z(compiled, vectors.vector(position))
            rows[paper.id] = Match(
                subscription=subscription,
                paper_id=paper.id,
                owner_id=owner_id,
                hits=public_hits(hits),
                score=score(hits, recent.idf, paper.upvotes),
                similarity=similarity,
            )
        examples = set(subscription.examples.values_list("pk", flat=True))
        close = {
            window[position][0]: z
            for _, position, z in interests.passing()
            if window[position][0] not in rows and window[position][0] not in examples
        }
        for paper_id, paper in recent.read(list(close)).items():
            if semantic_step.in_categories(subscription.categories, paper.doc):
                rows[paper_id] = Match(
                    subscription=subscription,
                    paper_id=paper_id,
                    owner_id=owner_id,
                    hits=[],
                    score=0,
                    similarity=close[paper_id],
                )
        Match.objects.bulk_create(rows.values(), batch_size=WRITE_BATCH, ignore_conflicts=True)
    return len(rows)


def _compiled_query(subscription: Subscription) -> str:
    """The subscription's boolean query, compiled: as stored, else compiled now; "" when it has
    none or it does not parse."""
    if loads(subscription.compiled or "") is not None:
        return subscription.compiled
    boolean = subscription.boolean_query()
    try:
        return compile_text(boolean) if boolean else ""
    except QueryError:
        return ""
