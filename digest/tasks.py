"""Celery tasks of the daily run (``digest.pipeline``). Tasks take ids, are safe to run twice,
and call one pipeline step each; what to do next is queued here, not in the steps."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from digest import pipeline
from digest.celery import app
from digest.papers.models import Source

logger = logging.getLogger(__name__)

# Beat reads the schedule after importing the task modules (this one included).
app.conf.beat_schedule = pipeline.BEAT_SCHEDULE

# --- Ingest (fetch → parse → store → match) --------------------------------------------------
# Beat runs ingest_enabled_sources every INGEST_INTERVAL seconds; it queues one ingest_source
# per enabled Source so a slow or broken feed delays nobody else. Running either twice is
# harmless: ingest is idempotent, and a conditional GET makes a repeat fetch cheap.


@shared_task(acks_late=True, ignore_result=True)
def ingest_source(source_id: int) -> dict:
    """Fetch, parse and store one Source, then run the match step."""
    try:
        outcome = pipeline.ingest(source_id)
    except Source.DoesNotExist:
        logger.info("source %s no longer exists; nothing to ingest", source_id)
        return {"source": source_id, "status": "missing"}
    return {"source": source_id, "status": str(outcome.status), "count": outcome.count}


@shared_task(acks_late=True, ignore_result=True)
def ingest_enabled_sources() -> int:
    """Queue one ``ingest_source`` task per enabled Source. Returns how many were queued."""
    source_ids = pipeline.enabled_sources()
    for source_id in source_ids:
        ingest_source.delay(source_id)
    return len(source_ids)


# --- Compose → deliver ---------------------------------------------------------------------------
# Beat runs enqueue_due_digests every DIGEST_SCHEDULE_INTERVAL seconds. It claims due users in
# chunks (build_digests), and wakes senders for any due outbox rows. Senders pull from the
# outbox (``send_due``) rather than getting one task per message, so a lost or duplicated task
# costs nothing: the outbox rows, not the queue, are the source of truth.

# How many send_due_deliveries wake-ups to queue per this many due deliveries, and at most.
DELIVERIES_PER_WAKEUP = 1000
MAX_WAKEUPS = 8


def wake_senders(due_count: int) -> int:
    """Queue enough sender wake-ups for ``due_count`` due deliveries (0 queues none)."""
    if due_count <= 0:
        return 0
    wakeups = min(MAX_WAKEUPS, -(-due_count // DELIVERIES_PER_WAKEUP))
    for _ in range(wakeups):
        send_due_deliveries.delay()
    return wakeups


@shared_task(acks_late=True, ignore_result=True)
def enqueue_due_digests() -> dict:
    chunks = 0
    for chunk in pipeline.claim_due():
        build_digests.delay(chunk)
        chunks += 1
    wakeups = wake_senders(pipeline.due_delivery_count())
    return {"chunks": chunks, "wakeups": wakeups}


@shared_task(acks_late=True, ignore_result=True)
def build_digests(user_ids: list[int]) -> dict:
    report = pipeline.compose(user_ids)
    wake_senders(len(report.delivery_ids))
    return {"built": len(report.built), "skipped": report.skipped}


@shared_task(acks_late=True, ignore_result=True)
def send_due_deliveries() -> dict:
    report = pipeline.deliver_due(max_seconds=settings.DELIVERY_TASK_SECONDS)
    if report.retry_at is not None:
        send_due_deliveries.apply_async(eta=report.retry_at)
    if report.out_of_time:
        # Stopped by the time budget with work left: hand over to a fresh task.
        send_due_deliveries.delay()
    return {"sent": report.sent, "retrying": report.retrying, "failed": report.failed}


@shared_task(acks_late=True, ignore_result=True)
def send_delivery(delivery_id: int) -> dict:
    """Send one delivery now if it is due (the admin's resend, a released hold)."""
    report = pipeline.deliver(delivery_id)
    if report.retry_at is not None:
        send_due_deliveries.apply_async(eta=report.retry_at)
    return {"sent": report.sent, "retrying": report.retrying, "failed": report.failed}
