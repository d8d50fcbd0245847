"""A new reader's first subscription and digest schedule, set together on one page, with
a few of last week's papers they may tick as liked: their first ratings, so their own model
(``subscriptions.reader_model``) has something to learn from before the first digest."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from accounts import services as accounts_services
from accounts.models import User
from digest.papers.models import Paper
from subscriptions.feedback import record_feedback
from subscriptions.models import Feedback
from subscriptions.services import create_subscription

PAPERS_TO_LIKE = 12
PAPERS_TO_LIKE_DAYS = 7  # "last week", as the onboarding preview


def papers_to_like(
    *, limit: int = PAPERS_TO_LIKE, days: int = PAPERS_TO_LIKE_DAYS, now: dt.datetime | None = None
) -> list[Paper]:
    """The papers onboarding offers to tick as liked: visible ones first seen in the last
    ``days`` days, the curators' featured ones first, then the most upvoted, then the newest.
    Empty when nothing is that recent."""
    since = (now or timezone.now()) - dt.timedelta(days=days)
    return list(
        Paper.objects.visible()
        .filter(created_at__gte=since)
        .only("id", "key", "title", "authors", "featured", "upvotes", "created_at")
        .order_by("-featured", "-featured_everywhere", "-upvotes", "-created_at", "-id")[:limit]
    )


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
    liked_papers: Sequence[int] = (),
):
    """Create the first subscription, set the schedule and record the ``liked_papers`` (ids)
    as "more like this", together or not at all. The categories are the subscription's own
    filter (editable later), not part of its query. Raises ``ValidationError`` (on ``query``)
    when the query does not parse."""
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
        for paper_id in liked_papers:
            record_feedback(user_id=user.pk, paper_id=paper_id, kind=Feedback.Kind.MORE)
    return subscription


def default_subscription_name(query: str, categories: list[str] = ()) -> str:
    """The name of a subscription left unnamed (onboarding and "Add subscription"): its
    query, shortened, or the categories it follows."""
    text = " ".join(query.split())
    if text:
        return text if len(text) <= 60 else text[:59] + "…"
    shown = ", ".join(categories[:3]) + (" …" if len(categories) > 3 else "")
    return f"New in {shown}"
