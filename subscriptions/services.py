"""Writes to subscriptions. Views call these; each save re-runs the match step for the
subscription so "My subscriptions" and the next digest reflect the new query at once."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from subscriptions.match_step import rematch_subscription
from subscriptions.models import Subscription


@transaction.atomic
def create_subscription(
    *, owner: User, name: str, query: str, enabled: bool = True
) -> Subscription:
    subscription = Subscription(owner=owner, name=name, query=query, enabled=enabled)
    subscription.full_clean()
    subscription.save()
    rematch_subscription(subscription)
    return subscription


@transaction.atomic
def update_subscription(
    subscription: Subscription, *, name: str, query: str, enabled: bool
) -> Subscription:
    subscription.name = name
    subscription.query = query
    subscription.enabled = enabled
    subscription.full_clean()
    subscription.save()
    rematch_subscription(subscription)
    return subscription


def delete_subscription(subscription: Subscription) -> None:
    # Its Match rows go with it (CASCADE); digests already sent keep their own copies.
    subscription.delete()
