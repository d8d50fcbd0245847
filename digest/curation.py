"""What curators do, as plain functions: the admin's actions and buttons only call these.

Featuring and hiding change papers; holding a day's send makes that day's deliveries wait and
releasing it lets them go; a failed delivery can be sent again; a curator can mail themselves
the exact digest a subscriber will get. The delivery code (``digest.digests.delivery``) owns
sending; these functions change state and hand the sending and fetching to the daily run's
tasks (``digest.tasks``), as beat would.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from email.utils import make_msgid

from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from digest import tasks
from digest.digests import compose as digests
from digest.digests import delivery as delivery_module
from digest.digests import schedule
from digest.digests.models import Delivery, DeliveryHold, Suppression
from digest.mail import message_id_domain
from digest.papers.models import Paper

logger = logging.getLogger(__name__)

TEST_SUBJECT_PREFIX = "[Test] "
# Headers that only make sense for the real recipient: a test copy must not offer one-click
# unsubscribe of someone else, nor carry the real message's id.
TEST_DROPPED_HEADERS = {"list-unsubscribe", "list-unsubscribe-post", "message-id"}


class Feature(enum.StrEnum):
    """A paper's place in digests, as curators choose it."""

    NONE = "none"
    MATCHING = "matching"  # first, in a "Featured" section of every digest it matches
    EVERYWHERE = "everywhere"  # in every digest, matched or not

    @classmethod
    def of(cls, paper: Paper) -> Feature:
        if paper.featured and paper.featured_everywhere:
            return cls.EVERYWHERE
        return cls.MATCHING if paper.featured else cls.NONE

    def fields(self) -> dict[str, bool]:
        return {
            "featured": self is not Feature.NONE,
            "featured_everywhere": self is Feature.EVERYWHERE,
        }


FEATURE_LABELS = {
    Feature.NONE: "Not featured",
    Feature.MATCHING: "Featured in the digests it matches",
    Feature.EVERYWHERE: "Featured in every digest",
}


def set_feature(papers: QuerySet[Paper], feature: Feature) -> int:
    """Feature or unfeature papers; returns how many rows changed."""
    return papers.update(**feature.fields(), modified_at=timezone.now())


def set_hidden(papers: QuerySet[Paper], hidden: bool) -> int:
    """Hide papers from every digest and page (or show them again)."""
    return papers.update(hidden=hidden, modified_at=timezone.now())


# --- Holding a day's send ---------------------------------------------------------------------


def hold_send(date: dt.date, *, by: User | None, reason: str = "") -> DeliveryHold:
    """Make the deliveries of ``date``'s digests wait. Holding twice keeps the first hold."""
    hold, _ = DeliveryHold.objects.get_or_create(
        date=date, defaults={"created_by": by, "reason": reason[:200]}
    )
    return hold


def is_held(date: dt.date) -> bool:
    return DeliveryHold.objects.filter(date=date).exists()


def release_send(date: dt.date) -> bool:
    """Lift the hold on ``date`` and let the waiting deliveries go out now.

    Returns False when the day was not held. The delivery code owns what "waiting" means:
    ``release_held`` deletes the hold and counts that day's due deliveries; senders are woken
    for them once the release is committed.
    """
    if not DeliveryHold.objects.filter(date=date).exists():
        return False
    with transaction.atomic():
        waiting = delivery_module.release_held(date)
        transaction.on_commit(lambda: tasks.wake_senders(waiting))
    return True


# --- Resending --------------------------------------------------------------------------------


class Resend(enum.StrEnum):
    QUEUED = "queued"
    NOT_FAILED = "not_failed"
    SUPPRESSED = "suppressed"


def resend_delivery(delivery_id: int) -> Resend:
    """Put a failed delivery back in the outbox and enqueue it.

    Only failed deliveries are resent (a sent one would be a duplicate). An address on the
    suppression list is refused: the send would be suppressed again; remove the suppression
    first if the address works now. The row is locked while deciding, so two clicks (or two
    curators) enqueue it once.
    """
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None or delivery.status != Delivery.Status.FAILED:
            return Resend.NOT_FAILED
        if Suppression.objects.filter(email__iexact=delivery.to_email).exists():
            return Resend.SUPPRESSED
        delivery_module.requeue([delivery_id])
        transaction.on_commit(lambda: tasks.send_delivery.delay(delivery_id))
    return Resend.QUEUED


# --- Previews and tests -----------------------------------------------------------------------


def preview_email(subscriber: User, *, now: dt.datetime | None = None):
    """The exact email ``subscriber``'s next digest would be if it were built ``now``, or None
    when nothing would be sent. Nothing is written: no Digest, no Delivery.

    It is dated on their next delivery day (a weekly reader's Friday, not the past Monday the
    composer would take at ``now``), as the email they will get is."""
    now = now or timezone.now()
    return digests.preview_digest(subscriber, now=now, date=next_delivery_date(subscriber, now=now))


def next_delivery_date(subscriber: User, *, now: dt.datetime) -> dt.date:
    """The local date of ``subscriber``'s next digest: the one due (even if overdue), else the
    next slot of their schedule; today's date for someone who gets none."""
    slot = subscriber.next_digest_at or schedule.next_digest_at(subscriber, after=now) or now
    return slot.astimezone(subscriber.tzinfo).date()


def html_part(message: EmailMessage) -> str | None:
    for content, mimetype in getattr(message, "alternatives", []):
        if mimetype == "text/html":
            return content
    return None


def send_test_digest(
    subscriber: User, *, to: str, now: dt.datetime | None = None
) -> EmailMessage | None:
    """Mail ``subscriber``'s upcoming digest to ``to`` (the curator), marked as a test.

    The message is the subscriber's, built by the same composer; only the recipient, the
    subject prefix and the per-recipient headers differ. Returns None when the subscriber
    would get no email.
    """
    message = preview_email(subscriber, now=now)
    if message is None:
        return None
    message.to = [to]
    message.cc = []
    message.bcc = []
    message.subject = TEST_SUBJECT_PREFIX + message.subject
    message.extra_headers = {
        name: value
        for name, value in message.extra_headers.items()
        if name.lower() not in TEST_DROPPED_HEADERS
    }
    message.extra_headers["Message-ID"] = make_msgid(domain=message_id_domain())
    message.extra_headers["X-Paperboy-Test"] = f"digest of {subscriber.email}"
    message.send()
    logger.info("Sent a test digest of user %s to %s", subscriber.pk, to)
    return message


# --- Sources ----------------------------------------------------------------------------------


def fetch_source_now(source_id: int) -> None:
    """Ask a worker to fetch one source now (the same task beat runs)."""
    transaction.on_commit(lambda: tasks.ingest_source.delay(source_id))
