"""``manage.py ingest FILE_OR_URL... [--source NAME]``: ingest recorded files or URLs now.

The format of each input is detected from its content. Papers are stored as seen by the Source
``NAME``, or by a default source per format ("arXiv API (manual import)", ...). Sources this
command creates are disabled, so the scheduler never polls a file path; enable one in the admin
to poll its URL. Valid inputs are ingested even when another one is broken; the command then
exits with status 1 and says which inputs failed and why.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from digest import pipeline
from digest.papers.ingest.detect import UnknownFormat, detect_format
from digest.papers.ingest.fetch import FetchError, fetch_url
from digest.papers.ingest.run import ingest_content
from digest.papers.models import Source

DEFAULT_SOURCE_NAMES = {
    Source.Kind.ARXIV_API: "arXiv API (manual import)",
    Source.Kind.ARXIV_FEED: "arXiv listing (manual import)",
    Source.Kind.HF_DAILY: "Hugging Face daily papers (manual import)",
    Source.Kind.FEED: "RSS/Atom feed (manual import)",
}


class TooLarge(ValueError):
    """A file or standard input larger than ``FETCH_MAX_BYTES``."""


def read_capped(stream: BinaryIO) -> bytes:
    """At most ``FETCH_MAX_BYTES``, as for a URL: one byte more is read to tell a file of
    exactly the limit from a larger one, and a larger one is refused, not read into memory."""
    limit = settings.FETCH_MAX_BYTES
    content = stream.read(limit + 1)
    if len(content) > limit:
        raise TooLarge(f"larger than {limit} bytes (FETCH_MAX_BYTES); not read")
    return content


def read_input(location: str) -> tuple[bytes, str]:
    """The bytes of a file, a URL or ``-`` (standard input), and the location as a URL."""
    if location == "-":
        return read_capped(sys.stdin.buffer), ""
    if location.startswith(("http://", "https://")):
        return fetch_url(location).content, location
    path = Path(location)
    with path.open("rb") as stream:
        return read_capped(stream), path.resolve().as_uri()


def source_for(name: str, kind: str, url: str) -> Source:
    source, _ = Source.objects.get_or_create(
        name=name, defaults={"kind": kind, "url": url, "enabled": False}
    )
    return source


class Command(BaseCommand):
    help = "Ingest feeds from files or URLs now; the format is detected from the content."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("inputs", nargs="+", metavar="FILE_OR_URL", help="- reads stdin")
        parser.add_argument(
            "--source", metavar="NAME", help="the Source to record (created when missing)"
        )

    def handle(self, *args: object, **options: object) -> None:
        inputs: list[str] = options["inputs"]  # type: ignore[assignment]
        source_name: str | None = options["source"]  # type: ignore[assignment]
        failures: list[str] = []
        for location in inputs:
            try:
                content, url = read_input(location)
                kind = detect_format(content)
            except (OSError, FetchError, UnknownFormat, TooLarge) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                self.stderr.write(f"{location}: {reason}")
                failures.append(location)
                continue
            source = source_for(source_name or DEFAULT_SOURCE_NAMES[kind], kind, url)
            try:
                outcome = ingest_content(source, content, kind=kind)
            except Exception as exc:  # recorded on the source; the other inputs still go in
                self.stderr.write(f"{location}: ingest failed: {exc.__class__.__name__}: {exc}")
                failures.append(location)
                continue
            line = f"{location}: {Source.Kind(kind).label} → {source.name}: {outcome.summary()}"
            if outcome.errors:
                self.stderr.write(line)
                for error in outcome.errors[1:]:
                    self.stderr.write(f"  {error}")
                failures.append(location)
            else:
                self.stdout.write(line)
        matched = pipeline.match()
        self.stdout.write(f"match step: {matched} new papers checked against subscriptions")
        if failures:
            raise CommandError(
                f"{len(failures)} of {len(inputs)} inputs had errors: {', '.join(failures)}"
            )
