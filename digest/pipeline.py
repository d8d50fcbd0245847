"""The daily run, step by step: ingest → match → compose → deliver.

    beat ─► ingest ──► match ──► compose ──► deliver ──► inbox
            feeds →    new papers     per due user:    outbox rows claimed
            Paper      × subscriptions Digest + items  by a worker, sent
            rows       → Match rows   + Delivery       over SMTP once

Each step is a plain function with a clear input and output, safe to run twice. Celery tasks
(``digest.tasks``), management commands and the admin's buttons call these; the work itself
lives in the apps below (``digest.papers.ingest``, ``subscriptions``, ``digest.digests``).
``BEAT_SCHEDULE`` is when beat starts the run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.conf import settings
from django.utils import timezone

from digest.digests.delivery import DeliveryReport, due_deliveries, send_delivery, send_due
from digest.digests.scheduler import (
    BuildReport,
    build_for_users,
    claim_due_users,
    schedule_unscheduled,
)
from digest.papers.ingest.run import SourceOutcome, fetch_and_ingest
from digest.papers.models import Source
from subscriptions.embeddings import embed_new_papers
from subscriptions.matcher import match_new_papers

# Beat starts the two ends of the run; everything else follows from them. Task names, not
# functions: the schedule is read by beat, which imports the tasks itself.
BEAT_SCHEDULE = {
    "ingest-enabled-sources": {
        "task": "digest.tasks.ingest_enabled_sources",
        "schedule": settings.INGEST_INTERVAL,
    },
    "enqueue-due-digests": {
        "task": "digest.tasks.enqueue_due_digests",
        "schedule": settings.DIGEST_SCHEDULE_INTERVAL,
    },
}


# --- 1. Ingest, then 2. match ------------------------------------------------------------------


def enabled_sources() -> list[int]:
    """The ids of the sources beat fetches, one task each, so a slow feed delays nobody."""
    return list(Source.objects.filter(enabled=True).values_list("pk", flat=True))


def ingest(source_id: int) -> SourceOutcome:
    """Fetch, parse and store one source (raises ``Source.DoesNotExist``), then match."""
    outcome = fetch_and_ingest(source_id)
    match()
    return outcome


def match() -> int:
    """Embed the papers that have no embedding yet (for semantic interests and the readers'
    models), then match the papers not matched yet against every enabled subscription. Returns
    how many papers were matched."""
    embed_new_papers()
    return match_new_papers()


# --- 3. Compose ----------------------------------------------------------------------------------


def claim_due(now: dt.datetime | None = None) -> Iterator[list[int]]:
    """Chunks of ids of the users whose digest is due, each claimed for a lease (a lost chunk
    is claimed again when its lease runs out)."""
    now = now or timezone.now()
    schedule_unscheduled(now)
    yield from claim_due_users(now)


def compose(user_ids: list[int]) -> BuildReport:
    """Build the due digests of these users: Digest, items and an outbox Delivery each."""
    return build_for_users(user_ids)


# --- 4. Deliver ----------------------------------------------------------------------------------


def due_delivery_count(now: dt.datetime | None = None) -> int:
    return due_deliveries(now).count()


def deliver_due(*, max_seconds: float | None = None, progress=None) -> DeliveryReport:
    """Send due deliveries until none is left (or ``max_seconds`` have passed)."""
    return send_due(max_seconds=max_seconds, progress=progress)


def deliver(delivery_id: int) -> DeliveryReport:
    """Send one delivery now if it is due (a resend, a released hold)."""
    return send_delivery(delivery_id)
