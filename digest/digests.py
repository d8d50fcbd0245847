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

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Q

from accounts.models import User
from digest.models import Delivery, Digest, DigestItem, Paper, Suppression
from digest.schedule import digest_date
from subscriptions.models import Match


@dataclass
class DigestPlan:
    """An unsaved digest and its unsaved, ranked items."""

    digest: Digest
    items: list[DigestItem] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.items


def window_start(user: User, *, now: dt.datetime) -> dt.datetime:
    previous = (
        Digest.objects.filter(user=user, period_end__lte=now)
        .order_by("-period_end")
        .values_list("period_end", flat=True)
        .first()
    )
    if previous is not None:
        return previous
    return now - dt.timedelta(days=settings.DIGEST_FIRST_LOOKBACK_DAYS)


def _merge_hits(into: list[dict], match: Match) -> None:
    seen = {(h.get("term"), h.get("field"), h.get("subscription_id")) for h in into}
    for hit in match.hits or []:
        if not isinstance(hit, dict):
            continue
        entry = {
            "term": str(hit.get("term", "")),
            "field": str(hit.get("field", "")),
            "subscription": match.subscription.name,
            "subscription_id": match.subscription_id,
        }
        key = (entry["term"], entry["field"], entry["subscription_id"])
        if key not in seen:
            seen.add(key)
            into.append(entry)
    if not match.hits:
        # A match without hit detail still says which subscription it came from.
        key = (None, None, match.subscription_id)
        if key not in seen:
            into.append(
                {"subscription": match.subscription.name, "subscription_id": match.subscription_id}
            )


def plan_digest(user: User, *, now: dt.datetime, date: dt.date | None = None) -> DigestPlan:
    """What ``build_digest`` would write for ``user`` at ``now``; reads only."""
    start = window_start(user, now=now)
    digest = Digest(
        user=user,
        date=date or digest_date(user, now=now),
        period_start=start,
        period_end=now,
    )
    if start >= now:
        return DigestPlan(digest)

    already_sent = DigestItem.objects.filter(user=user).values("paper_id")
    matches = (
        Match.objects.filter(owner=user, subscription__enabled=True, paper__hidden=False)
        .filter(
            Q(paper__created_at__gt=start, paper__created_at__lte=now)
            | Q(created_at__gt=start, created_at__lte=now)
        )
        .exclude(paper_id__in=already_sent)
        .select_related("paper", "subscription")
        .order_by("paper_id", "subscription_id")
    )
    papers: dict[int, Paper] = {}
    hits: dict[int, list[dict]] = {}
    scores: dict[int, float] = {}
    subscriptions: dict[int, set[int]] = {}
    for match in matches:
        papers[match.paper_id] = match.paper
        _merge_hits(hits.setdefault(match.paper_id, []), match)
        scores[match.paper_id] = max(scores.get(match.paper_id, match.score), match.score)
        subscriptions.setdefault(match.paper_id, set()).add(match.subscription_id)

    featured_everywhere = (
        Paper.objects.visible()
        .filter(featured_everywhere=True, created_at__gt=start, created_at__lte=now)
        .exclude(id__in=already_sent)
    )
    for paper in featured_everywhere:
        papers.setdefault(paper.id, paper)

    def featured(paper: Paper) -> bool:
        return paper.featured or paper.featured_everywhere

    ranked = sorted(
        papers.values(),
        key=lambda p: (
            not featured(p),
            -scores.get(p.id, 0.0),
            -len(subscriptions.get(p.id, ())),
            -p.upvotes,
            -p.created_at.timestamp(),
            p.id,
        ),
    )
    cap = max(int(user.papers_per_digest or 0), 1)
    items = [
        DigestItem(
            user=user,
            paper=paper,
            rank=rank,
            section=DigestItem.Section.FEATURED if featured(paper) else DigestItem.Section.MATCHED,
            hits=hits.get(paper.id, []),
            score=scores.get(paper.id, 0.0),
            in_email=rank <= cap,
        )
        for rank, paper in enumerate(ranked, start=1)
    ]
    digest.papers_total = len(items)
    return DigestPlan(digest, items)


def is_suppressed(user: User) -> bool:
    return Suppression.objects.filter(email__iexact=user.email).exists()


def has_verified_address(user: User) -> bool:
    from allauth.account.models import EmailAddress

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

    Returns None — and writes nothing — when a digest for that local date exists already (the
    database's unique (user, date) decides, so concurrent calls are safe), when nothing matched
    and the user skips empty digests, or when the user must not get mail.
    """
    with transaction.atomic():
        # One builder per user at a time: the row lock orders concurrent builders (PostgreSQL;
        # SQLite's IMMEDIATE transactions serialise writers already).
        user = User.objects.select_for_update().get(pk=user.pk)
        if not may_receive(user):
            return None
        plan = plan_digest(user, now=now, date=date)
        if plan.is_empty and user.skip_empty:
            return None
        try:
            with transaction.atomic():
                plan.digest.save(force_insert=True)
        except IntegrityError:
            return None  # this date's digest exists: a second run is a no-op
        for item in plan.items:
            item.digest = plan.digest
        DigestItem.objects.bulk_create(plan.items)
        Delivery.objects.create(digest=plan.digest, to_email=user.email)
        return plan.digest


def preview_digest(user: User, *, now: dt.datetime) -> EmailMultiAlternatives | None:
    """The email ``build_digest`` + ``render_digest_email`` would produce at ``now``, unsaved.

    None when ``build_digest`` would send nothing. Writes nothing (the curation panel calls it).
    """
    from digest.digest_email import render_digest_email

    plan = plan_digest(user, now=now)
    if plan.is_empty and user.skip_empty:
        return None
    return render_digest_email(plan.digest, items=plan.items)
