"""Deliver: move outbox rows (``Delivery``) from pending to sent, exactly once per person.

The protocol, which is what makes a crash harmless:

1. **Claim.** A worker takes due rows atomically — ``SELECT ... FOR UPDATE SKIP LOCKED`` on
   PostgreSQL, one conditional ``UPDATE ... WHERE <due> AND id IN (...)`` elsewhere — and
   marks them ``sending`` with its claim token and a lease (``DELIVERY_LEASE_SECONDS``). Rows
   whose date has a ``DeliveryHold`` are not due.
2. **Send.** It renders each digest (the Message-ID is derived from the delivery, so every
   attempt carries the same one) and, holding a lock on the row after re-checking its claim
   (so an account deletion that cancelled it wins), sends it over one reused SMTP session.
3. **Record.** Right after the server's 250, ``sent`` + Message-ID commit in that same
   transaction, guarded by the claim token, so a worker whose lease ran out cannot overwrite a
   newer claim.

A worker that dies leaves its rows ``sending``; when the lease runs out they are due again and
the next worker reclaims them. **The only window in which a person can get a digest twice** is a
crash after the server answered 250 to the end of DATA and before step 3 committed: the mail
left, the database does not know. ``DeliveryReport.commit_lag`` measures that window on every
send (``bench/delivery.py`` reports it; it is the time of one UPDATE + COMMIT, well under a
millisecond on PostgreSQL). The resend carries the same Message-ID, so it is identifiable. (A
connection lost *during* DATA is the SMTP protocol's own ambiguity: the server may have accepted
the message without us hearing 250; it is retried.)

Failures: 4xx and connection errors retry with exponential backoff (``EMAIL_RETRY_BASE_SECONDS``
doubling, at most ``EMAIL_MAX_ATTEMPTS`` attempts); a connection error (or three 4xx in a row)
backs off the rest of the batch too, instead of hammering a server that is down. 5xx for the
recipient fails the delivery and suppresses the address. Unsubscribed users' deliveries are
cancelled, suppressed addresses' are marked suppressed, never sent.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import make_msgid

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import F, Q, TextField
from django.db.models.functions import Cast, Lower
from django.utils import timezone

from accounts.models import User
from digest.digests.email import render_digest_email
from digest.digests.models import Delivery, DeliveryHold, DigestItem, Suppression
from digest.digests.smtp import Outcome, SendError, SMTPSession
from digest.mail import message_id_domain
from digest.papers.models import Paper

log = logging.getLogger(__name__)

DUE_STATES = (Delivery.Status.PENDING, Delivery.Status.RETRYING)
# Longest backoff between two attempts, whatever the attempt number.
MAX_BACKOFF_SECONDS = 6 * 60 * 60
# This many 4xx replies in a row mean the server defers everyone, not one recipient.
TEMPORARY_FAILURES_BEFORE_BACKING_OFF = 3


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    suppressed: int = 0
    cancelled: int = 0
    lost_claims: int = 0
    connections: int = 0
    retry_at: dt.datetime | None = None
    # send_due stopped at its time budget with deliveries possibly still due.
    out_of_time: bool = False
    # Seconds between the server's 250 and our commit of "sent": the duplicate window.
    commit_lag: list[float] = field(default_factory=list)

    def add(self, other: DeliveryReport) -> None:
        for name in ("sent", "retrying", "failed", "suppressed", "cancelled", "lost_claims"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.connections += other.connections
        self.commit_lag.extend(other.commit_lag)
        if other.retry_at and (self.retry_at is None or other.retry_at < self.retry_at):
            self.retry_at = other.retry_at

    @property
    def total(self) -> int:
        return self.sent + self.retrying + self.failed + self.suppressed + self.cancelled


def claim_token() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def held_dates():
    return DeliveryHold.objects.values("date")


def due_q(now: dt.datetime) -> Q:
    ready = Q(status__in=DUE_STATES, next_attempt_at__lte=now)
    abandoned = Q(status=Delivery.Status.SENDING, lease_until__lt=now)
    return (ready | abandoned) & ~Q(digest__date__in=held_dates())


def due_deliveries(now: dt.datetime | None = None):
    return Delivery.objects.filter(due_q(now or timezone.now()))


def claim(
    *, ids: Iterable[int] | None = None, limit: int = 100, now: dt.datetime | None = None
) -> list[Delivery]:
    """Atomically take up to ``limit`` due deliveries (optionally only among ``ids``).

    Each claimed row is ``sending``, carries this call's claim token in ``claimed_by`` and a
    lease; ``attempts`` counts the claim. No two callers ever get the same row.
    """
    now = now or timezone.now()
    token = claim_token()
    lease_until = now + dt.timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)
    candidates = Delivery.objects.filter(due_q(now))
    if ids is not None:
        candidates = candidates.filter(id__in=list(ids))
    candidates = candidates.order_by("next_attempt_at", "id")
    claimed_values = dict(
        status=Delivery.Status.SENDING,
        claimed_by=token,
        lease_until=lease_until,
        attempts=F("attempts") + 1,
    )
    if db_connection.features.has_select_for_update_skip_locked:
        with transaction.atomic():
            chosen = list(
                candidates.select_for_update(skip_locked=True, of=("self",)).values_list(
                    "id", flat=True
                )[:limit]
            )
            Delivery.objects.filter(id__in=chosen).update(**claimed_values)
    else:
        # No SKIP LOCKED (SQLite): one conditional UPDATE whose WHERE repeats the due test. The
        # database runs one write statement at a time, so of two racing workers each row goes
        # to exactly one: the other's WHERE no longer matches it.
        chosen = list(candidates.values_list("id", flat=True)[:limit])
        Delivery.objects.filter(due_q(now), id__in=chosen).update(**claimed_values)
    return list(
        Delivery.objects.filter(claimed_by=token, status=Delivery.Status.SENDING)
        .select_related("digest__user")
        .order_by("id")
    )


def _finish(delivery: Delivery, status: str, **values) -> bool:
    """Record the outcome of our claim; False if the claim was lost (lease expired, reclaimed).
    ``values`` are other Delivery fields to set. The UPDATE is guarded by the claim token, so a
    worker whose claim was taken over changes nothing."""
    updated = Delivery.objects.filter(
        pk=delivery.pk, claimed_by=delivery.claimed_by, status=Delivery.Status.SENDING
    ).update(status=status, lease_until=None, **values)
    if not updated:
        log.warning(
            "delivery %s: claim %s was lost before it finished", delivery.pk, delivery.claimed_by
        )
    return bool(updated)


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff with ±20% jitter, so retries from many workers do not line up."""
    base = settings.EMAIL_RETRY_BASE_SECONDS * (2 ** max(attempts - 1, 0))
    return min(base, MAX_BACKOFF_SECONDS) * random.uniform(0.8, 1.2)


def _retry_or_fail(delivery: Delivery, error: SendError, report: DeliveryReport) -> None:
    now = timezone.now()
    if delivery.attempts >= settings.EMAIL_MAX_ATTEMPTS:
        if _finish(delivery, Delivery.Status.FAILED, last_error=f"gave up: {error}"[:2000]):
            report.failed += 1
        return
    retry_at = now + dt.timedelta(seconds=backoff_seconds(delivery.attempts))
    if _finish(
        delivery, Delivery.Status.RETRYING, next_attempt_at=retry_at, last_error=str(error)[:2000]
    ):
        report.retrying += 1
        report.retry_at = min(report.retry_at or retry_at, retry_at)


def _release(deliveries: list[Delivery], error: SendError, report: DeliveryReport) -> None:
    """Give claimed-but-untried rows back, due after the same backoff; their claim is not an
    attempt."""
    if not deliveries:
        return
    retry_at = timezone.now() + dt.timedelta(seconds=backoff_seconds(1))
    for delivery in deliveries:
        if _finish(
            delivery,
            Delivery.Status.RETRYING,
            next_attempt_at=retry_at,
            # Nothing else changes attempts while our claim holds, and _finish updates the row
            # only if it still does.
            attempts=delivery.attempts - 1,
            last_error=f"not tried: {error}"[:2000],
        ):
            report.retrying += 1
    report.retry_at = min(report.retry_at or retry_at, retry_at)


def suppress(email: str, reason: str, detail: str = "") -> Suppression:
    """Put ``email`` on the do-not-mail list and stop what is queued for it."""
    suppression, _ = Suppression.objects.get_or_create(
        email=email.strip().lower(), defaults={"reason": reason, "detail": detail[:2000]}
    )
    Delivery.objects.filter(to_email__iexact=email, status__in=DUE_STATES).update(
        status=Delivery.Status.SUPPRESSED, last_error=f"suppressed: {suppression.reason}"
    )
    return suppression


def suppression_for(user: User) -> Suppression | None:
    """Why ``user`` gets no mail, if their address is suppressed (shown to them on login)."""
    return Suppression.objects.filter(email__iexact=user.email).first()


def _still_claimed(delivery: Delivery) -> bool:
    """True while ``delivery`` is still ours to send. Where the database has row locks, the
    row stays locked until the caller's transaction ends."""
    mine = Delivery.objects.filter(
        pk=delivery.pk, claimed_by=delivery.claimed_by, status=Delivery.Status.SENDING
    )
    if db_connection.features.has_select_for_update:
        mine = mine.select_for_update()
    return bool(list(mine.values_list("pk", flat=True)))


@contextmanager
def _claim_held_while_sending():
    """One transaction from the claim re-check to recording "sent", holding the row lock
    ``_still_claimed`` took for the length of the SMTP conversation. On SQLite a transaction
    would lock the whole database instead, and a slow or dead mail server would stall every
    other writer (the web included) for the SMTP timeout; there the claim is re-checked and
    "sent" recorded right after the server's 250, each in its own autocommit, which leaves the
    same one-write duplicate window and a one-send window in which an account deletion can
    cross a send."""
    if db_connection.features.has_select_for_update:
        with transaction.atomic():
            yield
    else:
        yield


def _deliver_one(
    delivery: Delivery,
    session: SMTPSession,
    report: DeliveryReport,
    *,
    items: list[ShownItem],
    suppressions: dict[str, Suppression],
) -> None:
    user = delivery.digest.user
    if user.unsubscribed_at is not None or not user.is_active:
        if _finish(delivery, Delivery.Status.CANCELLED, last_error="Unsubscribed"):
            report.cancelled += 1
        return
    suppression = suppressions.get(delivery.to_email.lower())
    if suppression is not None:
        if _finish(
            delivery, Delivery.Status.SUPPRESSED, last_error=f"suppressed: {suppression.reason}"
        ):
            report.suppressed += 1
        return
    message = render_digest_email(delivery.digest, delivery=delivery, items=items)
    # The delivery's own (``message_id_for``), as the message carries it: recorded as sent.
    message_id = message.extra_headers["Message-ID"]
    try:
        with _claim_held_while_sending():
            # Hold our row while the message goes out. Deleting an account
            # (digest.digests.deletion) locks the same rows to cancel them: either this send
            # finishes first, or it finds its claim gone here and sends nothing.
            if not _still_claimed(delivery):
                report.lost_claims += 1
                return
            session.send(message)
            # The server said 250. "sent" commits with this transaction: a crash between
            # here and the commit is the one window in which the message can go twice.
            accepted = time.perf_counter()
            _finish(
                delivery,
                Delivery.Status.SENT,
                sent_at=timezone.now(),
                message_id=message_id,
                last_error="",
            )
        report.commit_lag.append(time.perf_counter() - accepted)
        report.sent += 1
    except SendError as error:
        if error.outcome is Outcome.PERMANENT:
            if _finish(delivery, Delivery.Status.FAILED, last_error=str(error)[:2000]):
                report.failed += 1
            suppress(delivery.to_email, Suppression.Reason.REJECTED, str(error))
            return
        _retry_or_fail(delivery, error, report)
        raise


# Papers loaded by earlier batches, with the version each was loaded in: a day's digests show
# the same few thousand papers over and over. Bounded: past this size it starts again.
PAPER_CACHE_SIZE = 16384
_PAPERS: dict[int, tuple[str, Paper]] = {}


def current_papers(ids: set[int]) -> dict[int, Paper]:
    """The papers ``ids`` in their current version, loading whole only those this process has
    not loaded in that version yet (a curator's edit changes ``modified_at``)."""
    # The version as the database's text: compared, never computed with, so not worth parsing
    # into a datetime for each of the ~1,000 papers of a batch.
    versions = dict(
        Paper.objects.filter(id__in=ids)
        .order_by()
        .values_list("id", Cast("modified_at", TextField()))
    )
    stale = [
        paper_id
        for paper_id, version in versions.items()
        if paper_id not in _PAPERS or _PAPERS[paper_id][0] != version
    ]
    if len(_PAPERS) + len(stale) > PAPER_CACHE_SIZE:
        _PAPERS.clear()
        stale = list(versions)
    # A paper edited since ``versions`` was read is stored under its older version: it is
    # loaded again next time, never shown stale.
    for paper_id, paper in Paper.objects.in_bulk(stale).items():
        _PAPERS[paper_id] = (versions[paper_id], paper)
    return {paper_id: _PAPERS[paper_id][1] for paper_id in versions if paper_id in _PAPERS}


@dataclass(slots=True)
class ShownItem:
    """A paper of a digest as its email shows it: what ``render_digest_email`` reads of a
    ``DigestItem``, loaded as a row rather than a model instance (~25 a message)."""

    paper: Paper
    rank: int
    section: str
    hits: list[dict]
    in_email: bool = True


def shown_items(deliveries: list[Delivery]) -> dict[int, list[ShownItem]]:
    """The papers each delivery's email shows, by digest id, in rank order, in a few queries for
    the whole batch (only what the email shows: the rest is counted in ``papers_total``)."""
    rows = list(
        DigestItem.objects.filter(digest__in=[d.digest_id for d in deliveries], in_email=True)
        .order_by("digest_id", "rank")
        .values_list("digest_id", "paper_id", "rank", "section", Cast("hits", TextField()))
    )
    # The hits come as their JSON text and are parsed in one go for the batch: Django's
    # JSONField would parse each row's on its own, a Python-level call for each of ~2,000 rows.
    every_hits = json.loads("[" + ",".join(row[4] for row in rows) + "]")
    papers = current_papers({paper_id for _, paper_id, _, _, _ in rows})
    items: dict[int, list[ShownItem]] = {}
    for (digest_id, paper_id, rank, section, _), hits in zip(rows, every_hits, strict=True):
        paper = papers.get(paper_id)
        if paper is not None:  # deleted since: its item goes with it
            items.setdefault(digest_id, []).append(ShownItem(paper, rank, section, hits or []))
    return items


def deliver(deliveries: list[Delivery], session: SMTPSession | None = None) -> DeliveryReport:
    """Send claimed ``deliveries`` over one SMTP session (opened here unless given)."""
    report = DeliveryReport()
    own_session = session is None
    session = session or SMTPSession()
    opened_before = session.connections_opened
    temporary_in_a_row = 0
    # What the batch needs, in a few queries rather than a few per message.
    items = shown_items(deliveries)
    emails = {d.to_email.lower() for d in deliveries}
    suppressions = {
        s.email.lower(): s
        for s in Suppression.objects.annotate(address=Lower("email")).filter(address__in=emails)
    }
    try:
        for position, delivery in enumerate(deliveries):
            try:
                _deliver_one(
                    delivery,
                    session,
                    report,
                    items=items.get(delivery.digest_id, []),
                    suppressions=suppressions,
                )
                temporary_in_a_row = 0
            except SendError as error:
                temporary_in_a_row += 1
                if error.outcome in (Outcome.CONNECTION, Outcome.SENDER) or (
                    temporary_in_a_row >= TEMPORARY_FAILURES_BEFORE_BACKING_OFF
                ):
                    # The server is down, shedding load, or deferring everyone: leave it alone
                    # for a while rather than asking again for every message in the batch.
                    _release(deliveries[position + 1 :], error, report)
                    break
            except Exception as exc:  # a bug rendering one digest must not stall the others
                log.exception("delivery %s failed unexpectedly", delivery.pk)
                _retry_or_fail(
                    delivery,
                    SendError(Outcome.TEMPORARY, None, f"{type(exc).__name__}: {exc}"),
                    report,
                )
    finally:
        report.connections += session.connections_opened - opened_before
        if own_session:
            session.close()
    return report


def batch_size() -> int:
    """Claim as many as one SMTP session carries, but no more than can be sent well within
    the lease at the configured rate (a slow batch must not outlive its claim)."""
    size = settings.EMAIL_MESSAGES_PER_CONNECTION
    rate = settings.EMAIL_RATE_PER_SECOND
    if rate > 0:
        size = min(size, int(rate * settings.DELIVERY_LEASE_SECONDS / 2))
    return max(size, 1)


def send_due(
    *,
    max_seconds: float | None = None,
    limit: int | None = None,
    progress: Callable[[DeliveryReport], None] | None = None,
) -> DeliveryReport:
    """Claim and send due deliveries, batch after batch over one session, until none are due
    (or ``max_seconds``/``limit`` is reached). ``progress`` is called after each batch."""
    report = DeliveryReport()
    deadline = time.monotonic() + max_seconds if max_seconds else None
    with SMTPSession() as session:
        while True:
            if deadline is not None and time.monotonic() >= deadline:
                report.out_of_time = True
                break
            size = batch_size() if limit is None else min(batch_size(), limit - report.total)
            if size <= 0:
                break
            batch = claim(limit=size)
            if not batch:
                break
            batch_report = deliver(batch, session)
            report.add(batch_report)
            if progress is not None:
                progress(report)
            if batch_report.retrying and not batch_report.sent:
                break  # everything in this batch backed off: the server needs a rest
    return report


def send_delivery(delivery_id: int) -> DeliveryReport:
    """Send one delivery if it is due (not held, not already sent or claimed)."""
    return deliver(claim(ids=[delivery_id], limit=1))


def requeue(delivery_ids: Iterable[int]) -> int:
    """Make deliveries due again now (the admin's "resend"): a fresh start with zero attempts.
    Sent ones go out again with a new Message-ID, as the operator asked for a new message."""
    ids = list(delivery_ids)
    with transaction.atomic():
        for sent_id in Delivery.objects.filter(id__in=ids, status=Delivery.Status.SENT).values_list(
            "id", flat=True
        ):
            Delivery.objects.filter(id=sent_id).update(
                message_id=make_msgid(domain=message_id_domain())
            )
        return (
            Delivery.objects.filter(id__in=ids)
            .exclude(status=Delivery.Status.SENDING, lease_until__gte=timezone.now())
            .update(
                status=Delivery.Status.PENDING,
                next_attempt_at=timezone.now(),
                attempts=0,
                last_error="",
                claimed_by="",
                lease_until=None,
            )
        )


def release_held(date: dt.date) -> int:
    """Lift the hold on ``date``; its waiting deliveries are due again. Returns how many (the
    caller wakes that many senders' worth)."""
    with transaction.atomic():
        DeliveryHold.objects.filter(date=date).delete()
        return Delivery.objects.filter(digest__date=date, status__in=DUE_STATES).count()
