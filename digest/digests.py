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
from functools import cached_property
from typing import NamedTuple, Protocol

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Q, QuerySet
from django.db.models.functions import Lower

from accounts.models import User
from digest.models import Delivery, Digest, DigestItem, Paper, Suppression
from digest.schedule import digest_date
from subscriptions.models import Match


class RankedPaper(Protocol):
    """What ranking reads of a paper: a whole ``Paper`` (to render) or a row of these fields."""

    id: int
    featured: bool
    featured_everywhere: bool
    upvotes: int
    created_at: dt.datetime


class PlannedItem(NamedTuple):
    """One ranked paper of a plan: what a ``DigestItem`` row holds besides digest and user."""

    paper: RankedPaper
    rank: int
    section: str
    hits: list[dict]
    score: float
    in_email: bool


@dataclass
class DigestPlan:
    """An unsaved digest and its ranked items."""

    digest: Digest
    ranked: list[PlannedItem] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.ranked

    @cached_property
    def items(self) -> list[DigestItem]:
        """The ranked items as unsaved ``DigestItem``s, for previews and reports. Built on
        demand: the scheduler writes ``ranked`` straight to the database, and a model instance
        per item was a quarter of a chunk's build time."""
        return [self._digest_item(item) for item in self.ranked]

    def _digest_item(self, planned: PlannedItem) -> DigestItem:
        fields = planned._asdict()
        paper = fields.pop("paper")
        item = DigestItem(user_id=self.digest.user_id, paper_id=paper.id, **fields)
        if isinstance(paper, Paper):
            item.paper = paper  # loaded already: rendering needs no query per item
        return item


def window_starts(users: list[User], *, now: dt.datetime) -> dict[int, dt.datetime]:
    """Each user's window start: their previous digest's ``period_end``, or the first-digest
    lookback for someone who never had one."""
    previous = dict(
        Digest.objects.filter(user__in=[u.pk for u in users], period_end__lte=now)
        .values("user")
        .annotate(last=Max("period_end"))
        .values_list("user", "last")
    )
    lookback = now - dt.timedelta(days=settings.DIGEST_FIRST_LOOKBACK_DAYS)
    return {user.pk: previous.get(user.pk) or lookback for user in users}


def window_start(user: User, *, now: dt.datetime) -> dt.datetime:
    return window_starts([user], now=now)[user.pk]


def _merge_hits(into: list[dict], hits: list, subscription_id: int, name: str) -> None:
    seen = {(h.get("term"), h.get("field"), h.get("subscription_id")) for h in into}
    for hit in hits or []:
        if not isinstance(hit, dict):
            continue
        entry = {
            "term": str(hit.get("term", "")),
            "field": str(hit.get("field", "")),
            "subscription": name,
            "subscription_id": subscription_id,
        }
        key = (entry["term"], entry["field"], subscription_id)
        if key not in seen:
            seen.add(key)
            into.append(entry)
    if not hits and (None, None, subscription_id) not in seen:
        # A match without hit detail still says which subscription it came from.
        into.append({"subscription": name, "subscription_id": subscription_id})


def _featured(paper: RankedPaper) -> bool:
    return paper.featured or paper.featured_everywhere


RANKING_FIELDS = ("id", "featured", "featured_everywhere", "upvotes", "created_at")


def _papers(queryset: QuerySet[Paper], *, full: bool) -> list[RankedPaper]:
    """Whole papers with ``full``; otherwise rows of the ranking fields only, which cost a
    fraction of a model instance each (a chunk of 100 users ranks over a thousand papers)."""
    if full:
        return list(queryset)
    return list(queryset.values_list(*RANKING_FIELDS, named=True))


def plan_digests(
    users: list[User],
    *,
    now: dt.datetime,
    dates: dict[int, dt.date] | None = None,
    full: bool = False,
) -> dict[int, DigestPlan]:
    """What ``build_digest`` would write for each of ``users`` at ``now``; reads only.

    A handful of queries for the whole set, whatever its size: the scheduler plans a chunk of
    users at once, and a single user is just a chunk of one.
    """
    if not users:
        return {}
    starts = window_starts(users, now=now)
    earliest = min(starts.values())
    user_ids = [u.pk for u in users]
    rows = list(
        Match.objects.filter(owner__in=user_ids, subscription__enabled=True, paper__hidden=False)
        .filter(
            Q(paper__created_at__gt=earliest, paper__created_at__lte=now)
            | Q(created_at__gt=earliest, created_at__lte=now)
        )
        .order_by("owner_id", "paper_id", "subscription_id")
        .values_list(
            "owner_id",
            "paper_id",
            "subscription_id",
            "subscription__name",
            "hits",
            "score",
            "created_at",
            "paper__created_at",
        )
    )
    # Ranking needs only RANKING_FIELDS; the email loads what it shows (``full`` loads it now).
    visible = Paper.objects.visible()
    everywhere = _papers(
        visible.filter(featured_everywhere=True, created_at__gt=earliest, created_at__lte=now),
        full=full,
    )
    matched = {row[1] for row in rows} - {p.id for p in everywhere}
    papers = {p.id: p for p in _papers(visible.filter(pk__in=matched), full=full)}
    papers.update({p.id: p for p in everywhere})
    sent: dict[int, set[int]] = {}
    for user_id, paper_id in DigestItem.objects.filter(
        user__in=user_ids, paper_id__in=list(papers)
    ).values_list("user_id", "paper_id"):
        sent.setdefault(user_id, set()).add(paper_id)

    by_user: dict[int, list[tuple]] = {}
    for row in rows:
        by_user.setdefault(row[0], []).append(row)
    plans = {}
    for user in users:
        start = starts[user.pk]
        digest = Digest(
            user=user,
            date=(dates or {}).get(user.pk) or digest_date(user, now=now),
            period_start=start,
            period_end=now,
        )
        plans[user.pk] = plan = DigestPlan(digest)
        if start >= now:
            continue
        already = sent.get(user.pk, set())
        hits: dict[int, list[dict]] = {}
        scores: dict[int, float] = {}
        subscriptions: dict[int, set[int]] = {}
        for _, paper_id, sub_id, sub_name, match_hits, score, matched_at, seen_at in by_user.get(
            user.pk, ()
        ):
            in_window = start < seen_at <= now or start < matched_at <= now
            if not in_window or paper_id in already:
                continue
            _merge_hits(hits.setdefault(paper_id, []), match_hits, sub_id, sub_name)
            scores[paper_id] = max(scores.get(paper_id, score), score)
            subscriptions.setdefault(paper_id, set()).add(sub_id)
        chosen = [papers[paper_id] for paper_id in hits]
        chosen += [
            p
            for p in everywhere
            if start < p.created_at <= now and p.id not in already and p.id not in hits
        ]
        ranked = sorted(
            chosen,
            key=lambda p: (
                not _featured(p),
                -scores.get(p.id, 0.0),
                -len(subscriptions.get(p.id, ())),
                -p.upvotes,
                -p.created_at.timestamp(),
                p.id,
            ),
        )
        cap = max(int(user.papers_per_digest or 0), 1)
        plan.ranked = [
            PlannedItem(
                paper=paper,
                rank=rank,
                section=(
                    DigestItem.Section.FEATURED if _featured(paper) else DigestItem.Section.MATCHED
                ),
                hits=hits.get(paper.id, []),
                score=scores.get(paper.id, 0.0),
                in_email=rank <= cap,
            )
            for rank, paper in enumerate(ranked, start=1)
        ]
        digest.papers_total = len(plan.ranked)
    return plans


def plan_digest(
    user: User, *, now: dt.datetime, date: dt.date | None = None, full: bool = True
) -> DigestPlan:
    """What ``build_digest`` would write for ``user`` at ``now``; reads only. With ``full`` the
    items' papers are loaded whole, ready to render."""
    dates = {user.pk: date} if date else None
    return plan_digests([user], now=now, dates=dates, full=full)[user.pk]


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
        plan = plan_digest(user, now=now, date=date, full=False)
        if plan.is_empty and user.skip_empty:
            return None
        try:
            with transaction.atomic():
                plan.digest.save(force_insert=True)
        except IntegrityError:
            return None  # this date's digest exists: a second run is a no-op
        insert_items([plan])
        Delivery.objects.create(digest=plan.digest, to_email=user.email)
        return plan.digest


ITEM_FIELDS = ("digest", "user", "paper", "rank", "section", "hits", "score", "in_email")


def insert_items(plans: list[DigestPlan]) -> None:
    """Insert the ranked items of ``plans``, whose digests are saved, with one ``executemany``
    of plain tuples: the rows ``bulk_create`` would write, without its model instance and
    per-field preparation per row (tens of thousands of rows per scheduler run)."""
    meta = DigestItem._meta
    fields = [meta.get_field(name) for name in ITEM_FIELDS]
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(meta.db_table),
        ", ".join(quote(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    prepare_hits = meta.get_field("hits").get_db_prep_save
    rows = [
        (
            plan.digest.pk,
            plan.digest.user_id,
            item.paper.id,
            item.rank,
            item.section,
            prepare_hits(item.hits, connection),
            item.score,
            item.in_email,
        )
        for plan in plans
        for item in plan.ranked
    ]
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)


def receiving(users: list[User]) -> list[User]:
    """``may_receive`` for many users with two queries."""
    from allauth.account.models import EmailAddress

    emails = [u.email for u in users]
    suppressed = set(
        Suppression.objects.annotate(address=Lower("email"))
        .filter(address__in=[e.lower() for e in emails])
        .values_list("address", flat=True)
    )
    verified = {
        (user_id, email.lower())
        for user_id, email in EmailAddress.objects.filter(
            user__in=[u.pk for u in users], verified=True
        ).values_list("user_id", "email")
    }
    return [
        u
        for u in users
        if u.is_active
        and u.unsubscribed_at is None
        and u.email.lower() not in suppressed
        and (u.pk, u.email.lower()) in verified
    ]


def _existing(wanted: dict[int, dt.date]) -> set[tuple[int, dt.date]]:
    return set(
        Digest.objects.filter(user__in=list(wanted), date__in=set(wanted.values())).values_list(
            "user_id", "date"
        )
    )


def build_digests(
    users: list[User], *, now: dt.datetime, dates: dict[int, dt.date] | None = None
) -> list[Digest]:
    """``build_digest`` for a chunk of users at once, with a fixed number of queries (the
    scheduler's path). Same rules, same result.

    Planning reads only and happens before the write transaction, which then holds its locks
    just for the inserts (on SQLite a write transaction locks the whole database, and senders
    wait on it to record "sent"). The write re-checks who may still receive and which digests
    exist; a concurrent builder that got there first makes it raise ``IntegrityError`` (the
    unique constraints decide), and the caller falls back to ``build_digest`` per user.
    """
    dates = dates or {}
    allowed = receiving(list(users))
    wanted = {u.pk: dates.get(u.pk) or digest_date(u, now=now) for u in allowed}
    existing = _existing(wanted)
    todo = [u for u in allowed if (u.pk, wanted[u.pk]) not in existing]
    plans = plan_digests(todo, now=now, dates=wanted)
    chosen = [plans[u.pk] for u in todo if not (plans[u.pk].is_empty and u.skip_empty)]
    if not chosen:
        return []
    with transaction.atomic():
        locked = {
            u.pk: u
            for u in receiving(
                list(
                    User.objects.select_for_update()
                    .filter(pk__in=[p.digest.user_id for p in chosen])
                    .order_by("pk")
                )
            )
        }
        existing = _existing({p.digest.user_id: p.digest.date for p in chosen})
        chosen = [
            p
            for p in chosen
            if p.digest.user_id in locked and (p.digest.user_id, p.digest.date) not in existing
        ]
        digests = Digest.objects.bulk_create([plan.digest for plan in chosen])
        insert_items(chosen)
        Delivery.objects.bulk_create(
            [Delivery(digest=d, to_email=locked[d.user_id].email) for d in digests]
        )
        return digests


def preview_digest(user: User, *, now: dt.datetime) -> EmailMultiAlternatives | None:
    """The email ``build_digest`` + ``render_digest_email`` would produce at ``now``, unsaved.

    None when ``build_digest`` would send nothing. Writes nothing (the curation panel calls it).
    """
    from digest.digest_email import render_digest_email

    plan = plan_digest(user, now=now)
    if plan.is_empty and user.skip_empty:
        return None
    return render_digest_email(plan.digest, items=plan.items)
