"""``manage.py send_digests [--date YYYY-MM-DD] [--dry-run]``: build today's digests for everyone
due and deliver them now, without waiting for beat. Safe to run again: a second run the same day
sends nothing (one digest per user per date, enforced by the database)."""

from __future__ import annotations

import datetime as dt
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from digest import pipeline
from digest.digests.delivery import DeliveryReport
from digest.digests.scheduler import build_now


class Progress:
    """A one-line progress bar on a terminal; silent when output is redirected."""

    def __init__(self, stream, label: str) -> None:
        self.stream = stream
        self.label = label
        self.enabled = hasattr(stream, "isatty") and stream.isatty()
        self.shown = False

    def __call__(self, done: int, total: int, extra: str = "") -> None:
        if not self.enabled or total <= 0:
            return
        width = 30
        filled = int(width * done / total)
        bar = "█" * filled + "·" * (width - filled)
        self.stream.write(f"\r{self.label:<9} [{bar}] {done}/{total} {extra}".ljust(78))
        self.stream.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


class Command(BaseCommand):
    help = "Build the digests due today (or on --date) and deliver them now."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="local date of the digests, YYYY-MM-DD (default today)")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="print who would get what; write and send nothing",
        )
        parser.add_argument("--user", action="append", dest="emails", help="only these addresses")

    def handle(self, *args, date: str | None, dry_run: bool, emails, **options) -> None:
        day = None
        if date:
            try:
                day = dt.date.fromisoformat(date)
            except ValueError as exc:
                raise CommandError(f"--date {date!r} is not a date like 2026-01-31") from exc
            if day > timezone.now().date() + dt.timedelta(days=1):
                raise CommandError(f"--date {day} is in the future; digests cover the past")

        progress = Progress(sys.stderr, "compose")
        report = build_now(date=day, dry_run=dry_run, emails=emails, progress=progress)
        progress.done()

        if dry_run:
            for planned in report.planned:
                featured = f", {planned.featured} featured" if planned.featured else ""
                more = planned.papers_total - planned.in_email
                capped = f" (+{more} on the web)" if more else ""
                self.stdout.write(
                    f"{planned.email}: {planned.in_email} papers{capped}{featured} "
                    f"for {planned.date}"
                )
            self.stdout.write(
                f"dry run: {len(report.planned)} would get a digest, "
                f"{report.nothing_to_send} have nothing new, "
                f"{report.already_built} already have one; nothing was written or sent."
            )
            return

        sent = self.deliver_all()
        self.stdout.write(
            f"built {report.built} digests ({report.nothing_to_send} had nothing new, "
            f"{report.already_built} already built); delivered: {sent.sent} sent, "
            f"{sent.retrying} retrying, {sent.failed} failed, {sent.suppressed} suppressed, "
            f"{sent.cancelled} cancelled, over {sent.connections} SMTP connection(s)."
        )

    def deliver_all(self) -> DeliveryReport:
        total = pipeline.due_delivery_count()
        progress = Progress(sys.stderr, "deliver")
        report = pipeline.deliver_due(
            progress=lambda so_far: progress(
                min(so_far.total, total), max(total, so_far.total), f"sent {so_far.sent}"
            )
        )
        progress.done()
        return report
