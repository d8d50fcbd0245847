"""The public daily page: one day's papers, most upvoted and most followed first, like Hugging
Face's daily papers, browsable day by day.

A paper belongs to the day arXiv announced it (``announced_on``) and to the day Hugging Face put
it on its daily list (``hf_daily_on``), which is often a few days later: on Hugging Face's day it
is ranked by the upvotes it got there, as on Hugging Face's own page.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from digest.papers.models import Paper

DAY_FIELDS = ("announced_on", "hf_daily_on")


def papers_for_day(day: dt.date) -> QuerySet[Paper]:
    """Visible papers announced on ``day`` or listed by Hugging Face that day, ranked by
    upvotes, then by how many subscriptions matched them, then newest first."""
    return (
        Paper.objects.visible()
        .filter(Q(announced_on=day) | Q(hf_daily_on=day))
        .annotate(match_count=Count("matches", distinct=True))
        .order_by("-upvotes", "-match_count", "-created_at", "-id")
    )


def _nearest_day(*, before: dt.date | None = None, after: dt.date | None = None) -> dt.date | None:
    """The last day with papers before ``before``, or the first one after ``after`` (and not
    after today), whichever of the two days a paper has."""
    days = []
    for field in DAY_FIELDS:
        papers = Paper.objects.visible()
        if before is not None:
            papers = papers.filter(**{f"{field}__lt": before}).order_by(f"-{field}")
        else:
            papers = papers.filter(
                **{f"{field}__gt": after, f"{field}__lte": timezone.localdate()}
            ).order_by(field)
        day = papers.values_list(field, flat=True).first()
        if day is not None:
            days.append(day)
    if not days:
        return None
    return max(days) if before is not None else min(days)


def latest_day(on_or_before: dt.date | None = None) -> dt.date | None:
    """The last day, up to ``on_or_before`` (today), that has papers: on weekends arXiv
    announces nothing, so "today" falls back to the last announcement."""
    on_or_before = on_or_before or timezone.localdate()
    return _nearest_day(before=on_or_before + dt.timedelta(days=1))


def previous_day(day: dt.date) -> dt.date | None:
    return _nearest_day(before=day)


def next_day(day: dt.date) -> dt.date | None:
    return _nearest_day(after=day)
