"""``python manage.py match "QUERY" [--days N]``: the papers a query would have matched, for
curators and operators. One line per paper: its arXiv id (or key), the title, why it matched.
An invalid query prints the error and exits with status 2."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from subscriptions.explain import explain
from subscriptions.preview import PREVIEW_DAYS, run_preview


class Command(BaseCommand):
    help = "Print the recent papers a subscription query matches, and why."

    def run_from_argv(self, argv: list[str]) -> None:
        """A query may start with an exclusion (``-video zero-shot``): argparse would read it as
        options (``-v ideo…``), so it is marked as the positional argument it is."""
        known = set(self.create_parser(argv[0], argv[1])._option_string_actions)
        for position, arg in enumerate(argv[2:], start=2):
            if arg == "--":
                break
            if arg.startswith("-") and arg.split("=", 1)[0] not in known:
                argv = [*argv[:position], "--", *argv[position:]]
                break
        super().run_from_argv(argv)

    def add_arguments(self, parser) -> None:
        parser.add_argument("query", help='a subscription query, e.g. "zero-shot -survey"')
        parser.add_argument(
            "--days", type=int, default=PREVIEW_DAYS, help="look back this many days (7)"
        )
        parser.add_argument("--limit", type=int, default=None, help="print at most this many")

    def handle(self, *args, **options) -> None:
        if options["days"] < 1:
            raise CommandError("--days must be at least 1", returncode=2)
        result = run_preview(options["query"], days=options["days"], limit=options["limit"])
        if result.error is not None or result.empty_query:
            raise CommandError(f"Invalid query: {result.error or 'it is empty'}", returncode=2)
        for hit in result.hits:
            paper = hit.paper
            title = " ".join(paper.title.split())
            self.stdout.write(f"{paper.arxiv_id or paper.key}\t{title}\t{explain(hit.hits)}")
        self.stderr.write(
            f"{result.total} paper{'s' if result.total != 1 else ''} in {options['days']} days"
        )
