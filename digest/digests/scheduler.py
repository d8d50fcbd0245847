"""Whose digest is due, and building it: the step between matching and delivery.

Beat calls ``claim_due_users`` every few minutes. A due user (``next_digest_at <= now``) is
claimed by moving ``next_digest_at`` forward by a lease, in chunks of ids, and each chunk goes to
one ``build_digests`` task. The task builds each user's digest in turn (``digests.build_digest``)
and sets the real next slot in the same transaction. If the task is lost (worker killed, broker
restarted), the lease runs out and the next beat claims the user again; building twice is a
no-op because a digest is unique per user and local date. A day missed entirely loses no
paper: windows chain.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from digest.digests.compose import (
    build_digest,
    may_receive,
    plan_digest,
    plan_digests,
    receiving,
    write_digest,
)
from digest.digests.models import Digest, DigestItem
from digest.digests.schedule import (
    SCHEDULE_FIELDS,
    is_delivery_day,
    next_digest_at,
    receives_digests,
)

log = logging.getLogger(__name__)


def _on_schedule() -> QuerySet[User]:
    """Users whose schedule has slots: active, subscribed, not paused."""
    return User.objects.filter(is_active=True, unsubscribed_at__isnull=True).exclude(
        frequency=User.Frequency.PAUSED
    )


def schedule_unscheduled(now: dt.datetime) -> int:
    """Give ``next_digest_at`` to users on a schedule who have none (rows written without the
    model's save signal: bulk imports, raw SQL, resumed schedules)."""
    fixed = 0
    for user in _on_schedule().filter(next_digest_at__isnull=True).iterator(chunk_size=1000):
        User.objects.filter(pk=user.pk, next_digest_at__isnull=True).update(
            next_digest_at=next_digest_at(user, after=now)
        )
        fixed += 1
    return fixed


def claim_due_users(now: dt.datetime, chunk_size: int | None = None) -> Iterator[list[int]]:
    """Yield chunks of ids of users due at ``now``, each claimed for ``DIGEST_BUILD_LEASE``.

    A chunk is claimed in a transaction of its own: its rows are locked, skipping any another
    process holds (a builder, a concurrent beat), and their ``next_digest_at`` is moved to the
    lease's end, so nobody claims them again until the lease runs out."""
    chunk_size = chunk_size or settings.DIGEST_CHUNK_SIZE
    lease_until = now + dt.timedelta(seconds=settings.DIGEST_BUILD_LEASE_SECONDS)
    after = 0  # walk the ids upwards: each user is looked at once per call, whatever the lease
    while True:
        with transaction.atomic():
            chunk = list(
                _on_schedule()
                .filter(next_digest_at__lte=now, pk__gt=after)
                .order_by("pk")
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)[:chunk_size]
            )
            if not chunk:
                return
            User.objects.filter(pk__in=chunk).update(next_digest_at=lease_until)
        after = chunk[-1]
        yield chunk


@dataclass
class BuildReport:
    built: list[int] = field(default_factory=list)  # digest ids
    delivery_ids: list[int] = field(default_factory=list)
    skipped: int = 0


def build_for_users(user_ids: list[int], *, now: dt.datetime | None = None) -> BuildReport:
    """Build the due digests of a chunk of users and move each to their next slot.

    The chunk is planned at once (``plan_digests`` reads only), then each user's digest is
    written in a transaction of its own. One user's failure is logged and leaves the rest of
    the chunk unharmed: that user keeps the lease and is tried again when it runs out. So
    does everyone if the task is lost before the schedules move; rebuilding is a no-op.
    """
    now = now or timezone.now()
    users = list(User.objects.filter(pk__in=user_ids).order_by("pk"))
    receiving_ids = {u.pk for u in receiving([u for u in users if receives_digests(u)])}
    due = [u for u in users if u.pk in receiving_ids]
    plans = plan_digests(due, now=now)
    report = BuildReport(skipped=len(user_ids) - len(due))
    failed = set()
    for user in due:
        try:
            digest = write_digest(plans[user.pk])
        except Exception:  # one broken user must not hold up the rest of the chunk
            log.exception("building the digest of user %s failed", user.pk)
            failed.add(user.pk)
            digest = None
        if digest is None:
            report.skipped += 1
        else:
            report.built.append(digest.pk)
            report.delivery_ids.append(digest.delivery.pk)
    reschedule([u for u in users if u.pk not in failed], after=now)
    return report


# What a user's next slot depends on.
SLOT_FIELDS = (*SCHEDULE_FIELDS, "is_active")


def reschedule(users: list[User], *, after: dt.datetime) -> None:
    """Move each user to their first slot after ``after``: an UPDATE per distinct schedule (a
    chunk has a handful: people share delivery hours), which leaves alone whoever changed
    theirs meanwhile (the change set its own next slot)."""
    groups: dict[tuple, list[User]] = {}
    for user in users:
        groups.setdefault(tuple(getattr(user, name) for name in SLOT_FIELDS), []).append(user)
    with transaction.atomic():
        for schedule, group in groups.items():
            User.objects.filter(
                pk__in=[u.pk for u in group], **dict(zip(SLOT_FIELDS, schedule, strict=True))
            ).update(next_digest_at=next_digest_at(group[0], after=after))


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
    progress: Callable[[int, int], None] | None = None,
) -> RunReport:
    """Build the digests due on ``date`` (each user's local today by default) right now, for
    everyone whose schedule includes that day — what ``manage.py send_digests`` does.

    With ``dry_run`` nothing is written: the report lists who would get what. A date in the past
    covers papers up to the end of that local day.
    """
    now = now or timezone.now()
    report = RunReport()
    users = _on_schedule().order_by("id")
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
                    papers_total=len(plan.items),
                    in_email=sum(1 for item in plan.items if item.in_email),
                    featured=sum(
                        1 for item in plan.items if item.section == DigestItem.Section.FEATURED
                    ),
                )
            )
            continue
        if build_digest(user, now=at, date=day) is None:
            report.nothing_to_send += 1
        else:
            report.built += 1
    return report
