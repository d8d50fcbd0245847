"""Recent papers ranked for an interest written in words and/or given as example papers: what
``manage.py recommend`` prints, and what a preview of a semantic interest shows.

The interest's vector is compared with the stored embeddings of every visible paper first seen
in the last ``days`` days (one matrix-vector product), standardised against those papers as the
background (``subscriptions.semantic``), and ranked by the hybrid ranking
(``subscriptions.hybrid``) with its reasons. The example papers themselves are left out.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.utils import timezone

from digest.papers.models import Paper
from subscriptions import hybrid, semantic
from subscriptions.embeddings import embed_new_papers, stack

ARXIV_VERSION = re.compile(r"v\d+$")


class UnknownPapers(LookupError):
    """Example papers that are not in the database: ``missing`` lists the ids as given."""

    def __init__(self, missing: Sequence[str]):
        self.missing = list(missing)
        super().__init__(f"no paper with arXiv id {', '.join(self.missing)}")


@dataclass(frozen=True)
class Recommendation:
    paper_id: int
    label: str  # the arXiv id, or the key when there is none
    title: str
    score: float
    reasons: tuple[str, ...]


def example_papers(arxiv_ids: Sequence[str]) -> list[Paper]:
    """The papers with these arXiv ids (a version suffix such as ``v2`` is ignored), in the
    order given; raises :class:`UnknownPapers` naming those that are not stored."""
    wanted = {ARXIV_VERSION.sub("", given.strip()): given for given in arxiv_ids}
    found = {paper.arxiv_id: paper for paper in Paper.objects.filter(arxiv_id__in=list(wanted))}
    missing = [given for bare, given in wanted.items() if bare not in found]
    if missing:
        raise UnknownPapers(missing)
    return [found[bare] for bare in wanted]


def recommend(
    text: str = "",
    like: Sequence[str] = (),
    *,
    days: int = 7,
    limit: int | None = None,
    now: dt.datetime | None = None,
) -> list[Recommendation]:
    """Every visible paper first seen in the last ``days`` days, best first, for the interest
    ``text`` and/or the papers with the arXiv ids ``like``. Papers not embedded yet are
    embedded first. Raises ``UnknownPapers`` and ``ValueError`` (no interest at all)."""
    examples = example_papers(like) if like else []
    embed_new_papers()
    if examples:
        for paper in examples:
            paper.refresh_from_db(fields=["embedding"])
    example_vectors = stack(paper.embedding for paper in examples)
    interest = semantic.interest_vector(text, example_vectors if examples else None)
    if interest is None:
        raise ValueError("an interest needs some words or some example papers")
    now = now or timezone.now()
    example_ids = {paper.pk for paper in examples}
    recent = Paper.objects.visible().filter(
        created_at__gte=now - dt.timedelta(days=days), embedding__isnull=False
    )
    rows = [
        row for row in recent.values_list("pk", "embedding", "upvotes") if row[0] not in example_ids
    ]
    if not rows:
        return []
    ids = [row[0] for row in rows]
    papers = stack(row[1] for row in rows)
    background = semantic.Background.of(papers)
    similarity = semantic.rank_by_interest(papers, interest, background)
    # Featured papers are few: one indexed query, not a converted boolean on every row.
    featured_ids = set(recent.filter(featured=True).values_list("pk", flat=True))
    featured = np.array([paper_id in featured_ids for paper_id in ids])
    upvotes = np.array([row[2] for row in rows])
    scores = hybrid.combine(similarity=similarity, featured=featured, upvotes=upvotes)
    order = np.argsort(-scores, kind="stable")[: limit if limit is not None else len(ids)]
    nearest, liked_similarity = _nearest_example(papers[order], example_vectors, background)
    shown = Paper.objects.only("pk", "arxiv_id", "key", "title").in_bulk(
        [ids[index] for index in order]
    )
    interest_words = text.strip()
    found = []
    for position, index in enumerate(order):
        paper = shown[ids[index]]
        ranked = hybrid.rank(
            hybrid.Evidence(
                similarity=float(similarity[index]),
                interest=interest_words,
                liked_title=examples[nearest[position]].title if examples else None,
                liked_similarity=float(liked_similarity[position]) if examples else None,
                featured=bool(featured[index]),
                upvotes=int(upvotes[index]),
            )
        )
        found.append(
            Recommendation(
                paper.pk, paper.arxiv_id or paper.key, paper.title, ranked.score, ranked.reasons
            )
        )
    return found


def _nearest_example(
    papers: np.ndarray, examples: np.ndarray, background: semantic.Background
) -> tuple[np.ndarray, np.ndarray]:
    """Per paper, the closest example paper and that closeness in z."""
    if not len(examples):
        return np.zeros(len(papers), dtype=int), np.zeros(len(papers))
    means, sds = background.spread(examples)
    z = semantic.standardise(examples @ papers.T, means, sds)  # examples × papers
    nearest = z.argmax(axis=0)
    return nearest, z[nearest, np.arange(len(papers))]
