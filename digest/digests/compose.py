"""Compose: which papers go into a person's next digest, in which order.

A digest covers the window ``(previous digest's period_end, now]``: papers first seen in it, plus
papers matched in it (a paper ingested just before the previous digest but matched just after it
is not lost, and a new subscription brings recent papers). Papers already sent to the person are
never candidates again — the database enforces it too (``DigestItem`` unique per user × paper).
Windows chain, so a day without a digest (weekend, paused, nothing matched) loses nothing.

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
from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from django.db.models.functions import Lower

from accounts.models import User
from digest.digests.email import render_digest_email
from digest.digests.models import Delivery, Digest, DigestItem, Suppression
from digest.digests.schedule import digest_date
from digest.papers.models import Paper
from subscriptions.embeddings import from_bytes
from subscriptions.models import Match
from subscriptions.ranking import fair_order, rank_key
from subscriptions.reader_model import ReaderModels


@dataclass
class DigestPlan:
    """An unsaved digest and its ranked, unsaved items."""

    digest: Digest
    items: list[DigestItem] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.items


@dataclass
class _Candidate:
    """A paper on its way into one user's digest, gathering the hits of its matches."""

    paper_id: int
    featured: bool  # featured, or featured everywhere: either way it leads the digest
    created_at: dt.datetime
    upvotes: int = 0
    score: float = 0.0
    hits: list[dict] = field(default_factory=list)
    scores: dict[int, float] = field(default_factory=dict)  # per subscription (id)
    reader: float | None = None  # the reader model's correction (fair_order)

    def add_match(self, hits: object, score: float, subscription_id: int, name: str) -> None:
        """Merge one subscription's match: each distinct (term, field) of its hits once, named
        after the subscription; a match without hit detail still says where it came from."""
        named = {"subscription": name, "subscription_id": subscription_id}
        if not hits:
            self.hits.append(named)
        else:
            terms = {
                (str(hit.get("term", "")), str(hit.get("field", ""))): None
                for hit in hits
                if isinstance(hit, dict)
            }
            self.hits += [{"term": term, "field": where, **named} for term, where in terms]
        self.score = max(self.score, score)
        self.scores[subscription_id] = max(self.scores.get(subscription_id, score), score)

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


def _add_reader_scores(found: dict[int, dict[int, _Candidate]]) -> None:
    """Give each candidate its reader's model's score ("more like this" / "not relevant"
    ratings), which ``fair_order`` adds within each subscription's list: one query for the
    ratings of everyone planned together and one batched fit, then one query for the
    embeddings of the candidates of those who have a model. A paper without an embedding (not
    embedded yet) gets no reader term."""
    models = ReaderModels()
    models.prefetch(found)
    rated = {user_id: model for user_id in found if (model := models.get(user_id)) is not None}
    if not rated:
        return
    embeddings = dict(
        Paper.objects.filter(
            pk__in={paper_id for user_id in rated for paper_id in found[user_id]},
            embedding__isnull=False,
        ).values_list("id", "embedding")
    )
    for user_id, model in rated.items():
        candidates = [c for c in found[user_id].values() if c.paper_id in embeddings]
        if not candidates:
            continue
        vectors = np.vstack([from_bytes(embeddings[c.paper_id]) for c in candidates])
        for candidate, value in zip(candidates, model.score(vectors), strict=True):
            candidate.reader = float(value)


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
    (``subscriptions.ranking.fair_order``): featured first, then the reader's subscriptions
    take turns, each one's best paper per turn, so a broad query cannot crowd a narrow one
    out; within each subscription's list the reader's own model (learnt from their "more like
    this" / "not relevant" ratings) moves papers up or down. Those past the user's
    ``papers_per_digest`` are kept with ``in_email=False`` (the web page lists them) — except
    a followed author's papers, which are never cut — and ``papers_total`` counts them all.
    With ``full`` the items' papers are loaded whole, ready to render.
    """
    if not users:
        return {}
    starts = window_starts(users, now=now)
    found: dict[int, dict[int, _Candidate]] = {user.pk: {} for user in users}
    rows = (
        _matches(starts, now=now)
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
            "hits",
            "score",
        )
    )
    for row in rows:
        owner_id, paper_id, featured, everywhere, created_at, upvotes, *match = row
        subscription_id, name, hits, score = match
        candidate = found[owner_id].get(paper_id)
        if candidate is None:
            candidate = found[owner_id][paper_id] = _Candidate(
                paper_id, featured or everywhere, created_at, upvotes
            )
        candidate.add_match(hits, score, subscription_id, name)
    for user_id, paper_ids in _featured_everywhere(starts, now=now).items():
        for paper_id, created_at, upvotes in paper_ids:
            found[user_id].setdefault(paper_id, _Candidate(paper_id, True, created_at, upvotes))
    _add_reader_scores(found)

    plans = {}
    for user in users:
        digest = Digest(
            user=user,
            date=(dates or {}).get(user.pk) or digest_date(user, now=now),
            period_start=starts[user.pk],
            period_end=now,
        )
        ranked = fair_order(list(found[user.pk].values()))
        cap = max(int(user.papers_per_digest or 0), 1)
        items = [
            DigestItem(
                user_id=user.pk,
                paper_id=candidate.paper_id,
                rank=rank,
                section=candidate.section,
                hits=candidate.hits,
                score=candidate.score,
                in_email=rank <= cap or candidate.follows_an_author,
            )
            for rank, candidate in enumerate(ranked, start=1)
        ]
        digest.papers_total = len(items)
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
