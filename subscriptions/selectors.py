"""Reads for the subscriber's pages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Prefetch
from django.utils import timezone

from accounts.models import User
from subscriptions.models import Match, Subscription

RECENT_DAYS = 7


@dataclass
class SubscriptionWithMatches:
    subscription: Subscription
    matches: list[Match]  # the best few, for the page
    total: int  # how many papers it matched in the period


def subscriptions_with_recent_matches(
    owner: User, *, days: int = RECENT_DAYS, shown: int = 10
) -> list[SubscriptionWithMatches]:
    """Each of ``owner``'s subscriptions with the papers it matched among those first seen in
    the last ``days`` days, best first (hidden papers left out)."""
    since = timezone.now() - dt.timedelta(days=days)
    recent = (
        Match.objects.filter(paper__created_at__gte=since, paper__hidden=False)
        .select_related("paper")
        .order_by("-score", "-paper__created_at", "-id")
    )
    subscriptions = (
        Subscription.objects.filter(owner=owner)
        .annotate(example_count=Count("examples"))
        .order_by("name", "id")
        .prefetch_related(Prefetch("matches", queryset=recent, to_attr="recent_matches"))
    )
    return [
        SubscriptionWithMatches(
            subscription=s, matches=s.recent_matches[:shown], total=len(s.recent_matches)
        )
        for s in subscriptions
    ]
