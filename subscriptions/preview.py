"""The preview: the papers a subscription would have matched over the last days, best first.

``run_preview(query, categories=, interest=, examples=, strictness=)`` is the one way to
preview what a subscription follows — the subscription form and its live preview, the
onboarding, the query help page, the JSON endpoint and ``manage.py match`` all call it. It
matches as the match step does:

* **matched** = in one of the ``categories`` (when there are any) AND (the boolean query
  matches OR the paper is close enough in meaning to the interest — its words and example
  papers — for the strictness); categories alone follow every paper in them; without a query,
  papers are matched by meaning only. The boolean side is the percolator's own search over the
  recent papers (``subscriptions.recent``) of ``compose_query(query, categories)``, as
  ``Subscription.boolean_query`` is compiled; the meaning side is
  ``subscriptions.recommendations`` over the recent papers' stored embeddings. A recent
  example paper is matched like any other, as the match step matches it.
* **ranked** by the one hybrid ranking (``subscriptions.hybrid``): the keyword score normalised
  over the matched papers, plus z — closeness in meaning to the interest, or, for a query alone,
  to the query's words (which only rank) — each paper shown with its reasons and its z.

It never raises for what a person typed: an invalid query comes back in ``error`` (a
``QueryError``, with the column where the query went wrong); unknown example papers, too many
of them, an over-long interest or a strictness out of range in ``problem``, a sentence to show.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from django.conf import settings
from django.utils import timezone

from digest.papers.models import Paper
from subscriptions import explain, recommendations, semantic
from subscriptions.analyses import KEPT_DAYS
from subscriptions.compiled import CNode, Hit, compile_query, match, public_hits
from subscriptions.query import QueryError, compose_query, parse
from subscriptions.ranking import score
from subscriptions.recent import RecentPapers, recent_papers
from subscriptions.services import MAX_EXAMPLES

PREVIEW_DAYS = 7
PREVIEW_MAX_DAYS = KEPT_DAYS  # longer works, but analyses older papers again each time
PREVIEW_LIMIT = 20  # papers shown; ``total`` says how many matched
PAPERS_PER_LOAD = 100
INTEREST_MAX_LENGTH = 1000


class PreviewHit:
    """A paper the subscription would have matched: ``.paper`` (loaded on first use, in
    batches), ``.hits`` ([{"term", "field"}]), ``.score`` (the hybrid score), ``.similarity``
    (z, None without one), ``.lines`` (the reasons, ``hybrid.rank``; ``.reasons`` as text) and
    ``.by_meaning`` (matched by meaning, not by the query)."""

    __slots__ = ("paper_id", "hits", "score", "similarity", "lines", "by_meaning", "_loader")

    def __init__(
        self,
        paper_id: int,
        hits: list[dict[str, str]],
        score: float,
        loader,
        *,
        similarity: float | None = None,
        lines: tuple[explain.Line, ...] = (),
        by_meaning: bool = False,
    ):
        self.paper_id = paper_id
        self.hits = hits
        self.score = score
        self.similarity = similarity
        self.lines = lines
        self.by_meaning = by_meaning
        self._loader = loader

    @property
    def paper(self) -> Paper:
        return self._loader(self.paper_id)

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(str(line) for line in self.lines)

    def __repr__(self) -> str:
        return (
            f"PreviewHit(paper_id={self.paper_id}, score={self.score}, "
            f"similarity={self.similarity}, reasons={self.reasons})"
        )


class _PaperLoader:
    """Loads the papers of a preview ``PAPERS_PER_LOAD`` at a time, in order, as their
    ``.paper`` is read: listing 20 of 5,000 matches loads 100 papers, not 5,000."""

    def __init__(self, paper_ids: list[int]):
        self.paper_ids = paper_ids
        self.position = {paper_id: index for index, paper_id in enumerate(paper_ids)}
        self.loaded: dict[int, Paper] = {}

    def __call__(self, paper_id: int) -> Paper:
        if paper_id not in self.loaded:
            start = self.position[paper_id]
            batch = self.paper_ids[start : start + PAPERS_PER_LOAD]
            self.loaded.update(Paper.objects.in_bulk(batch))
        return self.loaded[paper_id]


@dataclass
class PreviewResult:
    query: str
    days: int = PREVIEW_DAYS
    categories: list[str] = field(default_factory=list)
    interest: str = ""
    examples: list[str] = field(default_factory=list)  # arXiv ids, as given
    strictness: int | None = None  # as given; None: the interest's default
    hits: list[PreviewHit] = field(default_factory=list)  # the best ones, at most the limit
    total: int = 0  # papers matched in all
    error: QueryError | None = None
    problem: str = ""  # anything else that stops the preview, as a sentence
    by_meaning: bool = False  # whether papers were matched by meaning too
    threshold: int | None = None  # the strictness applied, when matched by meaning
    not_embedded: int = 0  # recent papers not yet read for meaning (left out of that side)

    @property
    def empty_query(self) -> bool:
        """Nothing says what to follow: no query, categories, interest or example papers."""
        return not (self.query.strip() or self.categories or self.interest.strip() or self.examples)


def run_preview(
    text: str = "",
    *,
    categories: Sequence[str] = (),
    interest: str = "",
    examples: Sequence[str] = (),
    strictness: int | None = None,
    days: int = PREVIEW_DAYS,
    limit: int | None = PREVIEW_LIMIT,
    now: dt.datetime | None = None,
) -> PreviewResult:
    """The papers a subscription of ``text`` (a boolean query), ``categories`` (arXiv codes),
    ``interest`` (free text) and ``examples`` (arXiv ids, a version suffix ignored) at
    ``strictness`` (1 loose … 5 strict; None: the interest's default) would have matched among
    the papers first seen in the last ``days`` days: the best ``limit`` (all with ``None``),
    best first. Nothing to follow previews nothing."""
    result = PreviewResult(
        query=text,
        days=days,
        categories=list(dict.fromkeys(categories)),
        interest=interest,
        examples=list(dict.fromkeys(examples)),
        strictness=strictness,
    )
    if result.empty_query:
        return result
    try:
        parsed = parse(text) if text.strip() else None
        boolean = compose_query(text, result.categories) if text.strip() else ""
        in_categories = _compile(compose_query("", result.categories))
        node = _compile(boolean)
    except QueryError as error:
        result.error = error
        return result
    result.problem = _problem(result)
    if result.problem:
        return result
    try:
        papers = recommendations.example_papers(result.examples) if result.examples else []
    except recommendations.UnknownPapers as unknown:
        result.problem = unknown_examples_message(unknown.missing)
        return result
    meaning = recommendations.interest_of(interest, papers, query=parsed)
    if (interest.strip() or papers) and not meaning.matches:
        # Nothing to embed (no known word): the subscription would match nothing by meaning.
        result.problem = "None of the words of your interest is known to us; try other words."
        return result
    if not text.strip() and not meaning.matches:
        node = in_categories  # categories alone: every paper in them
    now = now or timezone.now()
    since = now - dt.timedelta(days=days)
    window = max(days, settings.MATCH_RECENT_DAYS)
    recent = recent_papers(window, now=now)

    # The boolean side: the percolator's search, within the categories.
    found: dict[int, _Found] = {}
    by_meaning: set[int] = set()
    if node is not None:
        for paper, hits in recent.search(node, since=since):
            found[paper.id] = _Found(
                keyword=score(hits, recent.idf, paper.upvotes),
                hits=hits,
                featured=paper.featured or paper.featured_everywhere,
                upvotes=paper.upvotes,
                seen=paper.created_at.timestamp(),
            )

    # The meaning side: every embedded recent paper close enough, within the categories.
    embedded = None
    if meaning.vector is not None:
        embedded = recommendations.embedded_papers(
            window, now=now, embed_missing=meaning.matches, recent=recent.signature
        )
        result.not_embedded = embedded.not_embedded
    if embedded is not None and meaning.matches:
        result.by_meaning = True
        result.threshold = strictness or meaning.default_strictness()
        rows = embedded.rows_since(since)
        z = recommendations.similarity(embedded, rows, meaning)
        close = rows[recommendations.passing(z, meaning, strictness)]
        close = [row for row in close.tolist() if int(embedded.ids[row]) not in found]
        if in_categories is not None:
            close = _in_categories(recent, in_categories, embedded, close)
        by_meaning.update(int(embedded.ids[row]) for row in close)
        for row in close:
            found[int(embedded.ids[row])] = _Found(
                keyword=0.0,
                hits=[],
                featured=bool(embedded.featured[row]),
                upvotes=int(embedded.upvotes[row]),
                seen=float(embedded.seen[row]),
            )

    result.total = len(found)
    values = list(found.values())
    ranked = recommendations.rank(
        list(found),
        embedded=embedded,
        interest=meaning,
        keyword=np.array([value.keyword for value in values]),
        hits=_PublicHits([value.hits for value in values]),
        featured=np.array([value.featured for value in values], dtype=bool),
        upvotes=np.array([value.upvotes for value in values], dtype=np.int64),
        seen=np.array([value.seen for value in values], dtype=np.float64),
        limit=limit,
    )
    loader = _PaperLoader([item.paper_id for item in ranked])
    result.hits = [
        PreviewHit(
            item.paper_id,
            item.hits,
            item.score,
            loader,
            similarity=item.similarity,
            lines=item.lines,
            by_meaning=item.paper_id in by_meaning,
        )
        for item in ranked
    ]
    return result


class _Found(NamedTuple):
    """A matched paper, as ranking reads it."""

    keyword: float  # the boolean match's score; 0 for a paper matched by meaning only
    hits: list[Hit]
    featured: bool
    upvotes: int
    seen: float  # first seen, as a timestamp


class _PublicHits(Sequence):
    """Each paper's hits as the page shows them (``public_hits``), made only for the papers
    shown: a broad query matches thousands."""

    def __init__(self, raw: list[list[Hit]]):
        self.raw = raw

    def __len__(self) -> int:
        return len(self.raw)

    def __getitem__(self, index):
        return public_hits(self.raw[index])


def _compile(text: str) -> CNode | None:
    return compile_query(parse(text)) if text else None


def _problem(result: PreviewResult) -> str:
    """What, besides the query, stops a preview: a sentence for the person."""
    if len(result.interest) > INTEREST_MAX_LENGTH:
        return (
            f"Keep your interest under {INTEREST_MAX_LENGTH} characters"
            f" (it has {len(result.interest)})."
        )
    unreadable = [entry for entry in result.examples if not recommendations.is_arxiv_id(entry)]
    if unreadable:
        return not_arxiv_ids_message(unreadable)
    if len(result.examples) > MAX_EXAMPLES:
        return too_many_examples_message(len(result.examples))
    if result.strictness is not None and result.strictness not in semantic.STRICTNESS_Z:
        return "How strict is 1 (loose) to 5 (strict)."
    return ""


def _in_categories(
    recent: RecentPapers, in_categories: CNode, embedded, rows: list[int]
) -> list[int]:
    """The ``rows`` whose paper is in one of the categories, by the percolator's own test."""
    papers = recent.read([int(embedded.ids[row]) for row in rows])
    return [
        row
        for row in rows
        if (paper := papers.get(int(embedded.ids[row]))) is not None
        and match(in_categories, paper.doc, [])
    ]


# --- What the form and the preview say about example papers -------------------------------------


def not_arxiv_ids_message(entries: Sequence[str]) -> str:
    return (
        f"Not an arXiv id: {listed(entries)}. Write ids like 2407.05407, or arxiv.org/abs/"
        " addresses."
    )


def too_many_examples_message(count: int) -> str:
    return f"Give at most {MAX_EXAMPLES} example papers (you gave {count})."


def unknown_examples_message(missing: Sequence[str]) -> str:
    return (
        f"We have no paper with arXiv id {listed(missing)}: an example must be a paper"
        " Paperboy has collected."
    )


def listed(entries: Sequence[str], shown: int = 5) -> str:
    """Entries for a message: the first few, each cut short (the text is whatever was typed)."""
    cut = [entry if len(entry) <= 40 else entry[:39] + "…" for entry in entries[:shown]]
    more = len(entries) - shown
    return ", ".join(cut) + (f" and {more} more" if more > 0 else "")
