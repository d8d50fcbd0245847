"""Storing parsed records: one ``Paper`` row per paper, whichever sources saw it.

Rules, in the order they matter:

* **Identity.** A record lands on the row with its arXiv id, else on a row with its DOI, else
  on its ``key`` (``doi:…`` / ``url:…``). A row first keyed by DOI is re-keyed ``arxiv:<id>``
  when an arXiv source names its id.
* **Who may overwrite what.** arXiv's own sources (API and listing feeds) own the bibliographic
  fields: they overwrite them with what they say, unless they describe an *older* version than
  the one stored. Hugging Face owns upvotes, the code link, its page link and what its daily
  list says (the day, the submitter, the organisation, the thumbnail). Every other
  source, and every other field, only fills in what is still empty. Nobody blanks a field
  because they do not mention it.
* **Announcements.** ``created_at`` is set once, when Paperboy first sees a paper; digests are
  built from it. A ``replace``/``replace-cross`` updates the stored paper (version, title,
  abstract, ...) and leaves ``created_at``, ``matched_at`` and the first announce type alone,
  so it is never announced again as new.
* **A replacement for a paper never seen before** (an old paper revised today) is stored,
  with announce type ``replace``, but *with ``matched_at`` already set*: the match step skips
  it, so it enters no digest. A digest is "new papers"; a revision of a paper from 2020 is not
  one, and subscribers who wanted it got it when it was new. The row still exists so that
  later sources (Hugging Face upvotes, a new version) merge into it.
* **Size.** Text from a feed is capped when stored (``CAPS``), so one enormous entry cannot make
  a row, a digest or a reader's Atom feed enormous: see ``cap_record``.
* **Idempotence.** Fields are compared before anything is written; a row whose values did not
  change is not updated at all (``modified_at`` keeps its value).
* **Atomicity.** One transaction per feed: papers, their updates and the source's sightings
  commit together or not at all. Existing rows are locked (``SELECT … FOR UPDATE``, in id
  order) so that two workers ingesting overlapping feeds do not lose each other's updates;
  when both insert the same new paper, the loser's transaction is retried and then sees the
  winner's row.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from digest.papers.models import Paper, Sighting, Source

from .records import PaperRecord
from .text import storable

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
BATCH = 300  # records per lookup query: three IN lists stay far below SQLite's variable limit

ARXIV_KINDS = frozenset({Source.Kind.ARXIV_API, Source.Kind.ARXIV_FEED})
BIBLIOGRAPHIC = (
    "title",
    "abstract",
    "authors",
    "categories",
    "primary_category",
    "comment",
    "journal_ref",
    "doi",
    "published_at",
    "updated_at",
    "abs_url",
    "pdf_url",
)
HUGGING_FACE = (
    "upvotes",
    "code_url",
    "hf_url",
    "hf_daily_on",
    "hf_submitter",
    "hf_organization",
    "thumbnail_url",
)
FIRST_ANNOUNCEMENT = ("announced_on", "announce_type")

# Field lengths, checked here so SQLite (which does not enforce them) and PostgreSQL (which
# does) accept and refuse the same records.
_MAX_LENGTHS = {
    "key": 500,
    "arxiv_id": 50,
    "doi": 200,
    "primary_category": 50,
    "announce_type": 20,
    "abs_url": 1000,
    "pdf_url": 1000,
    "code_url": 1000,
    "hf_url": 1000,
    "hf_submitter": 200,
    "hf_organization": 200,
    "thumbnail_url": 1000,
}
_EMPTY: tuple[Any, ...] = ("", None, [])

# Characters kept of each text, far above anything real and far below what hurts:
# * title: arXiv titles stay under 300 characters, the longest journal titles under 600.
# * abstract: arXiv refuses abstracts over 1,920 characters; journals' structured abstracts
#   rarely pass 5,000. 20,000 keeps all of them whole.
# * comment, journal_ref: a line or two at arXiv ("12 pages, 5 figures, accepted at ...").
# * authors: collaborations (LIGO/Virgo, ATLAS) list a thousand names or more in the metadata,
#   and subscribers follow authors by name, so 1,000 names are kept; 300 characters hold a
#   name with its affiliation. Worst case about 300 KB per row, not 60 MB.
# * categories: arXiv gives a handful; generic feeds' tags are many. 50 characters is the
#   primary_category column.
CAPS = {"title": 1_000, "abstract": 20_000, "comment": 2_000, "journal_ref": 1_000}
MAX_AUTHORS, MAX_AUTHOR_CHARS = 1_000, 300
MAX_CATEGORIES, MAX_CATEGORY_CHARS = 100, 50
_TEXT_FIELDS = (
    "title",
    "arxiv_id",
    "doi",
    "link",
    "abstract",
    "primary_category",
    "comment",
    "journal_ref",
    "announce_type",
    "abs_url",
    "pdf_url",
    "code_url",
    "hf_url",
    "hf_submitter",
    "hf_organization",
    "thumbnail_url",
)


def _text_problem(value: object) -> str:
    """Why the database cannot store ``value`` as text, or ``""``. Parsers clean the text of
    titles and abstracts; identifiers and links are stored as the feed wrote them, so a broken
    character there costs its record."""
    if not isinstance(value, str):
        return f"is not text ({value.__class__.__name__})"
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"contains a lone surrogate (U+{ord(value[exc.start]):04X}), which is not text"
    return ""


@dataclass
class IngestResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"
        if self.errors:
            text += f", {len(self.errors)} skipped"
        return text


def ingest_records(records: Iterable[PaperRecord], *, source: Source) -> IngestResult:
    """Store ``records`` as seen by ``source``, in one transaction. Invalid records are
    reported in ``errors`` and skipped; valid ones are stored."""
    result = IngestResult()
    valid: list[PaperRecord] = []
    for record in records:
        problem = invalid_reason(record)
        if problem:
            # The key may hold the very character that made the record invalid.
            where = storable(record.key or record.title[:80] or "?")
            result.errors.append(f"{where}: {problem}; skipped")
        else:
            valid.append(cap_record(record))
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                created, updated, unchanged = _store(valid, source)
            break
        except (IntegrityError, OperationalError) as exc:
            if attempt == MAX_ATTEMPTS or not _is_race(exc):
                raise
            logger.info(
                "ingest of %s raced another writer (%s); retrying", source, str(exc).splitlines()[0]
            )
    result.created, result.updated, result.unchanged = created, updated, unchanged
    return result


def invalid_reason(record: PaperRecord) -> str:
    """Why ``record`` cannot be stored, or ``""``. Everything the database would refuse is
    caught here, before the transaction, so that one record never costs the others."""
    if not record.key:
        return "no arXiv id, DOI or link"
    if not record.title:
        return "no title"
    for name in _TEXT_FIELDS:
        problem = _text_problem(getattr(record, name))
        if problem:
            return f"{name} {problem}"
    for name in ("authors", "categories"):
        values = getattr(record, name)
        if not isinstance(values, list):
            return f"{name} is not a list"
        for value in values:
            problem = _text_problem(value)
            if problem:
                return f"{name} {problem}"
    for name in ("published_at", "updated_at"):
        value = getattr(record, name)
        if value is None:
            continue
        if not isinstance(value, dt.datetime) or value.utcoffset() is None:
            return f"{name} is not a date and time with a zone"
        try:
            value.astimezone(dt.UTC)
        except OverflowError:
            return f"{name} {value.isoformat()} is out of range"
    for name in ("announced_on", "hf_daily_on"):
        value = getattr(record, name)
        if value is not None and not isinstance(value, dt.date):
            return f"{name} is not a date"
    for name, limit in _MAX_LENGTHS.items():
        value = record.key if name == "key" else getattr(record, name)
        if len(value) > limit:
            return f"{name} is longer than {limit} characters"
    if record.upvotes is not None and not 0 <= record.upvotes < 2**31:
        return f"upvotes {record.upvotes} out of range"
    if record.arxiv_version is not None and not 0 < record.arxiv_version < 2**15:
        return f"version {record.arxiv_version} out of range"
    return ""


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def cap_record(record: PaperRecord) -> PaperRecord:
    """``record`` with every text within ``CAPS`` (an ellipsis marks a cut) and at most
    ``MAX_AUTHORS`` authors and ``MAX_CATEGORIES`` categories. Categories longer than a
    category can be are dropped rather than cut: a cut one would name another category."""
    return replace(
        record,
        **{name: _cut(getattr(record, name), limit) for name, limit in CAPS.items()},
        authors=[_cut(name, MAX_AUTHOR_CHARS) for name in record.authors[:MAX_AUTHORS]],
        categories=[
            category for category in record.categories if len(category) <= MAX_CATEGORY_CHARS
        ][:MAX_CATEGORIES],
    )


def _is_race(exc: Exception) -> bool:
    if isinstance(exc, IntegrityError):
        return True  # another transaction inserted the same key first
    # PostgreSQL: deadlock_detected / serialization_failure.
    return getattr(exc.__cause__, "sqlstate", None) in ("40P01", "40001")


def _chunks(items: list[PaperRecord]) -> Iterator[list[PaperRecord]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


class _Index:
    """The papers a batch touches, findable by arXiv id, key and DOI."""

    def __init__(self, papers: Iterable[Paper]) -> None:
        self.by_arxiv: dict[str, Paper] = {}
        self.by_key: dict[str, Paper] = {}
        self.by_doi: dict[str, list[Paper]] = {}
        for paper in papers:
            self.add(paper)

    def add(self, paper: Paper) -> None:
        if paper.arxiv_id:
            self.by_arxiv[paper.arxiv_id] = paper
        self.by_key[paper.key] = paper
        if paper.doi and paper not in self.by_doi.get(paper.doi.lower(), []):
            self.by_doi.setdefault(paper.doi.lower(), []).append(paper)

    def find(self, record: PaperRecord) -> Paper | None:
        if record.arxiv_id and record.arxiv_id in self.by_arxiv:
            return self.by_arxiv[record.arxiv_id]
        if record.key in self.by_key:
            return self.by_key[record.key]
        if record.doi:
            doi = record.doi.lower()
            if f"doi:{doi}" in self.by_key:
                return self.by_key[f"doi:{doi}"]
            for paper in self.by_doi.get(doi, []):
                # The same DOI on two different arXiv papers is two papers, not one.
                if not paper.arxiv_id or not record.arxiv_id:
                    return paper
        return None


def _lock_existing(records: list[PaperRecord]) -> list[Paper]:
    papers: dict[int, Paper] = {}
    for chunk in _chunks(records):
        keys = {record.key for record in chunk}
        keys |= {f"doi:{record.doi.lower()}" for record in chunk if record.doi}
        arxiv_ids = {record.arxiv_id for record in chunk if record.arxiv_id}
        dois = {record.doi for record in chunk if record.doi}
        dois |= {doi.lower() for doi in dois}
        condition = Q(key__in=keys) | Q(arxiv_id__in=arxiv_ids) | Q(doi__in=dois)
        for paper in Paper.objects.select_for_update().filter(condition).order_by("pk"):
            papers[paper.pk] = paper
    return list(papers.values())


def _store(records: list[PaperRecord], source: Source) -> tuple[int, int, int]:
    now = timezone.now()
    index = _Index(_lock_existing(records))
    new_papers: list[Paper] = []
    existing: dict[int, Paper] = {}
    changed: dict[int, set[str]] = {}
    sighting_types: dict[int, str] = {}  # id(paper) → how this source announced it

    for record in records:
        paper = index.find(record)
        if paper is None:
            paper = Paper(key=record.key, created_at=now)
            if record.is_replacement:
                paper.matched_at = now  # see the module docstring: not announced as new
            new_papers.append(paper)
            merge_record(paper, record, kind=source.kind, is_new=True)
        else:
            fields = merge_record(paper, record, kind=source.kind)
            if paper.pk is not None:
                existing[paper.pk] = paper
                changed.setdefault(paper.pk, set()).update(fields)
        sighting_types.setdefault(id(paper), record.announce_type)
        index.add(paper)

    # Inserts in key order, so two writers that overlap wait for each other instead of
    # deadlocking.
    new_papers.sort(key=lambda paper: paper.key)
    Paper.objects.bulk_create(new_papers, batch_size=BATCH)

    by_fields: dict[frozenset[str], list[Paper]] = {}
    for pk, fields in changed.items():
        if fields:
            existing[pk].modified_at = now  # bulk_update does not apply auto_now
            if fields & {"title", "abstract"}:
                # The embedding was of the old text: the match step embeds the paper again.
                existing[pk].embedding = None
                fields = fields | {"embedding"}
            by_fields.setdefault(frozenset(fields), []).append(existing[pk])
    for fields, papers in by_fields.items():
        Paper.objects.bulk_update(papers, [*sorted(fields), "modified_at"], batch_size=BATCH)

    papers = new_papers + list(existing.values())
    already_seen: set[int] = set()
    paper_ids = [paper.pk for paper in papers]
    for start in range(0, len(paper_ids), BATCH):
        already_seen.update(
            Sighting.objects.filter(
                source=source, paper_id__in=paper_ids[start : start + BATCH]
            ).values_list("paper_id", flat=True)
        )
    Sighting.objects.bulk_create(
        [
            Sighting(
                source=source,
                paper=paper,
                announce_type=sighting_types[id(paper)],
                first_seen_at=now,
            )
            for paper in papers
            if paper.pk not in already_seen
        ],
        batch_size=BATCH,
        ignore_conflicts=True,  # the same source ingested twice at once: one sighting
    )

    updated = sum(1 for fields in changed.values() if fields)
    return len(new_papers), updated, len(existing) - updated


def merge_record(paper: Paper, record: PaperRecord, *, kind: str, is_new: bool = False) -> set[str]:
    """Apply what ``record`` (from a source of ``kind``) says to ``paper``, following the rules
    in the module docstring. Returns the names of the fields whose value changed."""
    changed: set[str] = set()

    def put(name: str, value: Any) -> None:
        if value in _EMPTY or getattr(paper, name) == value:
            return
        setattr(paper, name, value)
        changed.add(name)

    def fill(name: str, value: Any) -> None:
        if getattr(paper, name) in _EMPTY:
            put(name, value)

    if record.arxiv_id and paper.arxiv_id != record.arxiv_id:
        put("arxiv_id", record.arxiv_id)
        put("key", record.key)
    elif is_new:
        put("key", record.key)

    stale = (
        record.arxiv_version is not None
        and paper.arxiv_version is not None
        and record.arxiv_version < paper.arxiv_version
    )
    owns_bibliography = is_new or (kind in ARXIV_KINDS and not stale)
    for name in BIBLIOGRAPHIC:
        (put if owns_bibliography else fill)(name, getattr(record, name))
    if record.arxiv_version is not None and not stale:
        put("arxiv_version", record.arxiv_version)
    for name in HUGGING_FACE:
        value = getattr(record, name)
        (put if kind == Source.Kind.HF_DAILY or is_new else fill)(name, value)
    for name in FIRST_ANNOUNCEMENT:
        fill(name, getattr(record, name))
    return changed
