"""The admin's front page: charts of the last 30 days, drawn by unfold's bundled Chart.js (no CDN).

Each chart also comes as a table, for people who would rather read (or cannot see the canvas).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from django.http import HttpRequest
from django.utils import timezone
from django.utils.text import Truncator

from digest.digests import reports
from digest.papers.models import Paper

DAYS = 30
# Unfold's palette, so the charts follow the theme.
COLORS = ["var(--color-primary-600)", "#dc2626", "#f59e0b", "#16a34a"]
LEGEND_OPTIONS = json.dumps(
    {"plugins": {"legend": {"display": True, "position": "top", "align": "end"}}}
)


@dataclass
class Chart:
    id: str
    title: str
    kind: str  # "bar" or "line"
    data: str  # JSON for Chart.js
    headers: list[str]
    rows: list[list[object]]
    options: str = ""


def series_chart(chart_id: str, title: str, kind: str, series: reports.DailySeries) -> Chart:
    datasets = [
        {
            "label": label,
            "data": values,
            "backgroundColor": COLORS[index % len(COLORS)],
            "borderColor": COLORS[index % len(COLORS)],
            "displayYAxis": True,
        }
        for index, (label, values) in enumerate(series.series.items())
    ]
    # Unfold hides the legend by default; with several series the colours need naming.
    options = LEGEND_OPTIONS if len(datasets) > 1 else ""
    return Chart(
        id=chart_id,
        title=title,
        kind=kind,
        data=json.dumps({"labels": series.labels, "datasets": datasets}),
        headers=["Day", *series.series],
        rows=series.rows(),
        options=options,
    )


def matches_chart(*, now: dt.datetime) -> Chart:
    papers = reports.matches_per_paper(since=now - dt.timedelta(hours=24))
    labels = [paper.arxiv_id or Truncator(paper.title).chars(30) for paper in papers]
    counts = [paper.match_count for paper in papers]
    data = {
        "labels": labels,
        "datasets": [
            {
                "label": "Matches",
                "data": counts,
                "backgroundColor": COLORS[0],
                "displayYAxis": True,
            }
        ],
    }
    return Chart(
        id="matches-per-paper",
        title="Matches per paper, papers first seen in the last 24 hours",
        kind="bar",
        data=json.dumps(data),
        headers=["Paper", "Title", "Matches"],
        rows=[
            [label, paper.title, paper.match_count]
            for label, paper in zip(labels, papers, strict=True)
        ],
        options=json.dumps({"indexAxis": "y"}),
    )


def papers_chart(*, today: dt.date) -> Chart:
    days = reports.day_range(today, DAYS)
    counts = reports.counts_by_day(Paper.objects.all(), "created_at", days=days)
    return series_chart(
        "papers-per-day",
        "New papers per day",
        "bar",
        reports.DailySeries(days, {"New papers": counts}),
    )


def dashboard_charts(request: HttpRequest) -> list[Chart]:
    now = timezone.now()
    today = timezone.localdate(now)
    user = request.user
    charts = []
    if user.has_perm("digests.view_delivery"):
        charts.append(
            series_chart(
                "sends-per-day",
                "Sends and failures per day",
                "bar",
                reports.sending_per_day(today=today, days=DAYS),
            )
        )
    if user.has_perm("accounts.view_user"):
        charts.append(
            series_chart(
                "subscribers-per-day",
                "Sign-ups and unsubscribes per day",
                "line",
                reports.subscribers_per_day(today=today, days=DAYS),
            )
        )
    if user.has_perm("papers.view_paper"):
        charts.append(papers_chart(today=today))
        if user.has_perm("subscriptions.view_match"):
            charts.append(matches_chart(now=now))
    return charts


def dashboard_callback(request: HttpRequest, context: dict) -> dict:
    today = timezone.localdate()
    context["charts"] = dashboard_charts(request)
    if request.user.has_perm("digests.view_delivery"):
        context["run_today"] = reports.run_counts(today)
    context["today"] = today
    return context
