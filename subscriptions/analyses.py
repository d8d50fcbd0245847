"""Papers analysed once for every process: reading and writing ``PaperAnalysis`` rows.

The match step analyses each new paper and stores the analysis (``docs_of``); the recent papers
store one for any paper of their window that lacks a current one (``analyse_papers``: papers
older than the first match step, edited since, or analysed by another version: see
``has_current_analysis``). Writes are upserts, so two processes analysing the same paper at once
both succeed. An analysis takes ~6 KB; the match step drops those of papers older than any
window reads (``forget_old_analyses``), so the table holds a month of papers, not all of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from django.db.models import BooleanField, ExpressionWrapper, F, Q, QuerySet

from digest.papers.models import Paper
from subscriptions.documents import ANALYSIS_VERSION, PaperDoc
from subscriptions.models import PaperAnalysis

# What analysing a paper reads.
TEXT_FIELDS = ("id", "title", "abstract", "authors", "categories", "modified_at")
BATCH = 500  # papers per query and per write (SQLite limits the parameters of one statement)
# The longest window analyses are read for: a preview's (the rematch's and the idf's are a week).
# An older paper previewed is analysed again, and dropped again by the next match step.
KEPT_DAYS = 31


def current_analyses() -> QuerySet[PaperAnalysis]:
    """Analyses written by this version of the analysis since their paper was last edited."""
    return PaperAnalysis.objects.filter(
        version=ANALYSIS_VERSION, paper_modified_at=F("paper__modified_at")
    )


def has_current_analysis() -> ExpressionWrapper:
    """For ``Paper.objects.annotate``: whether the paper has a current analysis (false or
    ``None`` when it has none)."""
    current = Q(analysis__version=ANALYSIS_VERSION, analysis__paper_modified_at=F("modified_at"))
    return ExpressionWrapper(current, output_field=BooleanField())


def analyse_papers(ids: list[int]) -> dict[int, PaperDoc]:
    """Analyse and store the papers ``ids``; returns them analysed, by id."""
    docs: dict[int, PaperDoc] = {}
    for start in range(0, len(ids), BATCH):
        batch = Paper.objects.filter(pk__in=ids[start : start + BATCH]).only(*TEXT_FIELDS)
        docs.update(analyse_and_store(batch))
    return docs


def analyse_and_store(papers: Iterable[Paper]) -> dict[int, PaperDoc]:
    """Analyse ``papers`` (loaded with ``TEXT_FIELDS``) and store their analyses, replacing
    older ones; returns the analysed papers by id."""
    docs: dict[int, PaperDoc] = {}
    rows = []
    for paper in sorted(papers, key=lambda paper: paper.pk):  # one lock order for concurrent runs
        doc = docs[paper.pk] = PaperDoc.from_paper(paper)
        rows.append(
            PaperAnalysis(
                paper_id=paper.pk,
                version=ANALYSIS_VERSION,
                paper_modified_at=paper.modified_at,
                stems=doc.stem_text(),
                names=doc.name_text(),
                pairs=doc.pair_text(),
                words=doc.word_text(),
                doc=doc.to_json(),
            )
        )
    PaperAnalysis.objects.bulk_create(
        rows,
        batch_size=BATCH,
        update_conflicts=True,
        unique_fields=["paper"],
        update_fields=["version", "paper_modified_at", "stems", "names", "pairs", "words", "doc"],
    )
    return docs


def docs_of(papers: Sequence[Paper]) -> list[PaperDoc]:
    """Each of ``papers`` (loaded with ``TEXT_FIELDS``) analysed: read from its current stored
    analysis, or analysed now and stored."""
    stored: dict[int, str] = {}
    for start in range(0, len(papers), BATCH):
        ids = [paper.pk for paper in papers[start : start + BATCH]]
        stored.update(current_analyses().filter(paper_id__in=ids).values_list("paper_id", "doc"))
    analysed = analyse_and_store([paper for paper in papers if paper.pk not in stored])
    return [
        analysed[paper.pk] if paper.pk in analysed else PaperDoc.from_json(stored[paper.pk])
        for paper in papers
    ]


def forget_old_analyses(now: dt.datetime) -> int:
    """Delete the analyses of papers first seen more than ``KEPT_DAYS`` days before ``now``;
    returns how many."""
    since = now - dt.timedelta(days=KEPT_DAYS)
    deleted, _ = PaperAnalysis.objects.filter(paper__created_at__lt=since).delete()
    return deleted
