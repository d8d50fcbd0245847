"""What the curation panel shows: counts per day, today's issue, a day's run.

Read-only functions over the models, one query per series, portable between SQLite and
PostgreSQL (dates are truncated in the current time zone, UTC unless TIME_ZONE says otherwise).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import User
from digest.digests.models import Delivery, DeliveryHold, Suppression
from digest.papers.models import Paper, Sighting, Source

# A day's run as the Delivery admin shows it: digests dated that day, by delivery status.
RUN_STATUSES = ["pending", "sending", "retrying", "sent", "failed", "suppressed", "cancelled"]


def day_range(last: dt.date, days: int) -> list[dt.date]:
    """The ``days`` dates ending with ``last``, oldest first."""
    return [last - dt.timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def start_of_day(date: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(date, dt.time.min))


def counts_by_day(queryset: QuerySet, datetime_field: str, *, days: list[dt.date]) -> list[int]:
    """How many rows of ``queryset`` have ``datetime_field`` on each of ``days`` (zeros kept)."""
    if not days:
        return []
    rows = (
        queryset.filter(
            **{
                f"{datetime_field}__gte": start_of_day(days[0]),
                f"{datetime_field}__lt": start_of_day(days[-1] + dt.timedelta(days=1)),
            }
        )
        .annotate(day=TruncDate(datetime_field))
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    per_day = dict(rows)
    return [per_day.get(day, 0) for day in days]


# --- Dashboard --------------------------------------------------------------------------------


@dataclass
class DailySeries:
    days: list[dt.date]
    series: dict[str, list[int]]

    @property
    def labels(self) -> list[str]:
        return [day.strftime("%b %d") for day in self.days]

    def rows(self) -> list[list[object]]:
        """One row per day, for the table under each chart (most recent first)."""
        return [
            [day, *(values[index] for values in self.series.values())]
            for index, day in reversed(list(enumerate(self.days)))
        ]


def sending_per_day(*, today: dt.date, days: int = 30) -> DailySeries:
    dates = day_range(today, days)
    deliveries = Delivery.objects.all()
    return DailySeries(
        dates,
        {
            "Sent": counts_by_day(deliveries.filter(status="sent"), "sent_at", days=dates),
            "Failed": counts_by_day(deliveries.filter(status="failed"), "updated_at", days=dates),
            "Suppressed": counts_by_day(
                deliveries.filter(status="suppressed"), "updated_at", days=dates
            ),
        },
    )


def subscribers_per_day(*, today: dt.date, days: int = 30) -> DailySeries:
    dates = day_range(today, days)
    return DailySeries(
        dates,
        {
            "Sign-ups": counts_by_day(User.objects.all(), "date_joined", days=dates),
            "Unsubscribes": counts_by_day(
                User.objects.filter(unsubscribed_at__isnull=False), "unsubscribed_at", days=dates
            ),
        },
    )


def matches_per_paper(*, since: dt.datetime, limit: int = 15) -> list[Paper]:
    """The most-matched papers first seen since ``since``, each with ``match_count``."""
    return list(
        Paper.objects.filter(created_at__gte=since)
        .annotate(match_count=Count("matches"))
        .filter(match_count__gt=0)
        .order_by("-match_count", "-created_at")[:limit]
    )


# --- A day's run ------------------------------------------------------------------------------


def run_counts(date: dt.date) -> dict[str, int]:
    """Deliveries of the digests dated ``date``, by status, with ``due`` = all of them."""
    rows = dict(
        Delivery.objects.filter(digest__date=date)
        .values("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    counts = {status: rows.get(status, 0) for status in RUN_STATUSES}
    counts["due"] = sum(rows.values())
    return counts


@dataclass
class RunDay:
    date: dt.date
    counts: dict[str, int]
    held: bool


def run_history(*, today: dt.date, days: int = 14) -> list[RunDay]:
    """Every day's run counts, most recent first."""
    dates = day_range(today, days)
    rows = (
        Delivery.objects.filter(digest__date__gte=dates[0], digest__date__lte=dates[-1])
        .values("digest__date", "status")
        .annotate(n=Count("pk"))
        .values_list("digest__date", "status", "n")
    )
    per_day: dict[dt.date, dict[str, int]] = {day: dict.fromkeys(RUN_STATUSES, 0) for day in dates}
    for date, status, n in rows:
        per_day[date][status] = n
    held = set(DeliveryHold.objects.filter(date__in=dates).values_list("date", flat=True))
    history = []
    for date in reversed(dates):
        counts = per_day[date]
        counts["due"] = sum(counts.values())
        history.append(RunDay(date, counts, date in held))
    return history


FAILURE_EXAMPLES = 5000  # the most recent failures looked at when grouping reasons
ADDRESS = re.compile(r"<?[^\s<>@]+@[^\s<>]+>?")


def failure_reason(error: str) -> str:
    """An error's first line without addresses, so the same reason groups together."""
    first_line = (error or "").strip().splitlines()[0] if error and error.strip() else ""
    return ADDRESS.sub("<address>", first_line)[:160]


def failure_reasons(*, since: dt.datetime, limit: int = 10) -> list[tuple[str, int]]:
    """The commonest reasons of deliveries that failed or are retrying, since ``since``."""
    errors = (
        Delivery.objects.filter(status__in=["failed", "retrying"], updated_at__gte=since)
        .exclude(last_error="")
        .order_by("-updated_at")
        .values_list("last_error", flat=True)[:FAILURE_EXAMPLES]
    )
    return Counter(failure_reason(error) for error in errors).most_common(limit)


# --- Sources ----------------------------------------------------------------------------------


def papers_per_day(source: Source, *, today: dt.date, days: int = 14) -> list[tuple[dt.date, int]]:
    """New papers this source listed each day (by when Paperboy first saw it there)."""
    dates = day_range(today, days)
    counts = counts_by_day(Sighting.objects.filter(source=source), "first_seen_at", days=dates)
    return list(zip(dates, counts, strict=True))


# --- Today's issue ----------------------------------------------------------------------------


def subscribers_due(*, now: dt.datetime) -> QuerySet[User]:
    """People whose digest falls due before the end of ``now``'s day and who can get one:
    active, not paused, not unsubscribed, address not suppressed."""
    end_of_day = start_of_day(timezone.localdate(now) + dt.timedelta(days=1))
    suppressed = Suppression.objects.filter(email__iexact=OuterRef("email"))
    return (
        User.objects.filter(is_active=True, unsubscribed_at__isnull=True)
        .exclude(frequency=User.Frequency.PAUSED)
        .filter(Q(next_digest_at__lt=end_of_day))
        .exclude(Exists(suppressed))
        .order_by("next_digest_at", "email")
    )


@dataclass
class TodaysIssue:
    date: dt.date
    papers: list[Paper]  # each with match_count, featured first
    papers_total: int
    matched_papers: int
    hidden_papers: int
    featured_papers: int
    subscribers_due: int
    due_sample: list[User]
    hold: DeliveryHold | None
    # Holds of other days still in force (subscribers east of UTC already live tomorrow).
    other_holds: list[DeliveryHold] = field(default_factory=list)
    run: dict[str, int] = field(default_factory=dict)


def todays_papers(*, now: dt.datetime) -> QuerySet[Paper]:
    """Papers announced today or first seen in the last 24 hours: what today's digests carry."""
    today = timezone.localdate(now)
    return Paper.objects.filter(
        Q(announced_on=today) | Q(created_at__gt=now - dt.timedelta(hours=24))
    )


def todays_issue(*, now: dt.datetime, papers_shown: int = 200, due_shown: int = 50) -> TodaysIssue:
    today = timezone.localdate(now)
    papers = todays_papers(now=now)
    stats = papers.aggregate(
        total=Count("pk"),
        hidden=Count("pk", filter=Q(hidden=True)),
        featured=Count("pk", filter=Q(featured=True)),
    )
    matched = papers.filter(matches__isnull=False).distinct().count()
    shown = list(
        papers.annotate(match_count=Count("matches")).order_by(
            "-featured", "hidden", "-match_count", "-upvotes", "-created_at"
        )[:papers_shown]
    )
    due = subscribers_due(now=now)
    return TodaysIssue(
        date=today,
        papers=shown,
        papers_total=stats["total"],
        matched_papers=matched,
        hidden_papers=stats["hidden"],
        featured_papers=stats["featured"],
        subscribers_due=due.count(),
        due_sample=list(due[:due_shown]),
        hold=DeliveryHold.objects.filter(date=today).first(),
        other_holds=list(
            DeliveryHold.objects.filter(date__gte=today - dt.timedelta(days=7))
            .exclude(date=today)
            .select_related("created_by")
            .order_by("date")
        ),
        run=run_counts(today),
    )
