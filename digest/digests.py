"""Compose: which papers go into a person's next digest, in which order.

A digest covers the window ``(previous digest's period_end, now]``: papers first seen in it, plus
papers matched in it (a paper ingested just before the previous digest but matched just after it
is not lost, and a new subscription brings recent papers). Papers already sent to the person are
never candidates again — the database enforces it too (``DigestItem`` unique per user × paper).
Windows chain, so a day without a digest (weekend, paused, nothing matched) loses nothing.

``plan_digest`` only reads; ``build_digest`` writes the plan — Digest, DigestItems and the
Delivery outbox row — in one transaction; ``preview_digest`` renders the plan without writing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Max, Q

from accounts.models import User
from digest.digest_email import render_digest_email
from digest.models import Delivery, Digest, DigestItem, Paper, Suppression
from digest.schedule import digest_date
from subscriptions.matcher import rank_key
from subscriptions.models import Match


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
    score: float = 0.0
    hits: list[dict] = field(default_factory=list)

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

    @property
    def section(self) -> str:
        return DigestItem.Section.FEATURED if self.featured else DigestItem.Section.MATCHED


def window_start(user: User, *, now: dt.datetime) -> dt.datetime:
    """Where ``user``'s next window starts: their previous digest's ``period_end``, or the
    first-digest lookback for someone who never had one."""
    previous = Digest.objects.filter(user=user, period_end__lte=now).aggregate(
        last=Max("period_end")
    )["last"]
    return previous or now - dt.timedelta(days=settings.DIGEST_FIRST_LOOKBACK_DAYS)


@dataclass(frozen=True)
class FeaturedEverywhere:
    """The visible papers featured everywhere first seen in ``(since, until]``.

    They go to everyone, so a scheduler chunk reads them once for all its users: no index of
    Paper answers this, and SQLite reads every paper of the window to find the few (5-9 ms a
    user at 2,000 papers, more than the rest of planning; bench/delivery.py at 10k)."""

    since: dt.datetime
    until: dt.datetime
    papers: tuple[tuple[int, dt.datetime], ...]  # (id, created_at)

    @classmethod
    def read(cls, *, since: dt.datetime, until: dt.datetime) -> FeaturedEverywhere:
        papers = (
            Paper.objects.visible()
            .filter(featured_everywhere=True, created_at__gt=since, created_at__lte=until)
            .values_list("id", "created_at")
        )
        return cls(since, until, tuple(papers))

    def covers(self, start: dt.datetime, end: dt.datetime) -> bool:
        return self.since <= start and end <= self.until

    def between(self, start: dt.datetime, end: dt.datetime) -> list[int]:
        return [paper_id for paper_id, seen in self.papers if start < seen <= end]


def _candidates(
    user: User, *, start: dt.datetime, now: dt.datetime, everywhere: FeaturedEverywhere
) -> list[_Candidate]:
    """The papers ``user`` should get for the window ``(start, now]``: their matches on visible
    papers from enabled subscriptions, plus papers featured everywhere; none already sent."""
    not_sent = ~Q(paper__in=DigestItem.objects.filter(user=user).values("paper"))
    in_window = Q(paper__created_at__gt=start, paper__created_at__lte=now) | Q(
        created_at__gt=start, created_at__lte=now
    )
    matches = (
        Match.objects.filter(in_window, not_sent, owner=user, subscription__enabled=True)
        .filter(paper__hidden=False)
        .order_by("paper_id", "subscription_id")
        .values_list(
            "paper_id",
            "paper__featured",
            "paper__featured_everywhere",
            "subscription_id",
            "subscription__name",
            "hits",
            "score",
        )
    )
    found: dict[int, _Candidate] = {}
    for paper_id, featured, everywhere_too, subscription_id, name, hits, score in matches:
        candidate = found.get(paper_id)
        if candidate is None:
            candidate = found[paper_id] = _Candidate(paper_id, featured or everywhere_too)
        candidate.add_match(hits, score, subscription_id, name)
    unmatched = [paper_id for paper_id in everywhere.between(start, now) if paper_id not in found]
    if unmatched:
        sent = set(
            DigestItem.objects.filter(user=user, paper_id__in=unmatched).values_list(
                "paper_id", flat=True
            )
        )
        found |= {p: _Candidate(p, featured=True) for p in unmatched if p not in sent}
    return list(found.values())


def plan_digest(
    user: User,
    *,
    now: dt.datetime,
    date: dt.date | None = None,
    full: bool = True,
    everywhere: FeaturedEverywhere | None = None,
) -> DigestPlan:
    """What ``build_digest`` would write for ``user`` at ``now``; reads only.

    Items are ranked by the one ranking rule (``subscriptions.matcher.rank_key``): featured
    first, then score, then newest paper. Those past the user's ``papers_per_digest`` are kept
    with ``in_email=False`` (the web page lists them) and ``papers_total`` counts them all. With
    ``full`` the items' papers are loaded whole, ready to render. ``everywhere`` is read for
    the user's window unless given and covering it.
    """
    start = window_start(user, now=now)
    digest = Digest(
        user=user,
        date=date or digest_date(user, now=now),
        period_start=start,
        period_end=now,
    )
    plan = DigestPlan(digest)
    if start >= now:
        return plan
    if everywhere is None or not everywhere.covers(start, now):
        everywhere = FeaturedEverywhere.read(since=start, until=now)
    ranked = sorted(
        _candidates(user, start=start, now=now, everywhere=everywhere),
        key=lambda c: rank_key(featured=c.featured, score=c.score, paper_id=c.paper_id),
    )
    cap = max(int(user.papers_per_digest or 0), 1)
    plan.items = [
        DigestItem(
            user_id=user.pk,
            paper_id=candidate.paper_id,
            rank=rank,
            section=candidate.section,
            hits=candidate.hits,
            score=candidate.score,
            in_email=rank <= cap,
        )
        for rank, candidate in enumerate(ranked, start=1)
    ]
    digest.papers_total = len(plan.items)
    if full and plan.items:
        papers = Paper.objects.in_bulk([item.paper_id for item in plan.items])
        for item in plan.items:
            item.paper = papers[item.paper_id]
    return plan


def is_suppressed(user: User) -> bool:
    return Suppression.objects.filter(email__iexact=user.email).exists()


def has_verified_address(user: User) -> bool:
    return EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists()


def may_receive(user: User) -> bool:
    """Hard rules no caller can bypass: only active accounts with a verified address get mail,
    never unsubscribed or suppressed ones."""
    return (
        user.is_active
        and user.unsubscribed_at is None
        and not is_suppressed(user)
        and has_verified_address(user)
    )


def build_digest(user: User, *, now: dt.datetime, date: dt.date | None = None) -> Digest | None:
    """Write ``user``'s digest for ``now`` (Digest + DigestItems + pending Delivery, atomically).

    Returns None — and writes nothing — when a digest for that local date exists already, when
    nothing matched and the user skips empty digests, or when the user must not get mail.
    """
    return write_digest(plan_digest(user, now=now, date=date, full=False))


def write_digest(plan: DigestPlan) -> Digest | None:
    """Write ``plan`` — Digest, DigestItems, pending Delivery — in one transaction; None, and
    nothing written, when ``build_digest`` says so.

    Everything but the inserts happens before the transaction, so they alone hold SQLite's
    one write lock, which the senders wait on to record "sent". A concurrent builder may have
    written meanwhile: the unique constraints decide — one digest per user and date, a paper
    sent once per user — and the loser writes nothing; what it planned is not lost, the
    winner's window covered it. (The sender checks the address again before sending.)
    """
    user = plan.digest.user
    if not may_receive(user) or (plan.is_empty and user.skip_empty):
        return None
    try:
        with transaction.atomic():
            plan.digest.save(force_insert=True)
            for item in plan.items:
                item.digest_id = plan.digest.pk
            DigestItem.objects.bulk_create(plan.items)
            Delivery.objects.create(digest=plan.digest, to_email=user.email)
    except IntegrityError:
        return None
    return plan.digest


def preview_digest(user: User, *, now: dt.datetime) -> EmailMultiAlternatives | None:
    """The email ``build_digest`` + ``render_digest_email`` would produce at ``now``, unsaved.

    None when ``build_digest`` would send nothing. Writes nothing (the curation panel calls it).
    """
    plan = plan_digest(user, now=now)
    if plan.is_empty and user.skip_empty:
        return None
    return render_digest_email(plan.digest, items=plan.items)
