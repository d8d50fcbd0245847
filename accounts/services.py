"""Writes to a subscriber's account."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User, new_feed_token


@transaction.atomic
def update_digest_settings(user: User, **values) -> User:
    """Save schedule and digest options. A changed schedule moves ``next_digest_at`` with it
    (``digest.digests.schedule`` recomputes it on save, in the new zone and hour)."""
    for key, value in values.items():
        setattr(user, key, value)
    user.full_clean(exclude=["password", "email"])
    user.save()
    return user


def pause_digests(user: User) -> User:
    """Pause everything (a holiday): no digest until resumed; subscriptions stay as they are."""
    user.frequency = User.Frequency.PAUSED
    user.save(update_fields=["frequency"])  # digest.digests.schedule clears next_digest_at
    return user


def resume_digests(user: User, frequency: str = User.Frequency.DAILY) -> User:
    """Resume after a pause (and after an unsubscribe: the person is asking for mail again).
    ``digest.digests.schedule`` sets the next send time from the schedule on save."""
    if frequency not in (User.Frequency.DAILY, User.Frequency.WEEKLY):
        raise ValueError(f"cannot resume to {frequency!r}")
    user.frequency = frequency
    user.unsubscribed_at = None
    user.save(update_fields=["frequency", "unsubscribed_at"])
    return user


def rotate_feed_token(user: User) -> str:
    """A new secret for the private Atom feed; the old feed URL stops working at once."""
    user.feed_token = new_feed_token()
    user.save(update_fields=["feed_token"])
    return user.feed_token
