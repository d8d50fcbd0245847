"""Ingesting one source end to end, the first steps of the daily run:

    fetch (conditional GET) → detect the format → parse → store → record the outcome on the
    Source

(``digest.pipeline`` chains the match step after it.)

The outcome on the Source is what the admin shows: ``last_status`` ok / partial / error /
not_modified, ``last_error`` in plain words, ``last_count`` papers read, ``last_fetched_at``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.utils import timezone

from digest.papers.models import Source

from .detect import UnknownFormat, detect_format, parse_document
from .fetch import FetchError, Unreachable, fetch_url
from .store import IngestResult, ingest_records
from .text import storable

logger = logging.getLogger(__name__)

MAX_ERRORS_SHOWN = 20


@dataclass
class SourceOutcome:
    source_id: int
    status: str
    kind: str = ""  # the format detected in the content
    count: int = 0  # papers read from the document and stored
    result: IngestResult | None = None
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = str(self.status)
        if self.result is not None:
            text = f"{self.count} papers: {self.result.created} created, "
            text += f"{self.result.updated} updated, {self.result.unchanged} unchanged"
        if self.errors:
            text += f"; {len(self.errors)} error{'s' if len(self.errors) > 1 else ''}: "
            text += self.errors[0]
        return text


def fetch_and_ingest(source_id: int) -> SourceOutcome:
    """Fetch one source (enabled or not: an explicit request is honoured) and ingest it."""
    source = Source.objects.get(pk=source_id)
    try:
        fetched = fetch_url(source.url, etag=source.etag, last_modified=source.last_modified)
    except FetchError as exc:
        # Offline, every source fails every hour the same way: the log says so once per source
        # and outage (until a fetch works again), the Source page says so all along.
        same_outage = (
            isinstance(exc, Unreachable)
            and source.last_status == Source.Status.ERROR
            and source.last_error == str(exc)
        )
        return record_outcome(
            source,
            SourceOutcome(source.pk, Source.Status.ERROR, errors=[str(exc)]),
            quiet=same_outage,
        )
    if fetched.not_modified:
        return record_outcome(source, SourceOutcome(source.pk, Source.Status.NOT_MODIFIED))
    return ingest_content(
        source, fetched.content, etag=fetched.etag, last_modified=fetched.last_modified
    )


def ingest_content(
    source: Source,
    content: bytes,
    *,
    kind: str | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
) -> SourceOutcome:
    """Parse ``content`` (format detected unless ``kind`` is given), store its papers as seen
    by ``source`` and record the outcome on the source.

    The ETag / Last-Modified of a download are remembered only when everything was read: after
    a truncated download the next fetch must download the feed again, not get a 304 for it.
    """
    try:
        kind = kind or detect_format(content)
    except UnknownFormat as exc:
        return record_outcome(
            source, SourceOutcome(source.pk, Source.Status.ERROR, errors=[str(exc)])
        )
    try:
        parsed = parse_document(content, kind)
        result = ingest_records(parsed.records, source=source)
    except Exception as exc:
        # A bug or a database failure: the curator sees it on the source, the worker log has
        # the traceback.
        outcome = SourceOutcome(source.pk, Source.Status.ERROR, kind=kind)
        outcome.errors = [f"ingest failed: {exc.__class__.__name__}: {exc}"]
        record_outcome(source, outcome)
        raise
    errors = [str(error) for error in parsed.errors] + result.errors
    count = result.created + result.updated + result.unchanged
    if not errors:
        status = Source.Status.OK
    elif count:
        status = Source.Status.PARTIAL
    else:
        status = Source.Status.ERROR
    outcome = SourceOutcome(source.pk, status, kind=kind, count=count, result=result, errors=errors)
    if status == Source.Status.OK:
        return record_outcome(source, outcome, etag=etag, last_modified=last_modified)
    return record_outcome(source, outcome)


def record_outcome(
    source: Source,
    outcome: SourceOutcome,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    quiet: bool = False,
) -> SourceOutcome:
    """Write the outcome on the Source with one UPDATE of the ingest columns only, so an admin
    editing the source meanwhile (enabling it, fixing its URL) loses nothing. An error is
    logged as a warning, unless ``quiet`` (the same error as last time): then as info."""
    errors = outcome.errors[:MAX_ERRORS_SHOWN]
    if len(outcome.errors) > MAX_ERRORS_SHOWN:
        errors.append(f"… and {len(outcome.errors) - MAX_ERRORS_SHOWN} more")
    values: dict[str, object] = {
        "last_fetched_at": timezone.now(),
        "last_status": outcome.status,
        # Messages quote what the feed said; the row must be writable whatever it was.
        "last_error": storable("\n".join(errors)),
        "last_count": outcome.count,
    }
    if etag is not None:
        values["etag"] = etag[:500]
    if last_modified is not None:
        values["last_modified"] = last_modified[:100]
    Source.objects.filter(pk=source.pk).update(**values)
    for name, value in values.items():
        setattr(source, name, value)
    if outcome.status in (Source.Status.ERROR, Source.Status.PARTIAL) and not quiet:
        logger.warning("ingest of %s: %s", source, outcome.summary())
    else:
        logger.info("ingest of %s: %s", source, outcome.summary())
    return outcome
