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
not counted with them. What the papers' embeddings add — the reader model's term, liked and
example papers as reasons, suggestions — is ``digest.digests.readers``.

``plan_digests`` only reads, for a set of users at once (the scheduler's chunk) or one
(``plan_digest``); ``write_digest`` writes a user's plan — Digest, DigestItems and the Delivery
outbox row — in one transaction; ``build_digest`` plans and writes for one user;
``preview_digest`` renders the plan without writing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, Max, OuterRef, Q, QuerySet
from django.db.models.functions import Lower

from accounts.models import User
from digest.digests import readers
from digest.digests.candidates import Candidate
from digest.digests.email import render_digest_email
from digest.digests.models import Delivery, Digest, DigestItem, Suppression
from digest.digests.schedule import digest_date
from digest.papers.models import Paper
from subscriptions import explain
from subscriptions.models import Match
from subscriptions.ranking import fair_order


@dataclass
class DigestPlan:
    """An unsaved digest and its ranked, unsaved items."""

    digest: Digest
    items: list[DigestItem] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """Nothing matched and nothing featured: suggestions alone do not make a digest."""
        return all(item.section == DigestItem.Section.SUGGESTED for item in self.items)


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
    found: dict[int, dict[int, Candidate]] = {user.pk: {} for user in users}
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
    close_in_meaning: list[tuple[Candidate, dict]] = []
    for row in rows:
        owner_id, paper_id, featured, everywhere, created_at, upvotes, *match = row
        subscription_id, name, interest, hits, score, similarity, has_interest = match
        candidate = found[owner_id].get(paper_id)
        if candidate is None:
            candidate = found[owner_id][paper_id] = Candidate(
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
            found[user_id].setdefault(paper_id, Candidate(paper_id, True, created_at, upvotes))
    suggestions = readers.score_and_suggest(found, close_in_meaning, starts=starts, now=now)

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
