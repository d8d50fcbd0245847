"""Writes to a subscriber's account."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User

SCHEDULE_FIELDS = ("timezone", "frequency", "weekday", "delivery_hour")


@transaction.atomic
def update_digest_settings(user: User, **values) -> User:
    """Save schedule and digest options. A changed schedule clears ``next_digest_at`` so the
    scheduler recomputes the next send time in the new zone/hour."""
    changed_schedule = any(
        key in SCHEDULE_FIELDS and getattr(user, key) != value for key, value in values.items()
    )
    for key, value in values.items():
        setattr(user, key, value)
    if changed_schedule:
        user.next_digest_at = None
    user.full_clean(exclude=["password", "email"])
    user.save()
    return user
