"""Ingest speed: a 3,000-item arXiv listing parsed and stored, then ingested again.

The baseline, measured in the same run on the same data, is the straightforward store: one
``update_or_create`` per paper and one ``get_or_create`` per sighting, in one transaction.
Paperboy's store (digest.papers.ingest.store) looks papers up in batches and writes in bulk.

Runs on a scratch SQLite database under a temporary directory, or on the (empty, disposable)
database named by ``BENCH_DATABASE_URL``: the bench migrates it and deletes the papers it wrote.

    python bench/ingest.py
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/pb_bench python bench/ingest.py
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SCRATCH = tempfile.mkdtemp(prefix="paperboy-bench-")
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", f"sqlite:///{SCRATCH}/bench.sqlite3"
)
os.environ.setdefault("VAR_DIR", SCRATCH)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digest.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from digest.papers.ingest.detect import parse_document  # noqa: E402
from digest.papers.ingest.store import ingest_records  # noqa: E402
from digest.papers.models import (  # noqa: E402
    Paper,
    Sighting,
    Source,  # noqa: E402
)

ITEMS = 3000


def listing_feed(count: int) -> bytes:
    """An arXiv RSS listing in the recorded feed's format, with real titles and abstracts
    (from tests/fixtures/hf_papers_pages.jsonl) under made-up ids."""
    rows = [
        json.loads(line)
        for line in (ROOT / "tests/fixtures/hf_papers_pages.jsonl").read_text().splitlines()
    ]
    items = []
    for n in range(count):
        row = rows[n % len(rows)]
        arxiv_id = f"2611.{n:05d}"
        items.append(
            f"""<item><title>{escape(row["title"])}</title>
<link>https://arxiv.org/abs/{arxiv_id}</link>
<description>arXiv:{arxiv_id}v1 Announce Type: new
Abstract: {escape(row["abstract"])}</description>
<guid isPermaLink="false">oai:arXiv.org:{arxiv_id}v1</guid>
<category>cs.LG</category><category>cs.AI</category>
<pubDate>Thu, 24 Sep 2026 00:00:00 -0400</pubDate>
<arxiv:announce_type>new</arxiv:announce_type>
<dc:creator>Author {n} One, Author {n} Two, Author {n} Three</dc:creator></item>"""
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss xmlns:arxiv="http://arxiv.org/schemas/atom" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0"><channel>'
        "<title>cs.LG updates on arXiv.org</title><link>http://rss.arxiv.org/rss/cs.LG</link>"
        + "\n".join(items)
        + "</channel></rss>"
    ).encode()


from digest.papers.ingest.store import BIBLIOGRAPHIC, FIRST_ANNOUNCEMENT  # noqa: E402

FIELDS = ("arxiv_id", "arxiv_version", *BIBLIOGRAPHIC, *FIRST_ANNOUNCEMENT)


def naive_store(records, source: Source) -> None:
    with transaction.atomic():
        for record in records:
            paper, _ = Paper.objects.update_or_create(
                key=record.key, defaults={name: getattr(record, name) for name in FIELDS}
            )
            Sighting.objects.get_or_create(
                source=source, paper=paper, defaults={"announce_type": record.announce_type}
            )


def timed(function, *args, **kwargs) -> float:
    start = time.perf_counter()
    function(*args, **kwargs)
    return time.perf_counter() - start


def clear() -> None:
    Sighting.objects.all().delete()
    Paper.objects.all().delete()


def main() -> None:
    call_command("migrate", verbosity=0)
    source, _ = Source.objects.get_or_create(
        name="bench", defaults={"kind": Source.Kind.ARXIV_FEED, "url": "https://example.org/"}
    )
    content = listing_feed(ITEMS)
    clear()

    start = time.perf_counter()
    parsed = parse_document(content)
    parse_seconds = time.perf_counter() - start
    assert len(parsed.records) == ITEMS and not parsed.errors

    store_first = timed(ingest_records, parsed.records, source=source)
    store_again = timed(ingest_records, parsed.records, source=source)
    assert Paper.objects.count() == ITEMS
    clear()
    naive_first = timed(naive_store, parsed.records, source)
    naive_again = timed(naive_store, parsed.records, source)
    clear()
    source.delete()

    print(f"ingest bench: {ITEMS} arXiv listing items, {len(content) // 1024} KiB, "
          f"database {connection.vendor}")  # fmt: skip
    print(f"  parse (detect + XML + cleaning)   {parse_seconds:7.3f} s")
    print(f"  store, first time                 {store_first:7.3f} s   baseline "
          f"{naive_first:7.3f} s   ratio {naive_first / store_first:5.1f}x")  # fmt: skip
    print(f"  store again (nothing changes)     {store_again:7.3f} s   baseline "
          f"{naive_again:7.3f} s   ratio {naive_again / store_again:5.1f}x")  # fmt: skip


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(SCRATCH, ignore_errors=True)
