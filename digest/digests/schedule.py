"""When each person's digest is due.

A user's schedule is local: daily or weekly (on a weekday) at ``delivery_hour`` in their own time
zone, or paused. ``User.next_digest_at`` holds the next due moment in UTC so the scheduler finds
everyone due with one indexed query. Slots are computed per local *date*, then converted, which
keeps them DST-safe: on the spring-forward day an hour that does not exist (02:30 in New York)
happens at the first instant after the gap, on the fall-back day an hour that happens twice is
taken the first time, and either way there is exactly one slot per local date.
"""

from __future__ import annotations

import datetime as dt

from django.db.models.signals import pre_save
from django.utils import timezone

from accounts.models import User

UTC = dt.UTC
SCHEDULE_FIELDS = ("timezone", "frequency", "weekday", "delivery_hour", "unsubscribed_at")


def is_delivery_day(user: User, day: dt.date) -> bool:
    if user.frequency == User.Frequency.DAILY:
        return True
    if user.frequency == User.Frequency.WEEKLY:
        return day.weekday() == user.weekday
    return False


def slot_on(user: User, day: dt.date) -> dt.datetime:
    """The UTC moment of ``user``'s delivery hour on local date ``day``."""
    hour = min(max(int(user.delivery_hour), 0), 23)
    local = dt.datetime.combine(day, dt.time(hour), tzinfo=user.tzinfo)
    # Round-trip through UTC normalises a non-existent local time (DST gap) to a real instant.
    return local.astimezone(UTC)


def receives_digests(user: User) -> bool:
    return (
        user.is_active
        and user.unsubscribed_at is None
        and user.frequency in (User.Frequency.DAILY, User.Frequency.WEEKLY)
    )


def next_digest_at(user: User, *, after: dt.datetime) -> dt.datetime | None:
    """The first slot strictly after ``after``; None when the user gets no digests."""
    if not receives_digests(user):
        return None
    day = after.astimezone(user.tzinfo).date() - dt.timedelta(days=1)
    for _ in range(9):
        if is_delivery_day(user, day):
            slot = slot_on(user, day)
            if slot > after:
                return slot
        day += dt.timedelta(days=1)
    raise AssertionError("a weekly schedule has a slot within 9 days")  # pragma: no cover


def current_slot(user: User, *, now: dt.datetime) -> dt.datetime | None:
    """The latest slot at or before ``now`` (within the last 8 days), if any."""
    if not receives_digests(user):
        return None
    day = now.astimezone(user.tzinfo).date() + dt.timedelta(days=1)
    for _ in range(9):
        if is_delivery_day(user, day):
            slot = slot_on(user, day)
            if slot <= now:
                return slot
        day -= dt.timedelta(days=1)
    return None


def digest_date(user: User, *, now: dt.datetime) -> dt.date:
    """The local date a digest built at ``now`` is for: the date of the slot being served.

    A digest for the 07:00 slot built late, after midnight, still belongs to the previous day.
    """
    slot = current_slot(user, now=now)
    return (slot or now).astimezone(user.tzinfo).date()


def reschedule(user: User, *, now: dt.datetime | None = None) -> dt.datetime | None:
    """Recompute and store ``next_digest_at`` (after a schedule change or resubscribe)."""
    user.next_digest_at = next_digest_at(user, after=now or timezone.now())
    User.objects.filter(pk=user.pk).update(next_digest_at=user.next_digest_at)
    return user.next_digest_at


def _schedule_changed(user: User) -> bool:
    if user.pk is None:
        return True
    stored = User.objects.filter(pk=user.pk).values(*SCHEDULE_FIELDS).first()
    if stored is None:
        return True
    return any(stored[field] != getattr(user, field) for field in SCHEDULE_FIELDS)


def keep_next_digest_at_in_step(sender, instance: User, update_fields=None, **kwargs) -> None:
    """pre_save: when the schedule changes, the next due moment moves with it.

    Saves that do not touch the schedule (``last_login`` updates, profile edits that keep it)
    leave ``next_digest_at`` alone, so a user who is due right now stays due.
    """
    if kwargs.get("raw"):
        return
    if update_fields is not None and not set(update_fields) & set(SCHEDULE_FIELDS):
        return
    if _schedule_changed(instance):
        instance.next_digest_at = next_digest_at(instance, after=timezone.now())
        if update_fields is not None and "next_digest_at" not in update_fields:
            # Django saves only the listed fields; the caller could not know about this one.
            User.objects.filter(pk=instance.pk).update(next_digest_at=instance.next_digest_at)


def connect_signals() -> None:
    pre_save.connect(
        keep_next_digest_at_in_step, sender=User, dispatch_uid="digest.digests.schedule"
    )
