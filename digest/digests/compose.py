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
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple, Protocol

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, connection, transaction
from django.db.models import JSONField, Max, Model
from django.db.models.functions import Lower

from accounts.models import User
from digest.digests.models import Delivery, Digest, DigestItem, Suppression
from digest.digests.schedule import digest_date
from digest.papers.models import Paper
from subscriptions.models import Match, Subscription


class RankedPaper(Protocol):
    """What ranking reads of a paper: a whole ``Paper`` (to render) or a row of these fields."""

    id: int
    featured: bool
    featured_everywhere: bool
    upvotes: int


class PaperRank(NamedTuple):
    """The ranking fields of a paper, read along with its matches."""

    id: int
    featured: bool
    featured_everywhere: bool
    upvotes: int


class PlannedItem(NamedTuple):
    """One ranked paper of a plan: what a ``DigestItem`` row holds besides digest and user. The
    hits are kept as the JSON text that is stored: the scheduler writes tens of thousands of
    items a run and reads none of them back (``hits`` parses it for the rest)."""

    paper: RankedPaper
    rank: int
    section: str
    hits_json: str
    score: float
    in_email: bool

    @property
    def hits(self) -> list[dict]:
        return json.loads(self.hits_json)


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
        fields["hits"] = json.loads(fields.pop("hits_json"))
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


def _hit_terms(hits: object) -> tuple[tuple[str, str], ...] | None:
    """The distinct (term, field) pairs of a match's stored hits, in order; None when the match
    has no hit detail. Entries that are not objects are ignored."""
    if not hits:
        return None
    terms: dict[tuple[str, str], None] = {}
    for hit in hits:
        if isinstance(hit, dict):
            terms[str(hit.get("term", "")), str(hit.get("field", ""))] = None
    return tuple(terms)


def _entry_heads(terms: tuple[tuple[str, str], ...] | None) -> list[str]:
    """The JSON of each hit entry a matching subscription adds for these terms, up to where the
    subscription goes: ``{"term": "zero-shot", "field": "title", ``."""
    if terms is None:
        # A match without hit detail still says which subscription it came from.
        return ["{"]
    dumps = json.dumps
    return [f'{{"term": {dumps(term)}, "field": {dumps(field)}, ' for term, field in terms]


def _entry_tail(subscription_id: int, name: str) -> str:
    """The rest of a hit entry: ``"subscription": "Vision", "subscription_id": 7}``."""
    return f'"subscription": {json.dumps(name)}, "subscription_id": {subscription_id}}}'


def _featured(paper: RankedPaper) -> bool:
    return paper.featured or paper.featured_everywhere


def _matches_in_windows(starts: dict[int, dt.datetime], *, now: dt.datetime) -> list[tuple]:
    """Each user's matches in their own window ``(start, now]`` on visible papers not yet sent
    to them, from enabled subscriptions: ``(owner, paper, subscription, subscription name,
    hits as JSON text, score, featured, featured everywhere, upvotes)``, ordered by owner, then
    paper newest first (the ranking's last tie-breaks), then subscription.

    Hand-written because through the ORM this read was half the build's time: it converted two
    datetimes and decoded the JSON hits of every row (~30 a user) only for Python to test the
    window and look up papers already sent. Here the database tests the window against each
    user's start (a VALUES list), skips what was sent (the unique (user, paper) index), and
    returns the paper's ranking fields with the row; the hits stay text for one ``json.loads``.
    """
    adapt = connection.ops.adapt_datetimefield_value
    windows = [(user_id, adapt(start)) for user_id, start in starts.items() if start < now]
    if not windows:
        return []
    tables = {
        name: connection.ops.quote_name(model._meta.db_table)
        for name, model in (
            ("match", Match),
            ("subscription", Subscription),
            ("paper", Paper),
            ("item", DigestItem),
        )
    }
    sql = """
        WITH windows (user_id, start) AS (VALUES {values})
        SELECT m.owner_id, m.paper_id, m.subscription_id, s.name, m.hits, m.score,
               p.featured, p.featured_everywhere, p.upvotes
        FROM windows w
        JOIN {match} m ON m.owner_id = w.user_id
        JOIN {subscription} s ON s.id = m.subscription_id
        JOIN {paper} p ON p.id = m.paper_id
        WHERE m.owner_id IN ({owners}) AND s.enabled AND NOT p.hidden
          AND (p.created_at > w.start AND p.created_at <= %s
               OR m.created_at > w.start AND m.created_at <= %s)
          AND NOT EXISTS (
              SELECT 1 FROM {item} i WHERE i.user_id = m.owner_id AND i.paper_id = m.paper_id
          )
        ORDER BY m.owner_id, p.created_at DESC, p.id, m.subscription_id
    """.format(
        values=", ".join(["(%s, %s)"] * len(windows)),
        owners=", ".join(["%s"] * len(windows)),
        **tables,
    )
    # ``owner_id IN`` repeats the join for PostgreSQL's planner, which otherwise hashes the
    # VALUES list against a scan of the whole match table rather than use the owner index.
    params = [value for window in windows for value in window]
    params += [user_id for user_id, _ in windows] + [adapt(now), adapt(now)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@dataclass(slots=True)
class _Candidate:
    """A paper on its way into one user's digest, gathering its matches."""

    paper: RankedPaper
    # The JSON of its hit entries, ``{"term", "field", "subscription", "subscription_id"}``
    # each, written exactly as ``json.dumps`` would: built from pieces encoded once per chunk
    # rather than as ~100 dicts per user only to be serialised.
    entries: list[str] = field(default_factory=list)
    score: float = 0.0
    subscriptions: int = 0

    def hits_json(self) -> str:
        return "[" + ", ".join(self.entries) + "]"

    def rank_key(self) -> tuple:
        # Ties keep the candidates' order: newest paper first, then lowest id.
        return (not _featured(self.paper), -self.score, -self.subscriptions, -self.paper.upvotes)


def _candidates(rows: list[tuple]) -> dict[int, dict[int, _Candidate]]:
    """The rows of ``_matches_in_windows`` as candidates per user and paper, in row order."""
    papers: dict[int, PaperRank] = {}  # one per paper, shared by everyone who matched it
    # The match step writes the same hits text for every subscriber of a query, so a chunk's
    # rows repeat a few texts many times (10k bench: ~25 rows per text): decode each once.
    heads: dict[str, list[str]] = {}
    by_user: dict[int, dict[int, _Candidate]] = {}
    for owner_id, paper_id, sub_id, sub_name, hits, score, *ranking in rows:
        mine = by_user.get(owner_id)
        if mine is None:
            mine = by_user[owner_id] = {}
        candidate = mine.get(paper_id)
        if candidate is None:
            paper = papers.get(paper_id)
            if paper is None:
                featured, everywhere, upvotes = ranking
                paper = papers[paper_id] = PaperRank(
                    paper_id, bool(featured), bool(everywhere), upvotes
                )
            candidate = mine[paper_id] = _Candidate(paper, score=score)
        entry_heads = heads.get(hits)
        if entry_heads is None:
            entry_heads = heads[hits] = _entry_heads(_hit_terms(json.loads(hits)))
        # Each row is another subscription ((subscription, paper) is unique), so its entries
        # never repeat one already there.
        tail = _entry_tail(sub_id, sub_name)
        candidate.entries += [head + tail for head in entry_heads]
        candidate.score = max(candidate.score, score)
        candidate.subscriptions += 1
    return by_user


def plan_digests(
    users: list[User],
    *,
    now: dt.datetime,
    dates: dict[int, dt.date] | None = None,
    full: bool = False,
) -> dict[int, DigestPlan]:
    """What ``build_digest`` would write for each of ``users`` at ``now``; reads only.

    A handful of queries for the whole set, whatever its size: the scheduler plans a chunk of
    users at once, and a single user is just a chunk of one. With ``full`` the items' papers
    are whole ``Paper``s, ready to render; otherwise rows of the ranking fields (the email
    loads what it shows).
    """
    if not users:
        return {}
    starts = window_starts(users, now=now)
    earliest = min(starts.values())
    matched = _candidates(_matches_in_windows(starts, now=now))
    # Featured everywhere: a handful of papers for everyone, newest first like the matches.
    everywhere = list(
        Paper.objects.visible()
        .filter(featured_everywhere=True, created_at__gt=earliest, created_at__lte=now)
        .order_by("-created_at", "id")
        .values_list("id", "featured", "featured_everywhere", "upvotes", "created_at")
    )
    sent: set[tuple[int, int]] = set()
    if everywhere:
        sent = set(
            DigestItem.objects.filter(
                user__in=[u.pk for u in users], paper_id__in=[row[0] for row in everywhere]
            ).values_list("user_id", "paper_id")
        )

    featured_section, matched_section = DigestItem.Section.FEATURED, DigestItem.Section.MATCHED
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
        candidates = matched.get(user.pk, {})
        chosen = list(candidates.values())
        # Papers featured everywhere that this user did not match have no subscription, so
        # they never tie with a matched paper on the ranking key: appending them keeps both
        # groups newest first.
        chosen += [
            _Candidate(PaperRank(*ranking))
            for *ranking, created_at in everywhere
            if start < created_at <= now
            and ranking[0] not in candidates
            and (user.pk, ranking[0]) not in sent
        ]
        chosen.sort(key=_Candidate.rank_key)
        cap = max(int(user.papers_per_digest or 0), 1)
        plan.ranked = [
            PlannedItem(
                paper=candidate.paper,
                rank=rank,
                section=featured_section if _featured(candidate.paper) else matched_section,
                hits_json=candidate.hits_json(),
                score=candidate.score,
                in_email=rank <= cap,
            )
            for rank, candidate in enumerate(chosen, start=1)
        ]
        digest.papers_total = len(plan.ranked)
    if full:
        _load_whole_papers(list(plans.values()))
    return plans


def _load_whole_papers(plans: list[DigestPlan]) -> None:
    """Swap the ranking rows of ``plans`` for whole papers, in one query."""
    whole = Paper.objects.in_bulk({item.paper.id for plan in plans for item in plan.ranked})
    for plan in plans:
        plan.ranked = [item._replace(paper=whole[item.paper.id]) for item in plan.ranked]


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


def insert_rows(model: type[Model], fields: Sequence[str], rows: list[tuple]) -> None:
    """Insert ``rows`` — values of ``fields``, ready for the database (JSON as its text) — into
    ``model``'s table; every other field but the primary key gets its default, prepared once
    for all rows. The rows ``bulk_create`` would write, without a model instance and the
    preparation of every field per row: for the Digest, DigestItem and Delivery rows of a
    scheduler chunk that was a third of its build time.

    SQLite runs one prepared ``INSERT`` per row in-process (``executemany``). PostgreSQL takes
    them as one ``INSERT … SELECT FROM unnest(arrays)``, a column per array, as the match step
    writes its rows: with a statement per row, a user's ~34 items took 5.6 ms of wall time in
    one worker at 10k subscribers, 2.0 ms this way."""
    if not rows:
        return
    meta = model._meta
    given = [meta.get_field(name) for name in fields]
    defaults = [f for f in meta.concrete_fields if f not in given and not f.primary_key]
    template = model()
    constants = [f.get_db_prep_save(f.pre_save(template, True), connection) for f in defaults]
    quote = connection.ops.quote_name
    into = "INSERT INTO {} ({})".format(
        quote(meta.db_table), ", ".join(quote(f.column) for f in given + defaults)
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(*_unnest_insert(into, given, defaults, constants, rows))
        else:
            values = ", ".join(["%s"] * (len(given) + len(defaults)))
            extra = tuple(constants)
            cursor.executemany(
                f"{into} VALUES ({values})", [row + extra for row in rows] if extra else rows
            )


def _unnest_insert(
    into: str, given: list, defaults: list, constants: list, rows: list[tuple]
) -> tuple[str, list]:
    """``insert_rows``'s statement and parameters for PostgreSQL: a column per array, except
    a JSON column, which goes as one JSON array text whose elements are picked by row number.
    psycopg builds an array parameter element by element in Python, escaping each JSON text:
    17 µs per item's hits, more than the rest of the row together."""
    columns = list(zip(*rows, strict=True))
    arrays: list[str] = []
    select: list[str] = []
    select_params: list = []
    array_params: list = []
    for number, (column, values) in enumerate(zip(given, columns, strict=True)):
        if isinstance(column, JSONField):
            select.append("(%s::jsonb) -> (rows.n::int - 1)")
            select_params.append("[" + ",".join(values) + "]")
        else:
            select.append(f"rows.c{number}")
            arrays.append(f"%s::{column.db_type(connection)}[]")
            array_params.append(list(values))
    names = [f"c{n}" for n, column in enumerate(given) if not isinstance(column, JSONField)]
    select += [f"%s::{column.db_type(connection)}" for column in defaults]
    sql = "{} SELECT {} FROM unnest({}) WITH ORDINALITY AS rows ({}, n)".format(
        into, ", ".join(select), ", ".join(arrays), ", ".join(names)
    )
    return sql, select_params + constants + array_params


ITEM_FIELDS = ("digest", "user", "paper", "rank", "section", "hits", "score", "in_email")


def insert_items(plans: list[DigestPlan]) -> None:
    """Insert the ranked items of ``plans``, whose digests are saved (tens of thousands of rows
    per scheduler run)."""
    rows = []
    for plan in plans:
        digest_id, user_id = plan.digest.pk, plan.digest.user_id
        rows += [
            (
                digest_id,
                user_id,
                item.paper.id,
                item.rank,
                item.section,
                item.hits_json,
                item.score,
                item.in_email,
            )
            for item in plan.ranked
        ]
    insert_rows(DigestItem, ITEM_FIELDS, rows)


def insert_digests(plans: list[DigestPlan], emails: dict[int, str]) -> list[Digest]:
    """Insert the digests of ``plans``, their items, and a pending Delivery to ``emails[user
    id]`` for each; returns the digests as stored."""
    adapt_date = connection.ops.adapt_datefield_value
    adapt_datetime = connection.ops.adapt_datetimefield_value
    insert_rows(
        Digest,
        ("user", "date", "period_start", "period_end", "papers_total"),
        [
            (
                d.user_id,
                adapt_date(d.date),
                adapt_datetime(d.period_start),
                adapt_datetime(d.period_end),
                d.papers_total,
            )
            for d in (plan.digest for plan in plans)
        ],
    )
    wanted = {(plan.digest.user_id, plan.digest.date) for plan in plans}
    digests = [
        d
        for d in Digest.objects.filter(
            user__in=[user_id for user_id, _ in wanted], date__in={date for _, date in wanted}
        ).order_by("user_id", "date")
        if (d.user_id, d.date) in wanted
    ]
    ids = {(d.user_id, d.date): d.pk for d in digests}
    for plan in plans:
        plan.digest.pk = ids[plan.digest.user_id, plan.digest.date]
    insert_items(plans)
    insert_rows(Delivery, ("digest", "to_email"), [(d.pk, emails[d.user_id]) for d in digests])
    return digests


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


# Users whose digests are written per transaction where the database has one write lock for
# all of it (SQLite): a chunk of 100 written at once held it for ~50 ms, and every sender that
# had just had its 250 waited that long to record "sent" (the tail of the duplicate window).
# With row locks (PostgreSQL) a chunk is one transaction: in groups of 20 the build took three
# times as long with four workers (bench/RESULTS.md, "Delivery", fourth session).
WRITE_GROUP = 20


def write_group_size(count: int) -> int:
    """How many of ``count`` users' digests go into one write transaction."""
    return count if connection.features.has_select_for_update else WRITE_GROUP


def build_digests(
    users: list[User], *, now: dt.datetime, dates: dict[int, dt.date] | None = None
) -> list[Digest]:
    """``build_digest`` for a chunk of users at once, with a fixed number of queries per
    ``WRITE_GROUP`` users (the scheduler's path). Same rules, same result.

    Planning reads only and happens before anything is written; the writes then go in a
    transaction per group of users (``write_group_size``), each holding its locks just for the
    inserts. A user's
    Digest, items and Delivery are always written together. Each write re-checks who may
    still receive and which digests exist; a concurrent builder that got there first makes it
    raise ``IntegrityError`` (the unique constraints decide), and the caller falls back to
    ``build_digest`` per user, which finds the groups written before it done already.
    """
    dates = dates or {}
    allowed = receiving(list(users))
    wanted = {u.pk: dates.get(u.pk) or digest_date(u, now=now) for u in allowed}
    existing = _existing(wanted)
    todo = [u for u in allowed if (u.pk, wanted[u.pk]) not in existing]
    plans = plan_digests(todo, now=now, dates=wanted)
    chosen = [plans[u.pk] for u in todo if not (plans[u.pk].is_empty and u.skip_empty)]
    written: list[Digest] = []
    group = max(write_group_size(len(chosen)), 1)
    for start in range(0, len(chosen), group):
        written += _write_plans(chosen[start : start + group])
    return written


def _write_plans(chosen: list[DigestPlan]) -> list[Digest]:
    """Write ``chosen`` in one transaction, for those who may still receive and whose digest
    nobody wrote meanwhile."""
    with transaction.atomic():
        locked = {
            u.pk: u
            for u in receiving(
                list(
                    User.objects.select_for_update()
                    .filter(pk__in=[p.digest.user_id for p in chosen])
                    .only("email", "is_active", "unsubscribed_at")  # what ``receiving`` reads
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
        return insert_digests(chosen, {user_id: user.email for user_id, user in locked.items()})


def preview_digest(user: User, *, now: dt.datetime) -> EmailMultiAlternatives | None:
    """The email ``build_digest`` + ``render_digest_email`` would produce at ``now``, unsaved.

    None when ``build_digest`` would send nothing. Writes nothing (the curation panel calls it).
    """
    from digest.digests.email import render_digest_email

    plan = plan_digest(user, now=now)
    if plan.is_empty and user.skip_empty:
        return None
    return render_digest_email(plan.digest, items=plan.items)
