"""``python manage.py recommend "TEXT" [--like ARXIV_ID ...] [--days N] [--limit N]``: every
recent paper ranked for an interest written in words and/or given as example papers, best
first. One line per paper: its arXiv id (or key), the score, the reasons, the title. Unknown
example papers or no interest at all print the error and exit with status 2."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from subscriptions.recommendations import UnknownPapers, recommend


class Command(BaseCommand):
    help = "Rank the recent papers for an interest (free text and/or example papers), and why."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "text",
            nargs="?",
            default="",
            help='the interest in words, e.g. "test-time adaptation of vision-language models"',
        )
        parser.add_argument(
            "--like",
            action="append",
            default=[],
            metavar="ARXIV_ID",
            help="a paper like the ones wanted (repeat for several)",
        )
        parser.add_argument("--days", type=int, default=7, help="look back this many days (7)")
        parser.add_argument("--limit", type=int, default=None, help="print at most this many")

    def handle(self, *args, **options) -> None:
        if options["days"] < 1:
            raise CommandError("--days must be at least 1", returncode=2)
        if options["limit"] is not None and options["limit"] < 1:
            raise CommandError("--limit must be at least 1", returncode=2)
        if not options["text"].strip() and not options["like"]:
            raise CommandError(
                "Give an interest in words, or --like ARXIV_ID, or both", returncode=2
            )
        try:
            found = recommend(
                options["text"], options["like"], days=options["days"], limit=options["limit"]
            )
        except UnknownPapers as error:
            raise CommandError(
                f"Unknown paper for --like: {', '.join(error.missing)}", returncode=2
            ) from error
        except ValueError as error:  # the words embed to nothing (no known token)
            raise CommandError(str(error), returncode=2) from error
        for item in found:
            title = " ".join(item.title.split())
            reasons = "; ".join(item.reasons) or "-"
            self.stdout.write(f"{item.label}\t{item.score:.2f}\t{reasons}\t{title}")
        self.stderr.write(
            f"{len(found)} paper{'s' if len(found) != 1 else ''} in {options['days']} days"
        )
