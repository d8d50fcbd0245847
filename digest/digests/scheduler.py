"""Whose digest is due, and building it: the step between matching and delivery.

Beat calls ``claim_due_users`` every few minutes. A due user (``next_digest_at <= now``) is
claimed by moving ``next_digest_at`` forward by a lease, in chunks of ids, and each chunk goes to
one ``build_digests`` task. The task builds each digest (``digests.build_digest``) and sets the
real next slot in the same transaction. If the task is lost (worker killed, broker restarted),
the lease runs out and the next beat claims the user again; building twice is a no-op because a
digest is unique per user and local date. A day missed entirely loses no paper: windows chain.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from digest.digests.compose import build_digest, build_digests
from digest.digests.models import Delivery
from digest.digests.schedule import digest_date, next_digest_at, receives_digests

log = logging.getLogger(__name__)


def _receiving_users():
    return User.objects.filter(is_active=True, unsubscribed_at__isnull=True).exclude(
        frequency=User.Frequency.PAUSED
    )


def schedule_unscheduled(now: dt.datetime) -> int:
    """Give ``next_digest_at`` to receiving users who have none (rows written without the
    model's save signal: bulk imports, raw SQL, resumed schedules)."""
    fixed = 0
    for user in _receiving_users().filter(next_digest_at__isnull=True).iterator(chunk_size=1000):
        User.objects.filter(pk=user.pk, next_digest_at__isnull=True).update(
            next_digest_at=next_digest_at(user, after=now)
        )
        fixed += 1
    return fixed


def claim_due_users(now: dt.datetime, chunk_size: int | None = None) -> Iterator[list[int]]:
    """Yield chunks of ids of users due at ``now``, each claimed for ``DIGEST_BUILD_LEASE``."""
    chunk_size = chunk_size or settings.DIGEST_CHUNK_SIZE
    lease_until = now + dt.timedelta(seconds=settings.DIGEST_BUILD_LEASE_SECONDS)
    due = list(
        _receiving_users()
        .filter(next_digest_at__lte=now)
        .order_by("id")
        .values_list("id", flat=True)
    )
    for start in range(0, len(due), chunk_size):
        chunk = due[start : start + chunk_size]
        User.objects.filter(id__in=chunk, next_digest_at__lte=now).update(
            next_digest_at=lease_until
        )
        yield chunk


@dataclass
class BuildReport:
    built: list[int] = field(default_factory=list)  # digest ids
    delivery_ids: list[int] = field(default_factory=list)
    skipped: int = 0


def build_for_user(user_id: int, *, now: dt.datetime, date: dt.date | None = None):
    """Build one user's due digest and move their schedule to the next slot, atomically."""
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=user_id).first()
        if user is None:
            return None
        digest = None
        if receives_digests(user):
            digest = build_digest(user, now=now, date=date or digest_date(user, now=now))
        User.objects.filter(pk=user_id).update(next_digest_at=next_digest_at(user, after=now))
        return digest


def reschedule(users: list[User], *, after: dt.datetime) -> None:
    """Move each user to their next slot: one UPDATE per distinct slot (people share delivery
    hours, so a chunk has a handful) rather than ``bulk_update``'s CASE per user."""
    by_slot: dict[dt.datetime | None, list[int]] = {}
    for user in users:
        by_slot.setdefault(next_digest_at(user, after=after), []).append(user.pk)
    with transaction.atomic():
        for slot, ids in by_slot.items():
            User.objects.filter(pk__in=ids).update(next_digest_at=slot)


def build_for_users(user_ids: list[int], *, now: dt.datetime | None = None) -> BuildReport:
    """Build the due digests of a chunk of users and move each to their next slot.

    The whole chunk is planned and written with a fixed number of queries
    (``digests.build_digests``). If that fails — a concurrent builder, one user's bad data — the
    chunk is retried user by user, so one problem never holds up the others.
    """
    now = now or timezone.now()
    report = BuildReport()
    try:
        users = list(User.objects.filter(pk__in=user_ids).order_by("pk"))
        digests = build_digests([u for u in users if receives_digests(u)], now=now)
        # Separately: if this step is lost, the users stay leased and come back to a no-op.
        reschedule(users, after=now)
    except Exception:
        log.warning(
            "building chunk of %d users at once failed; one by one", len(user_ids), exc_info=True
        )
    else:
        report.built = [d.pk for d in digests]
        report.delivery_ids = list(
            Delivery.objects.filter(digest__in=report.built).values_list("pk", flat=True)
        )
        report.skipped = len(user_ids) - len(digests)
        return report
    for user_id in user_ids:
        try:
            digest = build_for_user(user_id, now=now)
        except Exception:  # one broken user must not hold up the rest of the chunk
            log.exception("building the digest of user %s failed", user_id)
            report.skipped += 1
            continue
        if digest is None:
            report.skipped += 1
        else:
            report.built.append(digest.pk)
            report.delivery_ids.append(digest.delivery.pk)
    return report


@dataclass
class PlannedDigest:
    email: str
    date: dt.date
    papers_total: int
    in_email: int
    featured: int


@dataclass
class RunReport:
    considered: int = 0
    built: int = 0
    already_built: int = 0
    nothing_to_send: int = 0
    planned: list[PlannedDigest] = field(default_factory=list)


def end_of_local_day(user: User, day: dt.date) -> dt.datetime:
    midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=user.tzinfo)
    return midnight.astimezone(dt.UTC) - dt.timedelta(microseconds=1)


def build_now(
    *,
    date: dt.date | None = None,
    dry_run: bool = False,
    now: dt.datetime | None = None,
    emails: list[str] | None = None,
    progress=None,
) -> RunReport:
    """Build the digests due on ``date`` (each user's local today by default) right now, for
    everyone whose schedule includes that day — what ``manage.py send_digests`` does.

    With ``dry_run`` nothing is written: the report lists who would get what. A date in the past
    covers papers up to the end of that local day.
    """
    from digest.digests.compose import may_receive, plan_digest
    from digest.digests.models import Digest, DigestItem
    from digest.digests.schedule import is_delivery_day

    now = now or timezone.now()
    report = RunReport()
    users = _receiving_users().order_by("id")
    if emails:
        users = users.filter(email__in=emails)
    total = users.count()
    for position, user in enumerate(users.iterator(chunk_size=500), start=1):
        if progress:
            progress(position, total)
        day = date or now.astimezone(user.tzinfo).date()
        if not is_delivery_day(user, day) or not may_receive(user):
            continue
        report.considered += 1
        if Digest.objects.filter(user=user, date=day).exists():
            report.already_built += 1
            continue
        at = min(now, end_of_local_day(user, day))
        if dry_run:
            plan = plan_digest(user, now=at, date=day, full=False)
            if plan.is_empty and user.skip_empty:
                report.nothing_to_send += 1
                continue
            report.planned.append(
                PlannedDigest(
                    email=user.email,
                    date=day,
                    papers_total=len(plan.ranked),
                    in_email=sum(1 for item in plan.ranked if item.in_email),
                    featured=sum(
                        1 for item in plan.ranked if item.section == DigestItem.Section.FEATURED
                    ),
                )
            )
            continue
        if build_digest(user, now=at, date=day) is None:
            report.nothing_to_send += 1
        else:
            report.built += 1
    return report
