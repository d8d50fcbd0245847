"""``python manage.py match "QUERY" [--days N]``: the papers a query would have matched, for
curators and operators. One line per paper: its arXiv id (or key), the title, why it matched.
An invalid query prints the error and exits with status 2."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from subscriptions.explain import explain
from subscriptions.matcher import preview
from subscriptions.query import QueryError


class Command(BaseCommand):
    help = "Print the recent papers a subscription query matches, and why."

    def add_arguments(self, parser) -> None:
        parser.add_argument("query", help='a subscription query, e.g. "zero-shot -survey"')
        parser.add_argument("--days", type=int, default=7, help="look back this many days (7)")
        parser.add_argument("--limit", type=int, default=None, help="print at most this many")

    def handle(self, *args, **options) -> None:
        if options["days"] < 1:
            raise CommandError("--days must be at least 1", returncode=2)
        try:
            found = preview(options["query"], days=options["days"], limit=options["limit"])
        except QueryError as error:
            raise CommandError(f"Invalid query: {error}", returncode=2) from error
        for hit in found:
            paper = hit.paper
            title = " ".join(paper.title.split())
            self.stdout.write(f"{paper.arxiv_id or paper.key}\t{title}\t{explain(hit.hits)}")
        self.stderr.write(
            f"{len(found)} paper{'s' if len(found) != 1 else ''} in {options['days']} days"
        )
