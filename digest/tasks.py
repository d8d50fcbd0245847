"""Celery tasks of the daily run. Tasks take ids, are safe to run twice, and call one function
that does the work (tasks stay thin)."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)

# --- Ingest (fetch → parse → store → match) --------------------------------------------------
# Beat runs ingest_enabled_sources every INGEST_INTERVAL seconds; it queues one ingest_source
# per enabled Source so a slow or broken feed delays nobody else. Running either twice is
# harmless: ingest is idempotent, and a conditional GET makes a repeat fetch cheap.


@shared_task(acks_late=True, ignore_result=True)
def ingest_source(source_id: int) -> dict:
    """Fetch, parse and store one Source, then run the match step."""
    from digest.ingest.run import ingest_source as run_ingest
    from digest.models import Source

    try:
        outcome = run_ingest(source_id)
    except Source.DoesNotExist:
        logger.info("source %s no longer exists; nothing to ingest", source_id)
        return {"source": source_id, "status": "missing"}
    return {"source": source_id, "status": str(outcome.status), "count": outcome.count}


@shared_task(acks_late=True, ignore_result=True)
def ingest_enabled_sources() -> int:
    """Queue one ``ingest_source`` task per enabled Source. Returns how many were queued."""
    from digest.models import Source

    source_ids = list(Source.objects.filter(enabled=True).values_list("pk", flat=True))
    for source_id in source_ids:
        ingest_source.delay(source_id)
    return len(source_ids)


# --- End of ingest -----------------------------------------------------------------------------
