"""The public "today's papers" page: one day's announced papers, most upvoted and most
followed first (like Hugging Face's daily page), browsable day by day."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, QuerySet
from django.utils import timezone

from digest.papers.models import Paper


def papers_for_day(day: dt.date) -> QuerySet[Paper]:
    """Visible papers announced on ``day``, ranked by upvotes, then by how many
    subscriptions matched them, then newest first."""
    return (
        Paper.objects.visible()
        .filter(announced_on=day)
        .annotate(match_count=Count("matches", distinct=True))
        .order_by("-upvotes", "-match_count", "-created_at", "-id")
    )


def latest_day(on_or_before: dt.date | None = None) -> dt.date | None:
    """The last day, up to ``on_or_before`` (today), that has announced papers: on weekends
    arXiv announces nothing, so "today" falls back to the last announcement."""
    on_or_before = on_or_before or timezone.localdate()
    return (
        Paper.objects.visible()
        .filter(announced_on__lte=on_or_before)
        .order_by("-announced_on")
        .values_list("announced_on", flat=True)
        .first()
    )


def previous_day(day: dt.date) -> dt.date | None:
    return (
        Paper.objects.visible()
        .filter(announced_on__lt=day)
        .order_by("-announced_on")
        .values_list("announced_on", flat=True)
        .first()
    )


def next_day(day: dt.date) -> dt.date | None:
    return (
        Paper.objects.visible()
        .filter(announced_on__gt=day, announced_on__lte=timezone.localdate())
        .order_by("announced_on")
        .values_list("announced_on", flat=True)
        .first()
    )
