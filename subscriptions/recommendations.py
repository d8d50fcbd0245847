"""Recent papers ranked by meaning: the one semantic ranking path of the preview
(``subscriptions.preview``) and of ``manage.py recommend``.

* :func:`embedded_papers` — the recent visible papers that have an embedding, as one matrix with
  what ranking reads (featured, upvotes, first seen) and their :class:`~semantic.Background`;
  held per process while the papers are unchanged (one aggregate query per call), so a preview
  as someone types costs one matrix-vector product, not reading 10 MB of embeddings again.
* :func:`interest_of` — what a subscription follows by meaning: its words and example papers as
  one vector (``semantic.interest_vector``), or the words of its boolean query, which only rank.
* :func:`similarity` and :func:`passing` — every paper's z for the interest; those above the
  strictness threshold (``semantic.STRICTNESS_Z``, the kind's default when none is given).
* :func:`rank` — candidates scored by the hybrid ranking (``subscriptions.hybrid.combine``),
  best first, and the best few explained (``hybrid.rank``: every reason it gives is checked
  against the evidence, e.g. "close in meaning" only from ``hybrid.CLOSE_IN_MEANING_Z``).

``recommend`` ranks every recent paper for an interest (no threshold, no query), leaving out the
example papers (a paper is trivially close to itself); the preview ranks what a subscription
would match, as the match step matches it.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.db.models import Count, Max
from django.utils import timezone

from digest.papers.models import Paper
from subscriptions import explain, hybrid, semantic
from subscriptions.embeddings import (
    DIMENSIONS,
    embed_new_papers,
    embed_papers,
    from_bytes,
    stack,
    to_bytes,
)
from subscriptions.query import Query
from subscriptions.recent import window_start

# A version suffix (``v2``): an example is the paper, whichever version was read.
ARXIV_VERSION = re.compile(r"v\d+$")
# arXiv identifiers: ``2407.05407`` (since 2007) and ``hep-th/9901001`` (before).
ARXIV_ID = re.compile(r"^(?:\d{4}\.\d{4,5}|[a-z][a-z-]*(?:\.[a-z]{2})?/\d{7})$", re.IGNORECASE)
ARXIV_ADDRESS = re.compile(
    r"^(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/(?P<id>[^?#]+?)(?:\.pdf)?/?(?:[?#].*)?$",
    re.IGNORECASE,
)
ID_SEPARATORS = re.compile(r"[\s,;]+")
# Recent papers a preview embeds itself when the match step has not yet (a fresh site, a listing
# just ingested): about 0.2 s. More than that are left out of the meaning side until the match
# step embeds them, so a preview stays fast; the result says how many.
EMBED_ON_READ = 200


class UnknownPapers(LookupError):
    """Example papers that are not in the database: ``missing`` lists the ids as given."""

    def __init__(self, missing: Sequence[str]):
        self.missing = list(missing)
        super().__init__(f"no paper with arXiv id {', '.join(self.missing)}")


def arxiv_ids_in(text: str) -> list[str]:
    """The arXiv ids written in ``text`` — separated by spaces, commas, semicolons or new lines —
    in order, each once, without their version (``2407.05407v2`` → ``2407.05407``). An
    arxiv.org/abs/ or /pdf/ address and an ``arXiv:`` prefix are read as the id they name.
    Entries that are not arXiv ids are kept as written: :func:`is_arxiv_id` tells them apart,
    :func:`example_papers` names them as unknown."""
    found = []
    for entry in ID_SEPARATORS.split(text or ""):
        if not entry:
            continue
        address = ARXIV_ADDRESS.match(entry)
        entry = address["id"] if address else entry
        if entry[:6].lower() == "arxiv:":
            entry = entry[6:]
        found.append(ARXIV_VERSION.sub("", entry) if is_arxiv_id(entry) else entry)
    return list(dict.fromkeys(found))


def is_arxiv_id(text: str) -> bool:
    """Whether ``text`` is an arXiv id, with or without a version."""
    return bool(ARXIV_ID.match(ARXIV_VERSION.sub("", text)))


def example_papers(arxiv_ids: Sequence[str]) -> list[Paper]:
    """The papers with these arXiv ids (a version suffix such as ``v2`` is ignored), in the
    order given; raises :class:`UnknownPapers` naming those that are not stored."""
    wanted = {ARXIV_VERSION.sub("", given.strip()): given for given in arxiv_ids}
    found = {paper.arxiv_id: paper for paper in Paper.objects.filter(arxiv_id__in=list(wanted))}
    missing = [given for bare, given in wanted.items() if bare not in found]
    if missing:
        raise UnknownPapers(missing)
    return [found[bare] for bare in wanted]


# --- The recent papers' embeddings ---------------------------------------------------------------


@dataclass(frozen=True)
class EmbeddedPapers:
    """The visible papers first seen since midnight ``days`` days ago that have an embedding,
    one row each, newest first."""

    signature: tuple
    ids: np.ndarray  # int64
    vectors: np.ndarray  # (n, DIMENSIONS) float32, unit rows
    seen: np.ndarray  # float64: created_at as a POSIX timestamp
    featured: np.ndarray  # bool: featured for its subscribers or for everyone
    upvotes: np.ndarray  # int64
    background: semantic.Background
    not_embedded: int  # recent visible papers left out: no embedding yet
    position: dict[int, int]  # paper id → row

    def __len__(self) -> int:
        return len(self.ids)

    def rows_since(self, since: dt.datetime) -> np.ndarray:
        """Row numbers of the papers first seen at or after ``since``."""
        return np.flatnonzero(self.seen >= since.timestamp())

    def rows_of(self, paper_ids: Sequence[int]) -> np.ndarray:
        """Row number of each paper, -1 for one that is not here (no embedding, or older)."""
        position = self.position
        return np.array([position.get(paper_id, -1) for paper_id in paper_ids], dtype=np.int64)


_cache: dict[int, EmbeddedPapers] = {}
_lock = threading.Lock()


def embedded_papers(
    days: int,
    *,
    now: dt.datetime | None = None,
    embed_missing: bool = False,
    recent: tuple | None = None,
) -> EmbeddedPapers:
    """The recent papers' embeddings (see :class:`EmbeddedPapers`), read again when papers
    were added, changed, hidden or embedded. With ``embed_missing``, up to ``EMBED_ON_READ``
    recent papers that have no embedding yet are embedded (and stored) first: for matching by
    meaning, not for ranking only (a paper without an embedding is ranked as a typical one).
    ``recent``: the (window start, count, latest change) of the same papers when the caller
    has just measured them (``RecentPapers.signature``), so they are not counted twice."""
    since = window_start(days, now)
    papers = Paper.objects.visible().filter(created_at__gte=since)
    if recent is None or recent[0] != since:
        summary = papers.aggregate(count=Count("id"), latest=Max("modified_at"))
        recent = (since, summary["count"], summary["latest"])
    # Embedding a paper changes neither the count nor the latest change. Papers without an
    # embedding are counted by their partial index (no row read: a fraction of a millisecond,
    # where counting the recent ones reads every row), and those among the recent ones only
    # when there are any: between an ingest and the daily run that embeds them.
    missing = Paper.objects.filter(embedding__isnull=True).count()
    not_embedded = papers.filter(embedding__isnull=True).count() if missing else 0
    if embed_missing and not_embedded:
        _embed_some(papers.filter(embedding__isnull=True))
        missing = Paper.objects.filter(embedding__isnull=True).count()
        not_embedded = papers.filter(embedding__isnull=True).count() if missing else 0
    signature = (*recent, missing)
    with _lock:
        cached = _cache.get(days)
        if cached is not None and cached.signature == signature:
            return cached
        rows = list(
            papers.filter(embedding__isnull=False)
            .order_by("-created_at", "-id")
            .values_list(
                "id", "embedding", "created_at", "featured", "featured_everywhere", "upvotes"
            )
        )
        vectors = stack(row[1] for row in rows)
        _cache[days] = EmbeddedPapers(
            signature=signature,
            ids=np.array([row[0] for row in rows], dtype=np.int64),
            vectors=vectors,
            seen=np.array([row[2].timestamp() for row in rows], dtype=np.float64),
            featured=np.array([row[3] or row[4] for row in rows], dtype=bool),
            upvotes=np.array([row[5] for row in rows], dtype=np.int64),
            background=semantic.Background.of(vectors),
            not_embedded=not_embedded,
            position={row[0]: number for number, row in enumerate(rows)},
        )
        return _cache[days]


def _embed_some(missing) -> None:
    """Embed and store the newest ``EMBED_ON_READ`` of ``missing`` (the match step embeds
    every new paper; this covers the papers it has not reached yet, within a preview's time)."""
    papers = list(
        missing.order_by("-created_at", "-id").only("pk", "title", "abstract")[:EMBED_ON_READ]
    )
    for paper, vector in zip(papers, embed_papers(papers), strict=True):
        paper.embedding = to_bytes(vector)
    Paper.objects.bulk_update(papers, ["embedding"])


def clear_cache() -> None:
    """Forget the embeddings held by this process."""
    with _lock:
        _cache.clear()


# --- Interests ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interest:
    """What a subscription follows by meaning, as one vector."""

    words: str  # the free-text interest, whitespace collapsed: quoted in the reason
    examples: tuple[Paper, ...]
    example_vectors: np.ndarray  # one row per example paper
    vector: np.ndarray | None  # unit vector; None when there is nothing to embed
    kind: semantic.Kind | None

    @property
    def matches(self) -> bool:
        """Whether papers are matched by meaning (words or example papers), not only ranked by
        it (the words of a boolean query)."""
        return self.vector is not None and self.kind is not semantic.Kind.QUERY

    def default_strictness(self) -> int:
        return semantic.DEFAULT_STRICTNESS_BY_KIND.get(self.kind, semantic.DEFAULT_STRICTNESS)


def interest_of(
    words: str = "", examples: Sequence[Paper] = (), *, query: Query | None = None
) -> Interest:
    """The interest of ``words`` and ``examples`` (papers lacking an embedding are embedded, not
    stored); with neither, the words of ``query``, which rank what the query matched."""
    words = " ".join((words or "").split())
    examples = tuple(dict.fromkeys(examples))
    missing = [paper for paper in examples if paper.embedding is None]
    fresh = iter(embed_papers(missing))
    example_vectors = np.array(
        [
            next(fresh) if paper.embedding is None else from_bytes(paper.embedding)
            for paper in examples
        ],
        dtype=np.float32,
    ).reshape(len(examples), DIMENSIONS)
    vector = semantic.interest_vector(words, example_vectors if examples else None)
    kind = semantic.interest_kind(text=words, papers=len(examples))
    if vector is None and query is not None:
        vector = semantic.interest_vector(semantic.query_interest_text(query))
        kind = semantic.Kind.QUERY if vector is not None else None
    return Interest(words, examples, example_vectors, vector, kind if vector is not None else None)


def similarity(embedded: EmbeddedPapers, rows: np.ndarray, interest: Interest) -> np.ndarray:
    """The z of each of the papers ``rows`` for the interest (spreads above the typical paper)."""
    if interest.vector is None or not len(rows):
        return np.zeros(len(rows))
    return semantic.rank_by_interest(embedded.vectors[rows], interest.vector, embedded.background)


def passing(z: np.ndarray, interest: Interest, strictness: int | None) -> np.ndarray:
    """Which z pass the threshold of ``strictness`` (1 loose … 5 strict; None: the interest's
    default). Nothing passes for an interest that only ranks."""
    if not interest.matches:
        return np.zeros(len(z), dtype=bool)
    return z >= semantic.strictness_z(strictness or interest.default_strictness())


# --- Ranking ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RankedPaper:
    paper_id: int
    score: float
    similarity: float | None  # z; None without an interest or an embedding
    hits: list[dict[str, str]]
    lines: tuple[explain.Line, ...]  # the reasons (``subscriptions.explain``)

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(str(line) for line in self.lines)


def rank(
    paper_ids: Sequence[int],
    *,
    embedded: EmbeddedPapers | None,
    interest: Interest,
    featured: np.ndarray,
    upvotes: np.ndarray,
    seen: np.ndarray,
    keyword: np.ndarray | None = None,
    hits: Sequence[list[dict[str, str]]] | None = None,
    limit: int | None = None,
) -> list[RankedPaper]:
    """``paper_ids`` best first by the hybrid ranking, the best ``limit`` (all with ``None``)
    with their reasons. ``keyword``: each paper's boolean-match score, 0 for one the query did
    not match (normalised here over these papers); ``featured``, ``upvotes``, ``seen`` (a
    timestamp: newer first among equals) per paper. A paper without an embedding has no z."""
    count = len(paper_ids)
    ids = np.asarray(paper_ids, dtype=np.int64)
    keyword = hybrid.normalise_keyword(keyword if keyword is not None else np.zeros(count))
    rows = embedded.rows_of(paper_ids) if embedded is not None else np.full(count, -1)
    has_z = (rows >= 0) & (interest.vector is not None)
    z = np.zeros(count)
    if has_z.any():
        z[has_z] = similarity(embedded, rows[has_z], interest)
    scores = hybrid.combine(keyword=keyword, similarity=z, featured=featured, upvotes=upvotes)
    # Best score first, then the newer paper, then the lower id: a total order.
    order = np.lexsort((ids, -np.asarray(seen, dtype=np.float64), -scores))
    shown = order if limit is None else order[:limit]
    nearest, _ = _nearest_example(embedded, rows[shown], interest)
    found = []
    for position, index in enumerate(shown):
        example = nearest[position]
        ranked = hybrid.rank(
            hybrid.Evidence(
                keyword=float(keyword[index]),
                hits=hits[index] if hits is not None else (),
                similarity=float(z[index]) if has_z[index] else None,
                interest=interest.words if interest.kind is not semantic.Kind.QUERY else "",
                example_title=interest.examples[example].title if example >= 0 else None,
                featured=bool(featured[index]),
                upvotes=int(upvotes[index]),
            )
        )
        found.append(
            RankedPaper(
                paper_id=int(ids[index]),
                score=ranked.score,
                similarity=float(z[index]) if has_z[index] else None,
                hits=list(hits[index]) if hits is not None else [],
                lines=ranked.lines,
            )
        )
    return found


def _nearest_example(
    embedded: EmbeddedPapers | None, rows: np.ndarray, interest: Interest
) -> tuple[np.ndarray, np.ndarray]:
    """Per paper (``rows``; -1 for one without an embedding), the closest example paper (-1:
    none) and that closeness in z, measured against the background as the interest is."""
    nearest = np.full(len(rows), -1)
    closeness = np.zeros(len(rows))
    known = rows >= 0
    if embedded is None or not len(interest.examples) or not known.any():
        return nearest, closeness
    examples = interest.example_vectors
    means, sds = embedded.background.spread(examples)
    z = semantic.standardise(examples @ embedded.vectors[rows[known]].T, means, sds)
    nearest[known] = z.argmax(axis=0)
    closeness[known] = z.max(axis=0)
    return nearest, closeness


# --- manage.py recommend ------------------------------------------------------------------------


@dataclass(frozen=True)
class Recommendation:
    paper_id: int
    label: str  # the arXiv id, or the key when there is none
    title: str
    score: float
    reasons: tuple[str, ...]


def recommend(
    text: str = "",
    like: Sequence[str] = (),
    *,
    days: int = 7,
    limit: int | None = None,
    now: dt.datetime | None = None,
) -> list[Recommendation]:
    """Every visible paper first seen in the last ``days`` days, best first, for the interest
    ``text`` and/or the papers with the arXiv ids ``like`` (themselves left out). Papers not
    embedded yet are embedded first. Raises ``UnknownPapers`` and ``ValueError`` (no
    interest at all)."""
    examples = example_papers(like) if like else []
    embed_new_papers()
    for paper in examples:
        paper.refresh_from_db(fields=["embedding"])
    interest = interest_of(text, examples)
    if interest.vector is None:
        raise ValueError("an interest needs some words or some example papers")
    now = now or timezone.now()
    embedded = embedded_papers(days, now=now)
    rows = embedded.rows_since(now - dt.timedelta(days=days))
    rows = rows[~np.isin(embedded.ids[rows], [paper.pk for paper in examples])]
    ranked = rank(
        embedded.ids[rows].tolist(),
        embedded=embedded,
        interest=interest,
        featured=embedded.featured[rows],
        upvotes=embedded.upvotes[rows],
        seen=embedded.seen[rows],
        limit=limit,
    )
    shown = Paper.objects.only("pk", "arxiv_id", "key", "title").in_bulk(
        [item.paper_id for item in ranked]
    )
    return [
        Recommendation(
            item.paper_id,
            shown[item.paper_id].arxiv_id or shown[item.paper_id].key,
            shown[item.paper_id].title,
            item.score,
            item.reasons,
        )
        for item in ranked
    ]
