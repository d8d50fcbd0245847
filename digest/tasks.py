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
    from digest.papers.ingest.run import ingest_source as run_ingest
    from digest.papers.models import Source

    try:
        outcome = run_ingest(source_id)
    except Source.DoesNotExist:
        logger.info("source %s no longer exists; nothing to ingest", source_id)
        return {"source": source_id, "status": "missing"}
    return {"source": source_id, "status": str(outcome.status), "count": outcome.count}


@shared_task(acks_late=True, ignore_result=True)
def ingest_enabled_sources() -> int:
    """Queue one ``ingest_source`` task per enabled Source. Returns how many were queued."""
    from digest.papers.models import Source

    source_ids = list(Source.objects.filter(enabled=True).values_list("pk", flat=True))
    for source_id in source_ids:
        ingest_source.delay(source_id)
    return len(source_ids)


# --- End of ingest -----------------------------------------------------------------------------


# --- Digests and delivery (compose → deliver) --------------------------------------------------
# Beat runs enqueue_due_digests every DIGEST_SCHEDULE_INTERVAL seconds. It claims due users in
# chunks (build_digests), and wakes senders for any due outbox rows. Senders pull from the outbox
# (digest.digests.delivery.send_due) rather than getting one task per message, so a lost or duplicated
# task costs nothing: the outbox rows, not the queue, are the source of truth.

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
    from django.utils import timezone

    from digest.digests.delivery import due_deliveries
    from digest.digests.scheduler import claim_due_users, schedule_unscheduled

    now = timezone.now()
    schedule_unscheduled(now)
    chunks = 0
    for chunk in claim_due_users(now):
        build_digests.delay(chunk)
        chunks += 1
    wakeups = wake_senders(due_deliveries(now).count())
    return {"chunks": chunks, "wakeups": wakeups}


@shared_task(acks_late=True, ignore_result=True)
def build_digests(user_ids: list[int]) -> dict:
    from digest.digests.scheduler import build_for_users

    report = build_for_users(user_ids)
    wake_senders(len(report.delivery_ids))
    return {"built": len(report.built), "skipped": report.skipped}


@shared_task(acks_late=True, ignore_result=True)
def send_due_deliveries() -> dict:
    from django.conf import settings

    from digest.digests.delivery import send_due

    report = send_due(max_seconds=settings.DELIVERY_TASK_SECONDS)
    if report.retry_at is not None:
        send_due_deliveries.apply_async(eta=report.retry_at)
    if report.out_of_time:
        # Stopped by the time budget with work left: hand over to a fresh task.
        send_due_deliveries.delay()
    return {"sent": report.sent, "retrying": report.retrying, "failed": report.failed}


@shared_task(acks_late=True, ignore_result=True)
def send_delivery(delivery_id: int) -> dict:
    """Send one delivery now if it is due (the admin's resend, a released hold)."""
    from digest.digests import delivery

    report = delivery.send_delivery(delivery_id)
    if report.retry_at is not None:
        send_due_deliveries.apply_async(eta=report.retry_at)
    return {"sent": report.sent, "retrying": report.retrying, "failed": report.failed}


# --- end of digests and delivery ---------------------------------------------------------------
