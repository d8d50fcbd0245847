"""A new reader's first subscription and digest schedule, set together on one page."""

from __future__ import annotations

from django.db import transaction

from accounts import services as accounts_services
from accounts.models import User
from subscriptions.services import create_subscription


def complete_onboarding(
    user: User,
    *,
    query: str,
    categories: list[str],
    name: str,
    timezone: str,
    delivery_hour: int,
    frequency: str,
    weekday: int = User.Weekday.MONDAY,
):
    """Create the first subscription and set the schedule, together or not at all. The
    categories are the subscription's own filter (editable later), not part of its query.
    Raises ``ValidationError`` (on ``query``) when the query does not parse."""
    name = " ".join(name.split()) or default_subscription_name(query, categories)
    with transaction.atomic():
        subscription = create_subscription(
            owner=user, name=name, query=query, categories=categories
        )
        accounts_services.update_digest_settings(
            user,
            timezone=timezone,
            delivery_hour=delivery_hour,
            frequency=frequency,
            weekday=weekday,
        )
    return subscription


def default_subscription_name(query: str, categories: list[str] = ()) -> str:
    """The name of a subscription left unnamed (onboarding and "Add subscription"): its
    query, shortened, or the categories it follows."""
    text = " ".join(query.split())
    if text:
        return text if len(text) <= 60 else text[:59] + "…"
    shown = ", ".join(categories[:3]) + (" …" if len(categories) > 3 else "")
    return f"New in {shown}"
