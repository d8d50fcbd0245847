"""Compose: which papers go into a person's next digest, in which order.

A digest covers the window ``(previous digest's period_end, now]``: papers first seen in it, plus
papers matched in it (a paper ingested just before the previous digest but matched just after it
is not lost, and a new subscription brings recent papers). Papers already sent to the person are
never candidates again — the database enforces it too (``DigestItem`` unique per user × paper).
Windows chain, so a day without a digest (weekend, paused, nothing matched) loses nothing.

Papers are ranked by the one hybrid score (``subscriptions.ranking.fair_order``), and each item
keeps in ``hits`` what its reasons need — the words that matched, how close in meaning it is to
an interest, the liked paper it is close to — so the email sent today and the web page read
later say the same (``subscriptions.explain``). A reader who rated papers also gets "You might
also like": a few papers no subscription matched, close to ones they liked, after the rest and
not counted with them.

``plan_digests`` only reads, for a set of users at once (the scheduler's chunk) or one
(``plan_digest``); ``write_digest`` writes a user's plan — Digest, DigestItems and the Delivery
outbox row — in one transaction; ``build_digest`` plans and writes for one user;
``preview_digest`` renders the plan without writing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, Max, OuterRef, Q, QuerySet
from django.db.models.functions import Lower

from accounts.models import User
from digest.digests.email import render_digest_email
from digest.digests.models import Delivery, Digest, DigestItem, Suppression
from digest.digests.schedule import digest_date
from digest.papers.models import Paper
from subscriptions import explain, semantic
from subscriptions.embeddings import stack
from subscriptions.hybrid import CLOSE_IN_MEANING_Z, combine
from subscriptions.models import Feedback, Match, Subscription
from subscriptions.ranking import fair_order, rank_key
from subscriptions.reader_model import ReaderModel, ReaderModels, score_readers

# What a digest item keeps of a reader's interest or a liked paper's title, for its reasons
# (``subscriptions.explain`` quotes less of it): enough to quote, not a paragraph per paper.
STORED_TEXT_CHARS = 300


@dataclass
class DigestPlan:
    """An unsaved digest and its ranked, unsaved items."""

    digest: Digest
    items: list[DigestItem] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """Nothing matched and nothing featured: suggestions alone do not make a digest."""
        return all(item.section == DigestItem.Section.SUGGESTED for item in self.items)


@dataclass
class _Candidate:
    """A paper on its way into one user's digest, gathering the hits of its matches."""

    paper_id: int
    featured: bool  # featured, or featured everywhere: either way it leads the digest
    created_at: dt.datetime
    upvotes: int = 0
    score: float = 0.0  # the best boolean-match score (``rank_key``'s tie-breaking)
    hits: list[dict] = field(default_factory=list)
    scores: dict[int, float] = field(default_factory=dict)  # per subscription (id)
    similarities: dict[int, float | None] = field(default_factory=dict)  # z, per subscription
    reader: float | None = None  # the reader model's correction (fair_order)

    def add_match(
        self,
        hits: object,
        score: float,
        subscription_id: int,
        name: str,
        *,
        similarity: float | None = None,
        interest: str | None = None,
    ) -> dict | None:
        """Merge one subscription's match: each distinct (term, field) of its hits once, named
        after the subscription, and how close in meaning the paper is to its ``interest`` (a
        ``meaning`` entry, ``subscriptions.explain``; ``None``: the subscription has no interest,
        its similarity only ranks); a match with neither still says where it came from. Returns
        the meaning entry, if any."""
        named = {"subscription": name, "subscription_id": subscription_id}
        terms = {
            (str(hit.get("term", "")), str(hit.get("field", ""))): None
            for hit in (hits if isinstance(hits, list) else ())
            if isinstance(hit, dict)
        }
        self.hits += [{"term": term, "field": where, **named} for term, where in terms]
        meaning = None
        if similarity is not None and interest is not None:
            meaning = {
                "field": explain.MEANING,
                "term": explain.tidy(interest, STORED_TEXT_CHARS),
                "similarity": similarity,
                **named,
            }
            self.hits.append(meaning)
        elif not terms:
            self.hits.append(named)
        self.score = max(self.score, score)
        self.scores[subscription_id] = max(self.scores.get(subscription_id, score), score)
        self.similarities[subscription_id] = similarity
        return meaning

    def rank_key(self) -> tuple:
        return rank_key(
            featured=self.featured,
            score=self.score,
            created_at=self.created_at,
            paper_id=self.paper_id,
            subscriptions=len(self.scores),
            upvotes=self.upvotes,
        )

    @property
    def follows_an_author(self) -> bool:
        """A followed author's new paper: never cut by the cap (a reader who follows someone
        wants every paper of theirs, and one author writes few)."""
        return any(hit.get("field") == "author" for hit in self.hits)

    @property
    def section(self) -> str:
        return DigestItem.Section.FEATURED if self.featured else DigestItem.Section.MATCHED


def window_starts(users: Sequence[User], *, now: dt.datetime) -> dict[int, dt.datetime]:
    """Where each user's next window starts: their previous digest's ``period_end``, or the
    first-digest lookback for someone who never had one."""
    previous = dict(
        Digest.objects.filter(user__in=users, period_end__lte=now)
        .order_by()
        .values("user")
        .annotate(last=Max("period_end"))
        .values_list("user", "last")
    )
    lookback = now - dt.timedelta(days=settings.DIGEST_FIRST_LOOKBACK_DAYS)
    return {user.pk: previous.get(user.pk) or lookback for user in users}


def _matches(starts: dict[int, dt.datetime], *, now: dt.datetime) -> QuerySet[Match]:
    """Each user's matches in their own window ``(start, now]`` — on papers first seen in it,
    or matched in it — on visible papers, from enabled subscriptions, not sent to them yet."""
    # Users planned together share a few window starts (the runs that built their previous
    # digests): one condition per distinct start.
    owners: dict[dt.datetime, list[int]] = {}
    for user_id, start in starts.items():
        if start < now:
            owners.setdefault(start, []).append(user_id)
    in_window = Q(pk__in=[])  # no match at all when nobody's window is open
    for start, user_ids in owners.items():
        in_window |= Q(owner__in=user_ids) & (
            Q(paper__created_at__gt=start, paper__created_at__lte=now)
            | Q(created_at__gt=start, created_at__lte=now)
        )
    sent = DigestItem.objects.filter(user=OuterRef("owner"), paper=OuterRef("paper"))
    return Match.objects.filter(in_window, subscription__enabled=True, paper__hidden=False).exclude(
        Exists(sent)
    )


def _featured_everywhere(
    starts: dict[int, dt.datetime], *, now: dt.datetime
) -> dict[int, list[tuple[int, dt.datetime, int]]]:
    """Each user's papers featured everywhere in their window (id, first seen, upvotes), not
    sent to them yet. A handful for everyone, read once for all: no index finds them, so the
    database reads every paper of the window to pick them out."""
    papers = list(
        Paper.objects.visible()
        .filter(featured_everywhere=True, created_at__gt=min(starts.values()), created_at__lte=now)
        .values_list("id", "created_at", "upvotes")
    )
    if not papers:
        return {}
    sent = set(
        DigestItem.objects.filter(
            user__in=list(starts), paper__in=[paper_id for paper_id, _, _ in papers]
        ).values_list("user_id", "paper_id")
    )
    return {
        user_id: [
            (paper_id, seen, upvotes)
            for paper_id, seen, upvotes in papers
            if start < seen <= now and (user_id, paper_id) not in sent
        ]
        for user_id, start in starts.items()
    }


class _Vectors:
    """The embeddings one chunk of users needs, each paper's read once: the papers first seen
    in the window of those who have a reader model (their suggestions are among them) and, by
    id, the few candidates first seen before it."""

    def __init__(self) -> None:
        self.by_id: dict[int, np.ndarray] = {}
        self.window = _Window.empty()
        self.background: semantic.Background | None = None

    def load_window(self, *, start: dt.datetime, now: dt.datetime) -> None:
        """The visible, embedded papers first seen in ``(start, now]``, in one query, and the
        background they make (what the typical paper's closeness to a liked one is)."""
        rows = list(
            Paper.objects.visible()
            .filter(created_at__gt=start, created_at__lte=now, embedding__isnull=False)
            .order_by("id")
            .values_list("id", "created_at", "upvotes", "embedding")
        )
        self.window = _Window(
            ids=np.array([row[0] for row in rows], dtype=np.int64),
            created_at=[row[1] for row in rows],
            upvotes=np.array([row[2] for row in rows], dtype=np.int64),
            vectors=stack(row[3] for row in rows),
        )
        self.by_id.update(zip(self.window.ids.tolist(), self.window.vectors, strict=True))
        self.background = semantic.Background.of(self.window.vectors)

    def load(self, paper_ids: Iterable[int]) -> None:
        """The embeddings of these papers not read yet (one query; those without one are
        left out: not embedded yet)."""
        missing = {paper_id for paper_id in paper_ids if paper_id not in self.by_id}
        if not missing:
            return
        rows = list(
            Paper.objects.filter(pk__in=missing, embedding__isnull=False).values_list(
                "id", "embedding"
            )
        )
        if rows:
            vectors = stack(row[1] for row in rows)
            self.by_id.update(zip((row[0] for row in rows), vectors, strict=True))

    def of(self, paper_ids: Sequence[int]) -> np.ndarray:
        return np.vstack([self.by_id[paper_id] for paper_id in paper_ids])


@dataclass(frozen=True)
class _Window:
    ids: np.ndarray
    created_at: list[dt.datetime]
    upvotes: np.ndarray
    vectors: np.ndarray

    @classmethod
    def empty(cls) -> _Window:
        return cls(np.zeros(0, dtype=np.int64), [], np.zeros(0, dtype=np.int64), stack([]))


@dataclass(frozen=True)
class _Liked:
    """A reader's model with what its reasons need: how close the typical paper is to each
    paper they liked (``semantic.Background.spread``), to say "close to X" in z."""

    model: ReaderModel
    means: np.ndarray | None  # None when the reader liked nothing (only "not relevant")
    sds: np.ndarray | None

    def nearest(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per paper (rows), the index of the nearest liked paper (``nearest_liked``) and how
        close the paper is to it in z (-inf when the reader liked nothing)."""
        nearest, cosine = self.model.nearest_liked(vectors)
        if not len(self.model.liked):
            return nearest, cosine.astype(np.float64)
        return nearest, (cosine - self.means[nearest]) / self.sds[nearest]

    def entry(self, index: int, z: float) -> dict:
        """The ``liked`` entry of a digest item's hits (``subscriptions.explain``)."""
        return {
            "field": explain.LIKED,
            "term": explain.tidy(self.model.liked_titles[index], STORED_TEXT_CHARS),
            "paper_id": self.model.liked_ids[index],
            "similarity": float(z),
        }


def _readers(
    found: dict[int, dict[int, _Candidate]],
    vectors: _Vectors,
    *,
    now: dt.datetime,
    starts: dict[int, dt.datetime],
) -> dict[int, _Liked]:
    """The models of those planned together who rated papers ("more like this" / "not
    relevant"): one query for everyone's ratings and one batched fit; then, only if someone
    has a model, the window's embedded papers once for them all. Each of their candidates gets
    its reader term (``fair_order`` adds it within each subscription's list) and, when the
    model raised it and it is close to a paper they liked, that paper as a reason. A paper
    without an embedding (not embedded yet) gets neither."""
    models = ReaderModels()
    models.prefetch(found)
    rated = {user_id: model for user_id in found if (model := models.get(user_id)) is not None}
    if not rated:
        return {}
    vectors.load_window(start=min(starts[user_id] for user_id in rated), now=now)
    vectors.load(paper_id for user_id in rated for paper_id in found[user_id])
    readers = {}
    for user_id, model in rated.items():
        means, sds = vectors.background.spread(model.liked) if len(model.liked) else (None, None)
        liked = readers[user_id] = _Liked(model, means, sds)
        candidates = [c for c in found[user_id].values() if c.paper_id in vectors.by_id]
        if not candidates:
            continue
        matrix = vectors.of([c.paper_id for c in candidates])
        nearest, closeness = liked.nearest(matrix)
        for candidate, value, index, z in zip(
            candidates, model.score(matrix), nearest, closeness, strict=True
        ):
            candidate.reader = float(value)
            if (
                value > 0
                and index >= 0
                and z >= CLOSE_IN_MEANING_Z
                and model.liked_ids[index] != candidate.paper_id
            ):
                candidate.hits.append(liked.entry(index, z))
    return readers


def _name_examples(close: list[tuple[_Candidate, dict]], vectors: _Vectors) -> None:
    """Complete the ``meaning`` entries of papers close to an interest with example papers:
    an interest with words says it has examples too; one of example papers only names the
    example nearest to the paper (by cosine: the interest is their mean, and the paper is
    close to that). One query for the examples of every subscription concerned."""
    subscription_ids = {entry["subscription_id"] for _, entry in close}
    examples: dict[int, list[tuple[int, str, bytes | None]]] = {}
    for subscription_id, paper_id, title, embedding in Subscription.examples.through.objects.filter(
        subscription_id__in=subscription_ids
    ).values_list("subscription_id", "paper_id", "paper__title", "paper__embedding"):
        examples.setdefault(subscription_id, []).append((paper_id, title, embedding))
    vectors.load(candidate.paper_id for candidate, entry in close if not entry["term"])
    for candidate, entry in close:
        given = examples.get(entry["subscription_id"], [])
        if entry["term"]:
            entry["examples"] = bool(given)
            continue
        embedded = [(paper_id, title, blob) for paper_id, title, blob in given if blob]
        if not embedded or candidate.paper_id not in vectors.by_id:
            continue
        cosine = stack(blob for _, _, blob in embedded) @ vectors.by_id[candidate.paper_id]
        paper_id, title, _ = embedded[int(cosine.argmax())]
        entry["example"] = explain.tidy(title, STORED_TEXT_CHARS)
        entry["example_id"] = paper_id


@dataclass
class _Suggestion:
    candidate: _Candidate
    score: float


def _suggestions(
    readers: dict[int, _Liked],
    found: dict[int, dict[int, _Candidate]],
    vectors: _Vectors,
    *,
    starts: dict[int, dt.datetime],
    now: dt.datetime,
) -> dict[int, list[_Suggestion]]:
    """Suggestions, per reader with a model: up to ``DIGEST_SUGGESTIONS`` papers
    first seen in their window that none of their subscriptions matched, not sent, rated or
    hidden, that their model raises (a positive correction) and that are close to a paper they
    liked; best first by the hybrid score (the model's term; upvotes break ties). The window's
    papers are the ones ``_readers`` read; one more query finds what each reader has had
    (matched, sent or rated), and one matrix product scores the window for every reader."""
    wanted = int(settings.DIGEST_SUGGESTIONS)
    window = vectors.window
    if wanted <= 0 or not readers or not len(window.ids):
        return {}
    user_ids = list(readers)
    in_window = {
        "paper__created_at__gt": min(starts[user_id] for user_id in user_ids),
        "paper__created_at__lte": now,
    }
    had: dict[int, set[int]] = {user_id: set(found[user_id]) for user_id in user_ids}
    for user_id, paper_id in (
        Match.objects.filter(owner__in=user_ids, **in_window)
        .order_by()
        .values_list("owner_id", "paper_id")
        .union(
            DigestItem.objects.filter(user__in=user_ids, **in_window)
            .order_by()
            .values_list("user_id", "paper_id"),
            Feedback.objects.filter(user__in=user_ids, **in_window)
            .order_by()
            .values_list("user_id", "paper_id"),
        )
    ):
        had[user_id].add(paper_id)
    corrections = score_readers([readers[user_id].model for user_id in user_ids], window.vectors)
    created = np.array([moment.timestamp() for moment in window.created_at])
    found_suggestions: dict[int, list[_Suggestion]] = {}
    for row, user_id in enumerate(user_ids):
        liked = readers[user_id]
        correction = corrections[row]
        open_ = (
            (created > starts[user_id].timestamp())
            & (correction > 0)
            & ~np.isin(window.ids, list(had[user_id]))
        )
        positions = np.flatnonzero(open_)
        if not len(positions):
            continue
        nearest, closeness = liked.nearest(window.vectors[positions])
        close = (nearest >= 0) & (closeness >= CLOSE_IN_MEANING_Z)
        positions, nearest, closeness = positions[close], nearest[close], closeness[close]
        scores = combine(reader=correction[positions], upvotes=window.upvotes[positions])
        picks = []
        for position, index, z, value in zip(positions, nearest, closeness, scores, strict=True):
            candidate = _Candidate(
                int(window.ids[position]),
                False,
                window.created_at[position],
                int(window.upvotes[position]),
                hits=[liked.entry(int(index), float(z))],
                reader=float(correction[position]),
            )
            picks.append(_Suggestion(candidate, float(value)))
        picks.sort(key=lambda pick: (-pick.score, pick.candidate.rank_key()))
        found_suggestions[user_id] = picks[:wanted]
    return found_suggestions


def plan_digests(
    users: Sequence[User],
    *,
    now: dt.datetime,
    dates: dict[int, dt.date] | None = None,
    full: bool = False,
) -> dict[int, DigestPlan]:
    """What ``build_digest`` would write for each of ``users`` at ``now``; reads only.

    A handful of queries for all of them: the scheduler plans a chunk of users at once, one
    user is a chunk of one. Items are ranked by the one ranking rule
    (``subscriptions.ranking.fair_order`` with ``subscriptions.hybrid.combine``): featured
    first, then the reader's subscriptions take turns, each one's best paper per turn, so a
    broad query cannot crowd a narrow one out; within each subscription's list a paper close in
    meaning to its interest, or one the reader's own model (learnt from their "more like this" /
    "not relevant" ratings) favours, moves up. Those past the user's ``papers_per_digest`` are
    kept with ``in_email=False`` (the web page lists them) — except a followed author's papers,
    which are never cut — and ``papers_total`` counts them all. A reader with a model also gets
    "You might also like" (``DigestItem.Section.SUGGESTED``, not counted in ``papers_total``),
    after the rest. Each item's ``hits`` hold what its reasons need (``subscriptions.explain``).
    With ``full`` the items' papers are loaded whole, ready to render.
    """
    if not users:
        return {}
    starts = window_starts(users, now=now)
    found: dict[int, dict[int, _Candidate]] = {user.pk: {} for user in users}
    rows = (
        _matches(starts, now=now)
        # Whether the subscription follows an interest (words or example papers): only then is
        # closeness in meaning a reason to say. A boolean-only subscription's similarity is its
        # query words' (``subscriptions.semantic_step``), used to rank, never said.
        .annotate(
            has_interest=ExpressionWrapper(  # as Subscription.has_interest
                Q(subscription__interest_vector__isnull=False) | ~Q(subscription__interest=""),
                output_field=BooleanField(),
            )
        )
        .order_by("owner_id", "paper_id", "subscription_id")
        .values_list(
            "owner_id",
            "paper_id",
            "paper__featured",
            "paper__featured_everywhere",
            "paper__created_at",
            "paper__upvotes",
            "subscription_id",
            "subscription__name",
            "subscription__interest",
            "hits",
            "score",
            "similarity",
            "has_interest",
        )
    )
    close_in_meaning: list[tuple[_Candidate, dict]] = []
    for row in rows:
        owner_id, paper_id, featured, everywhere, created_at, upvotes, *match = row
        subscription_id, name, interest, hits, score, similarity, has_interest = match
        candidate = found[owner_id].get(paper_id)
        if candidate is None:
            candidate = found[owner_id][paper_id] = _Candidate(
                paper_id, featured or everywhere, created_at, upvotes
            )
        meaning = candidate.add_match(
            hits,
            score,
            subscription_id,
            name,
            similarity=similarity,
            interest=interest if has_interest else None,
        )
        if meaning is not None and explain.is_close(meaning):
            close_in_meaning.append((candidate, meaning))
    for user_id, paper_ids in _featured_everywhere(starts, now=now).items():
        for paper_id, created_at, upvotes in paper_ids:
            found[user_id].setdefault(paper_id, _Candidate(paper_id, True, created_at, upvotes))
    vectors = _Vectors()
    readers = _readers(found, vectors, starts=starts, now=now)
    if close_in_meaning:
        _name_examples(close_in_meaning, vectors)
    suggestions = _suggestions(readers, found, vectors, starts=starts, now=now)

    plans = {}
    for user in users:
        digest = Digest(
            user=user,
            date=(dates or {}).get(user.pk) or digest_date(user, now=now),
            period_start=starts[user.pk],
            period_end=now,
        )
        cap = max(int(user.papers_per_digest or 0), 1)
        items = [
            DigestItem(
                user_id=user.pk,
                paper_id=candidate.paper_id,
                rank=rank,
                section=candidate.section,
                hits=candidate.hits,
                score=score,
                in_email=rank <= cap or candidate.follows_an_author,
            )
            for rank, (candidate, score) in enumerate(
                fair_order(list(found[user.pk].values())), start=1
            )
        ]
        digest.papers_total = len(items)
        items += [
            DigestItem(
                user_id=user.pk,
                paper_id=pick.candidate.paper_id,
                rank=rank,
                section=DigestItem.Section.SUGGESTED,
                hits=pick.candidate.hits,
                score=pick.score,
                in_email=True,
            )
            for rank, pick in enumerate(suggestions.get(user.pk, []), start=len(items) + 1)
        ]
        plans[user.pk] = DigestPlan(digest, items)
    if full:
        papers = Paper.objects.in_bulk({i.paper_id for plan in plans.values() for i in plan.items})
        for plan in plans.values():
            for item in plan.items:
                item.paper = papers[item.paper_id]
    return plans


def plan_digest(
    user: User, *, now: dt.datetime, date: dt.date | None = None, full: bool = True
) -> DigestPlan:
    """``plan_digests`` for one user; the items' papers are loaded whole unless not ``full``."""
    return plan_digests([user], now=now, dates={user.pk: date} if date else None, full=full)[
        user.pk
    ]


def receiving(users: Iterable[User]) -> list[User]:
    """Those of ``users`` who may get mail. Hard rules no caller of ``build_digest`` or the
    scheduler can bypass: only active accounts with a verified address get mail, never
    unsubscribed or suppressed ones. (The sender checks the address again before sending.)"""
    users = [u for u in users if u.is_active and u.unsubscribed_at is None]
    suppressed = set(
        Suppression.objects.annotate(address=Lower("email"))
        .filter(address__in=[u.email.lower() for u in users])
        .values_list("address", flat=True)
    )
    verified = {
        (user_id, email.lower())
        for user_id, email in EmailAddress.objects.filter(
            user__in=users, verified=True
        ).values_list("user_id", "email")
    }
    return [
        u
        for u in users
        if u.email.lower() not in suppressed and (u.pk, u.email.lower()) in verified
    ]


def may_receive(user: User) -> bool:
    return bool(receiving([user]))


def build_digest(user: User, *, now: dt.datetime, date: dt.date | None = None) -> Digest | None:
    """Write ``user``'s digest for ``now`` (Digest + DigestItems + pending Delivery, atomically).

    Returns None — and writes nothing — when a digest for that local date exists already, when
    nothing matched and the user skips empty digests, or when the user must not get mail.
    """
    if not may_receive(user):
        return None
    return write_digest(plan_digest(user, now=now, date=date, full=False))


def write_digest(plan: DigestPlan) -> Digest | None:
    """Write ``plan``, made for someone who may receive mail — Digest, DigestItems, pending
    Delivery — in one transaction; None, and nothing written, when there is nothing to send
    (an empty plan for someone who skips empty digests) or it was written already.

    The plan is made before the transaction, so the inserts alone hold SQLite's one write
    lock, which the senders wait on to record "sent". A concurrent builder may have written
    meanwhile: the unique constraints decide — one digest per user and date, a paper sent
    once per user — and the loser writes nothing; what it planned is not lost, the winner's
    window covered it.
    """
    if plan.is_empty and plan.digest.user.skip_empty:
        return None
    try:
        with transaction.atomic():
            plan.digest.save(force_insert=True)
            for item in plan.items:
                item.digest_id = plan.digest.pk
            DigestItem.objects.bulk_create(plan.items)
            Delivery.objects.create(digest=plan.digest, to_email=plan.digest.user.email)
    except IntegrityError:
        return None
    return plan.digest


def preview_digest(
    user: User, *, now: dt.datetime, date: dt.date | None = None
) -> EmailMultiAlternatives | None:
    """The email ``build_digest`` + ``render_digest_email`` would produce at ``now`` (dated
    ``date`` when given), unsaved. None when ``build_digest`` would send nothing. Writes
    nothing (the curation panel calls it)."""
    plan = plan_digest(user, now=now, date=date)
    if plan.is_empty and user.skip_empty:
        return None
    return render_digest_email(plan.digest, items=plan.items)
