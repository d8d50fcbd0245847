"""``python manage.py match "QUERY" [--days N]``: the papers a query would have matched, for
curators and operators. One line per paper: its arXiv id (or key), the title, why it matched.
An invalid query prints the error and exits with status 2."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from subscriptions.preview import PREVIEW_DAYS, run_preview

FIELD_WORDS = {
    "title": "title",
    "abstract": "abstract",
    "author": "authors",
    "category": "category",
}


def explain(hits: list[dict[str, str]]) -> str:
    """``zero-shot in title, abstract; LeCun, Yann in authors``."""
    fields_by_term: dict[str, list[str]] = {}
    for hit in hits:
        fields_by_term.setdefault(hit["term"], []).append(
            FIELD_WORDS.get(hit["field"], hit["field"])
        )
    return "; ".join(f"{term} in {', '.join(fields)}" for term, fields in fields_by_term.items())


class Command(BaseCommand):
    help = "Print the recent papers a subscription query matches, and why."

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
