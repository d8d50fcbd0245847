"""Which papers go into a person's digest, in what order, and what gets written."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from digest.digests import links
from digest.digests.compose import build_digest, plan_digest, plan_digests, preview_digest
from digest.digests.email import render_digest_email
from digest.digests.models import Delivery, Digest, DigestItem, Suppression
from digest.papers.models import Paper
from subscriptions import explain, hybrid, semantic
from subscriptions.embeddings import embed_new_papers, from_bytes, stack, to_bytes
from subscriptions.hybrid import combine
from subscriptions.models import Feedback, Match, Subscription
from tests.factories import DigestFactory, PaperFactory, SubscriptionFactory, UserFactory
from tests.realpapers import real_rows

NOW = dt.datetime(2026, 11, 24, 7, 0, tzinfo=dt.UTC)


def paper(hours_ago: float = 2, **fields):
    return PaperFactory(created_at=NOW - dt.timedelta(hours=hours_ago), **fields)


def match(subscription, paper, terms=(("zero-shot", "title"),), score=1.0):
    """A Match as the match step writes it: a minute after the paper was first seen."""
    created = Match.objects.create(
        subscription=subscription,
        paper=paper,
        owner=subscription.owner,
        hits=[{"term": term, "field": field} for term, field in terms],
        score=score,
    )
    Match.objects.filter(pk=created.pk).update(
        created_at=paper.created_at + dt.timedelta(minutes=1)
    )
    return created


@pytest.fixture
def user(db):
    return UserFactory(papers_per_digest=10)


@pytest.fixture
def subscription(user):
    return SubscriptionFactory(owner=user, name="Zero-shot", query="zero-shot")


def ranked_ids(digest):
    return list(digest.items.order_by("rank").values_list("paper_id", flat=True))


def test_digest_items_and_delivery_are_written_together(user, subscription):
    first, second = paper(), paper()
    match(subscription, first)
    match(subscription, second)
    digest = build_digest(user, now=NOW)
    assert digest.date == dt.date(2026, 11, 24)
    assert digest.period_end == NOW
    assert digest.papers_total == 2
    assert set(ranked_ids(digest)) == {first.id, second.id}
    delivery = digest.delivery
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.to_email == user.email


def test_first_digest_looks_back_the_configured_number_of_days(user, subscription, settings):
    settings.DIGEST_FIRST_LOOKBACK_DAYS = 2
    recent, old = paper(hours_ago=47), paper(hours_ago=49)
    match(subscription, recent)
    match(subscription, old)
    digest = build_digest(user, now=NOW)
    assert ranked_ids(digest) == [recent.id]
    assert digest.period_start == NOW - dt.timedelta(days=2)


def test_windows_chain_so_a_skipped_day_loses_nothing(user, subscription):
    DigestFactory(user=user, date=dt.date(2026, 11, 21), period_end=NOW - dt.timedelta(days=3))
    saturday, monday = paper(hours_ago=60), paper(hours_ago=5)
    before = paper(hours_ago=80)
    for each in (saturday, monday, before):
        match(subscription, each)
    digest = build_digest(user, now=NOW)
    assert set(ranked_ids(digest)) == {saturday.id, monday.id}
    assert digest.period_start == NOW - dt.timedelta(days=3)


def test_a_paper_matched_after_the_previous_digest_is_not_lost(user, subscription):
    previous = DigestFactory(user=user, period_end=NOW - dt.timedelta(hours=24))
    late = paper(hours_ago=25)  # first seen before the previous digest, matched after it
    m = match(subscription, late)
    Match.objects.filter(pk=m.pk).update(created_at=NOW - dt.timedelta(hours=23))
    assert previous.date != NOW.date()
    assert ranked_ids(build_digest(user, now=NOW)) == [late.id]


def test_hidden_papers_disabled_subscriptions_and_other_people_are_excluded(user, subscription):
    visible, hidden = paper(), paper(hidden=True)
    match(subscription, visible)
    match(subscription, hidden)
    off = SubscriptionFactory(owner=user, enabled=False)
    match(off, paper())
    match(SubscriptionFactory(), paper())
    assert ranked_ids(build_digest(user, now=NOW)) == [visible.id]


def test_a_paper_already_sent_is_never_sent_again(user, subscription):
    sent = paper()
    match(subscription, sent)
    old = DigestFactory(
        user=user, date=dt.date(2026, 11, 1), period_end=NOW - dt.timedelta(days=30)
    )
    DigestItem.objects.create(digest=old, user=user, paper=sent, rank=1)
    assert build_digest(user, now=NOW) is None  # nothing new: no digest, no mail


def test_hits_are_merged_across_subscriptions_and_remember_which_matched(user, subscription):
    both = paper()
    match(subscription, both, terms=[("zero-shot", "title")], score=1)
    vision = SubscriptionFactory(owner=user, name="Vision", query="CLIP")
    match(vision, both, terms=[("CLIP", "abstract")], score=3)
    item = build_digest(user, now=NOW).items.get()
    # Ranked by the hybrid score: each subscription's keyword score relative to its best.
    assert item.score == pytest.approx(combine(keyword=1.0, upvotes=both.upvotes))
    assert {(h["term"], h["subscription"]) for h in item.hits} == {
        ("zero-shot", "Zero-shot"),
        ("CLIP", "Vision"),
    }


def test_each_hit_is_listed_once_and_a_match_without_hits_still_names_its_subscription(
    user, subscription
):
    repeated, bare = paper(), paper()
    match(
        subscription, repeated, terms=[("CLIP", "title"), ("CLIP", "title"), ("CLIP", "abstract")]
    )
    match(subscription, bare, terms=[])
    items = {item.paper_id: item.hits for item in build_digest(user, now=NOW).items.all()}
    named = {"subscription": "Zero-shot", "subscription_id": subscription.pk}
    assert items[repeated.id] == [
        {"term": "CLIP", "field": "title", **named},
        {"term": "CLIP", "field": "abstract", **named},
    ]
    assert items[bare.id] == [named]


def test_featured_first_then_by_score_then_newest_paper(user, subscription):
    # The one ranking rule, the preview's too (subscriptions.ranking.rank_key). Upvotes are not
    # a key of their own: the match step adds them to the score as its tie-breaker.
    older, high, newer = paper(hours_ago=3), paper(), paper(hours_ago=1)
    featured, everywhere = paper(featured=True), paper(featured_everywhere=True)
    match(subscription, older, score=1)
    match(subscription, high, score=5)
    match(subscription, newer, score=1)
    match(subscription, featured, score=0.5)
    digest = build_digest(user, now=NOW)
    assert ranked_ids(digest) == [featured.id, everywhere.id, high.id, newer.id, older.id]
    sections = list(digest.items.order_by("rank").values_list("section", flat=True))
    assert sections == ["featured", "featured", "matched", "matched", "matched"]


def test_featured_everywhere_papers_reach_people_they_did_not_match(user, subscription):
    everywhere = paper(featured_everywhere=True, curator_note="Read this")
    old_everywhere = paper(hours_ago=24 * 30, featured_everywhere=True)
    digest = build_digest(user, now=NOW)
    assert ranked_ids(digest) == [everywhere.id]
    assert digest.items.get().section == DigestItem.Section.FEATURED
    assert old_everywhere.id not in ranked_ids(digest)


def test_papers_over_the_cap_are_kept_for_the_web_but_not_the_email(user, subscription):
    user.papers_per_digest = 2
    user.save()
    papers = [paper() for _ in range(5)]
    for rank, each in enumerate(papers):
        match(subscription, each, score=10 - rank)
    digest = build_digest(user, now=NOW)
    assert digest.papers_total == 5
    in_email = list(digest.items.order_by("rank").values_list("in_email", flat=True))
    assert in_email == [True, True, False, False, False]


def test_a_second_build_for_the_same_local_date_is_a_no_op(user, subscription):
    match(subscription, paper())
    assert build_digest(user, now=NOW) is not None
    match(subscription, paper(hours_ago=0.5))
    assert build_digest(user, now=NOW + dt.timedelta(hours=1)) is None
    assert Digest.objects.filter(user=user).count() == 1
    assert Delivery.objects.count() == 1


def test_the_database_refuses_a_second_digest_for_the_same_user_and_date(user):
    DigestFactory(user=user, date=dt.date(2026, 11, 24))
    with pytest.raises(IntegrityError), transaction.atomic():
        Digest.objects.create(
            user=user, date=dt.date(2026, 11, 24), period_start=NOW, period_end=NOW
        )


def test_the_database_refuses_the_same_paper_twice_to_one_person(user):
    sent = paper()
    DigestItem.objects.create(digest=DigestFactory(user=user), user=user, paper=sent, rank=1)
    other = DigestFactory(user=user, date=dt.date(2026, 1, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        DigestItem.objects.create(digest=other, user=user, paper=sent, rank=1)


def test_nothing_matched_means_no_digest_and_no_mail(user, subscription):
    paper()  # a paper nobody matched
    assert build_digest(user, now=NOW) is None
    assert not Digest.objects.exists() and not Delivery.objects.exists()


def test_people_who_want_quiet_days_too_get_an_empty_digest(user, subscription):
    user.skip_empty = False
    user.save()
    digest = build_digest(user, now=NOW)
    assert digest.papers_total == 0 and not digest.items.exists()
    assert digest.delivery.status == Delivery.Status.PENDING
    assert "Nothing new" in render_digest_email(digest).subject


@pytest.mark.parametrize("why", ["unsubscribed", "suppressed", "unverified"])
def test_people_who_must_not_get_mail_get_no_digest(why, subscription):
    user = subscription.owner
    if why == "unsubscribed":
        user.unsubscribed_at = NOW
        user.save()
    elif why == "suppressed":
        Suppression.objects.create(email=user.email.upper(), reason="bounce")
    else:
        user.emailaddress_set.update(verified=False)
    match(subscription, paper())
    assert build_digest(user, now=NOW) is None


def test_the_date_is_the_local_date_of_the_slot_being_served(subscription):
    user = subscription.owner
    user.timezone = "Asia/Tokyo"  # 07:00 UTC is 16:00 in Tokyo
    user.delivery_hour = 8
    user.save()
    match(subscription, paper())
    assert build_digest(user, now=NOW).date == dt.date(2026, 11, 24)
    user.timezone = "America/Los_Angeles"  # 07:00 UTC is 23:00 the day before
    user.delivery_hour = 22
    user.save()
    match(subscription, paper(hours_ago=-0.5))
    later = build_digest(user, now=NOW + dt.timedelta(hours=1))  # 00:00 local, slot 22:00
    assert later.date == dt.date(2026, 11, 23)


def test_preview_renders_what_would_be_sent_and_writes_nothing(user, subscription):
    match(subscription, paper(title="Zero-shot things"), score=2)
    match(subscription, paper(featured=True, curator_note="Editor's pick"))
    preview = preview_digest(user, now=NOW)
    assert not Digest.objects.exists() and not DigestItem.objects.exists()
    assert not Delivery.objects.exists()
    digest = build_digest(user, now=NOW)
    sent = render_digest_email(digest)
    # The one difference: a digest not yet saved has no "view in browser" page to link to.
    view_url = links.digest_view_url(digest)
    sent_text = sent.body.replace(f"View in your browser: {view_url}\n", "")
    # (Compared with whitespace normalised: long HTML lines are folded where they are long.)
    sent_html = " ".join(sent.alternatives[0][0].split()).replace(
        f' · <a href="{view_url}" style="color:#616e7c">View in browser</a>', ""
    )
    assert view_url in sent.body and view_url not in preview.body
    assert preview.subject == sent.subject
    assert preview.body == sent_text
    assert preview.extra_headers["List-Unsubscribe"] == sent.extra_headers["List-Unsubscribe"]
    assert " ".join(preview.alternatives[0][0].split()) == sent_html


def test_preview_is_none_when_nothing_would_be_sent(user, subscription):
    assert preview_digest(user, now=NOW) is None


def test_plan_reads_only(user, subscription, django_assert_max_num_queries):
    match(subscription, paper())
    with django_assert_max_num_queries(5):
        plan = plan_digest(user, now=NOW)
    assert len(plan.items) == 1 and plan.digest.pk is None


def test_a_preview_plan_carries_its_papers_whole(user, subscription, django_assert_num_queries):
    first = paper(title="Zero-shot everything")
    match(subscription, first)
    plan = plan_digest(user, now=NOW)
    with django_assert_num_queries(0):  # rendering must not load each paper again
        assert [item.paper.title for item in plan.items] == ["Zero-shot everything"]


def test_people_planned_together_each_get_their_own_window_papers_and_cap(db):
    # The scheduler plans a chunk of users at once: nothing leaks from one to another.
    new, returning, capped = UserFactory(), UserFactory(), UserFactory(papers_per_digest=1)
    DigestFactory(user=returning, period_end=NOW - dt.timedelta(days=1))
    three_days, fresh, sent_before = paper(hours_ago=72), paper(hours_ago=3), paper(hours_ago=1)
    everywhere = paper(featured_everywhere=True)
    for user in (new, returning, capped):
        subscription = SubscriptionFactory(owner=user)
        for each in (three_days, fresh, sent_before):
            match(subscription, each)
    old = DigestFactory(
        user=capped, date=dt.date(2026, 1, 1), period_end=NOW - dt.timedelta(days=30)
    )
    DigestItem.objects.create(digest=old, user=capped, paper=sent_before, rank=1)

    plans = plan_digests([new, returning, capped], now=NOW)

    def shape(plan):
        return [(item.paper_id, item.in_email) for item in plan.items]

    assert shape(plans[new.pk]) == [
        (everywhere.id, True),
        (sent_before.id, True),
        (fresh.id, True),
        (three_days.id, True),
    ]
    assert shape(plans[returning.pk]) == [
        (everywhere.id, True),
        (sent_before.id, True),
        (fresh.id, True),
    ]
    assert shape(plans[capped.pk]) == [
        (everywhere.id, True),
        (fresh.id, False),
        (three_days.id, False),
    ]
    assert plans[returning.pk].digest.period_start == NOW - dt.timedelta(days=1)
    for user in (new, returning, capped):
        alone = plan_digest(user, now=NOW)
        assert shape(alone) == shape(plans[user.pk])
        assert [i.hits for i in alone.items] == [i.hits for i in plans[user.pk].items]


def test_the_delivery_is_written_due_at_once_with_nothing_tried_yet(user, subscription):
    match(subscription, paper())
    before = dt.datetime.now(dt.UTC)
    delivery = build_digest(user, now=NOW).delivery
    after = dt.datetime.now(dt.UTC)
    delivery.refresh_from_db()
    assert (delivery.to_email, delivery.status, delivery.attempts) == (user.email, "pending", 0)
    assert (delivery.message_id, delivery.last_error, delivery.claimed_by) == ("", "", "")
    assert delivery.lease_until is None and delivery.sent_at is None
    assert before <= delivery.next_attempt_at <= after


def test_an_author_follow_survives_a_25_paper_cap_against_a_broad_query(user, subscription):
    user.papers_per_digest = 25
    user.save()
    broad = [paper() for _ in range(30)]
    for each in broad:
        match(subscription, each, terms=[("zero-shot", "title")], score=9)
    dunson = SubscriptionFactory(owner=user, name="Dunson", query='author:"David B. Dunson"')
    theirs = paper(hours_ago=5)
    match(dunson, theirs, terms=[("David B. Dunson", "author")], score=2)
    digest = build_digest(user, now=NOW)
    assert digest.papers_total == 31
    assert digest.items.get(paper=theirs).in_email
    assert digest.items.filter(in_email=True).count() == 25


def test_an_authors_papers_are_never_cut_even_past_the_cap(user, subscription):
    user.papers_per_digest = 2
    user.save()
    dunson = SubscriptionFactory(owner=user, name="Dunson", query='author:"David B. Dunson"')
    theirs = [paper() for _ in range(4)]
    for each in theirs:
        match(dunson, each, terms=[("David B. Dunson", "author")], score=2)
    broad = [paper() for _ in range(4)]
    for each in broad:
        match(subscription, each, score=9)
    digest = build_digest(user, now=NOW)
    shown = set(digest.items.filter(in_email=True).values_list("paper_id", flat=True))
    assert {each.id for each in theirs} <= shown
    assert len(shown & {each.id for each in broad}) == 1  # the cap still holds for the rest


def test_two_subscriptions_take_turns_whatever_their_scores(user, subscription):
    broad = [paper() for _ in range(3)]
    for score, each in zip([90, 80, 70], broad, strict=True):
        match(subscription, each, score=score)
    narrow_subscription = SubscriptionFactory(owner=user, name="Narrow", query="CLIP")
    narrow = [paper() for _ in range(2)]
    for score, each in zip([2, 1], narrow, strict=True):
        match(narrow_subscription, each, terms=[("CLIP", "abstract")], score=score)
    both = paper()
    match(subscription, both, score=60)
    match(narrow_subscription, both, terms=[("CLIP", "abstract")], score=0.5)
    featured = paper(featured=True)
    match(subscription, featured, score=1)
    ids = ranked_ids(build_digest(user, now=NOW))
    # Featured first; then each subscription's best (equal at 1.0 of their own best: the
    # higher raw score first), each one's second, …; the paper both matched appears once, at
    # the first turn that reaches it (the narrow one's third).
    assert ids == [
        featured.id,
        broad[0].id,
        narrow[0].id,
        broad[1].id,
        narrow[1].id,
        broad[2].id,
        both.id,
    ]


def recorded_papers(page: str, count: int, *, hours_ago: float, skip: int = 0) -> list:
    """``count`` real papers of one recorded Hugging Face listing (``001`` is a search for
    CLIP, ``004`` one for "deep"), after its first ``skip``, first seen ``hours_ago``."""
    rows = [row for row in real_rows() if row["page"].startswith(page)][skip : skip + count]
    return [paper(hours_ago, title=row["title"], abstract=row["abstract"]) for row in rows]


def test_a_liked_papers_neighbours_rise_and_a_disliked_papers_neighbours_fall_in_the_next_digest(
    db,
):
    reader, control = UserFactory(papers_per_digest=25), UserFactory(papers_per_digest=25)
    # Rated in earlier digests: CLIP papers liked, "deep" papers judged not relevant.
    clip, deep = (
        recorded_papers("001", 10, hours_ago=24 * 30),
        recorded_papers("004", 10, hours_ago=24 * 30),
    )
    for liked, disliked in zip(clip[:5], deep[:5], strict=True):
        Feedback.objects.create(user=reader, paper=liked, kind=Feedback.Kind.MORE)
        Feedback.objects.create(user=reader, paper=disliked, kind=Feedback.Kind.LESS)
    # New today, one subscription matching all alike; the "deep" papers are newer, so they
    # lead for a reader who never rated anything.
    new_clip, new_deep = clip[5:], deep[5:]
    for each in new_clip:
        each.created_at = NOW - dt.timedelta(hours=3)
    for each in new_deep:
        each.created_at = NOW - dt.timedelta(hours=1)
    Paper.objects.bulk_update(new_clip + new_deep, ["created_at"])
    for user in (reader, control):
        everything = SubscriptionFactory(owner=user, name="Everything", query="model")
        for each in new_clip + new_deep:
            match(everything, each, terms=[("model", "abstract")], score=2)
    # Also new today, matched by nothing: candidates for "You might also like".
    other_clip = recorded_papers("001", 5, hours_ago=2, skip=10)
    other_deep = recorded_papers("004", 5, hours_ago=2, skip=10)
    assert embed_new_papers() == 30

    plans = plan_digests([reader, control], now=NOW)

    def places(user, papers):
        ranks = {item.paper_id: item.rank for item in plans[user.pk].items}
        return sorted(ranks[each.id] for each in papers)

    assert places(control, new_deep) == [1, 2, 3, 4, 5]
    assert places(reader, new_clip)[0] == 1 and places(reader, new_deep)[-1] == 10
    assert sum(places(reader, new_clip)) < sum(places(reader, new_deep))
    # Of the papers nothing matched, the liked ones' neighbours are suggested, the disliked
    # ones' never; the reader who rated nothing gets no suggestions.
    picks = {item.paper_id for item in suggested(plans[reader.pk])}
    assert picks and picks <= {each.id for each in other_clip}
    assert not picks & {each.id for each in other_deep}
    assert not suggested(plans[control.pk])


# --- The hybrid ranking, reasons and "You might also like" ---------------------------------------


def test_a_paper_matched_by_meaning_only_is_in_the_digest_with_its_close_in_meaning_reason(user):
    # The match step's contract: a paper matched by meaning only has no hits, score 0 and its
    # z as ``similarity``.
    adapting = SubscriptionFactory(
        owner=user, name="Adaptation", query="", interest="test-time adaptation"
    )
    close = paper(title="Adapting models while they run")
    matched = match(adapting, close, terms=[], score=0)
    Match.objects.filter(pk=matched.pk).update(similarity=2.4)
    [item] = build_digest(user, now=NOW).items.all()
    assert item.paper_id == close.id
    assert explain.explain(item.hits) == (
        "close in meaning to your interest “test-time adaptation” (Adaptation)"
    )


def test_within_one_subscription_a_paper_close_in_meaning_outranks_a_weak_keyword_match(user):
    both = SubscriptionFactory(
        owner=user, name="Adaptation", query="adaptation", interest="test-time adaptation"
    )
    strong, weak, meaning_only = paper(), paper(), paper()
    for each, score, z, terms in (
        (strong, 10.0, 0.5, [("adaptation", "title")]),
        (weak, 1.0, 0.2, [("adaptation", "abstract")]),
        (meaning_only, 0.0, 2.5, []),
    ):
        Match.objects.filter(pk=match(both, each, terms=terms, score=score).pk).update(similarity=z)
    digest = build_digest(user, now=NOW)
    # z + 3 × keyword / best keyword: 0.5 + 3 = 3.5, then 2.5 + 0, then 0.2 + 0.3 = 0.5. The
    # keyword score alone put the weak match second.
    assert ranked_ids(digest) == [strong.id, meaning_only.id, weak.id]
    scores = dict(digest.items.values_list("paper_id", "score"))
    assert scores == pytest.approx(
        {
            strong.id: combine(keyword=1.0, similarity=0.5, upvotes=strong.upvotes),
            meaning_only.id: combine(keyword=0.0, similarity=2.5, upvotes=meaning_only.upvotes),
            weak.id: combine(keyword=0.1, similarity=0.2, upvotes=weak.upvotes),
        }
    )


def test_an_interest_of_example_papers_names_the_example_nearest_to_the_paper(user):
    clip, deep = (
        recorded_papers("001", 3, hours_ago=24 * 30),
        recorded_papers("004", 2, hours_ago=1),
    )
    examples = [clip[0], deep[0]]
    like_these = SubscriptionFactory(owner=user, name="Like these", query="")
    like_these.examples.set(examples)
    new_clip = clip[1]
    Paper.objects.filter(pk=new_clip.pk).update(created_at=NOW - dt.timedelta(hours=2))
    assert embed_new_papers() == 5
    # As subscriptions.services stores it: the examples' mean, the interest by meaning.
    embeddings = stack(p.embedding for p in Paper.objects.filter(pk__in=[e.pk for e in examples]))
    Subscription.objects.filter(pk=like_these.pk).update(
        interest_vector=to_bytes(semantic.interest_vector("", embeddings))
    )
    Match.objects.filter(pk=match(like_these, new_clip, terms=[], score=0).pk).update(
        similarity=2.0
    )
    [item] = build_digest(user, now=NOW).items.all()
    vectors = {p.pk: from_bytes(p.embedding) for p in Paper.objects.all()}
    nearest = max(examples, key=lambda e: float(vectors[e.pk] @ vectors[new_clip.pk]))
    assert nearest == clip[0]
    assert explain.explain(item.hits) == (
        f"close in meaning to your example papers, nearest to *{nearest.title}* (Like these)"
    )


def rated_reader(papers_per_digest: int = 25):
    """A reader who liked five CLIP papers and judged five "deep" papers not relevant, in
    earlier digests, with one subscription matching a paper today."""
    reader = UserFactory(papers_per_digest=papers_per_digest)
    clip = recorded_papers("001", 5, hours_ago=24 * 30)
    deep = recorded_papers("004", 5, hours_ago=24 * 30)
    for liked, disliked in zip(clip, deep, strict=True):
        Feedback.objects.create(user=reader, paper=liked, kind=Feedback.Kind.MORE)
        Feedback.objects.create(user=reader, paper=disliked, kind=Feedback.Kind.LESS)
    return reader, clip


def suggested(plan) -> list[DigestItem]:
    return [item for item in plan.items if item.section == DigestItem.Section.SUGGESTED]


def test_suggestions_are_unmatched_unsent_close_to_a_liked_paper_and_at_most_the_setting(
    db, settings
):
    settings.DIGEST_SUGGESTIONS = 3
    reader, liked = rated_reader()
    unrated = UserFactory()
    # New today: CLIP papers (what the reader liked) and "deep" ones (what they did not).
    new_clip = recorded_papers("001", 25, hours_ago=3, skip=5)
    recorded_papers("004", 10, hours_ago=3, skip=5)
    matched, sent_before, hidden, rated = new_clip[:4], new_clip[4], new_clip[5], new_clip[6]
    Paper.objects.filter(pk=hidden.pk).update(hidden=True)
    Feedback.objects.create(user=reader, paper=rated, kind=Feedback.Kind.LESS)
    old = DigestFactory(
        user=reader, date=dt.date(2026, 11, 1), period_end=NOW - dt.timedelta(days=1)
    )
    DigestItem.objects.create(digest=old, user=reader, paper=sent_before, rank=1)
    off = SubscriptionFactory(owner=reader, name="Off", enabled=False)
    match(off, new_clip[7])  # matched by a subscription, if a paused one: not a suggestion
    for user in (reader, unrated):
        everything = SubscriptionFactory(owner=user, name="Everything", query="model")
        for each in matched:
            match(everything, each, terms=[("model", "abstract")])
    embed_new_papers()

    plans = plan_digests([reader, unrated], now=NOW)

    assert suggested(plans[unrated.pk]) == []
    picks = suggested(plans[reader.pk])
    assert len(picks) == 3
    never = {p.id for p in [*matched, sent_before, hidden, rated, new_clip[7]]}
    assert not {item.paper_id for item in picks} & never
    assert {item.paper_id for item in picks} <= {p.id for p in new_clip}
    plan = plans[reader.pk]
    assert plan.digest.papers_total == len(matched)  # suggestions are not counted
    assert [item.rank for item in plan.items] == list(range(1, len(plan.items) + 1))
    assert plan.items[-3:] == picks  # after the matched papers
    # Each with the one true reason: close to a paper this reader liked, in z.
    liked_ids = set(
        Feedback.objects.filter(user=reader, kind="more").values_list("paper_id", flat=True)
    )
    window = Paper.objects.filter(created_at__gt=NOW - dt.timedelta(days=7), hidden=False)
    background = semantic.Background.of(stack(window.values_list("embedding", flat=True)))
    for item in picks:
        [entry] = item.hits
        assert entry["field"] == "liked" and entry["paper_id"] in liked_ids
        assert entry["term"] == Paper.objects.get(pk=entry["paper_id"]).title
        assert entry["similarity"] == pytest.approx(
            z_between(item.paper_id, entry["paper_id"], background), abs=1e-4
        )
        assert entry["similarity"] >= hybrid.CLOSE_IN_MEANING_Z
        assert explain.explain(item.hits) == f"close to *{entry['term']}*, which you liked"


def z_between(paper_id: int, liked_id: int, background) -> float:
    paper_vector, liked_vector = (
        from_bytes(Paper.objects.get(pk=pk).embedding) for pk in (paper_id, liked_id)
    )
    means, sds = background.spread(liked_vector[None, :])
    return float((paper_vector @ liked_vector - means[0]) / sds[0])


def test_no_suggestions_when_the_setting_is_zero_or_nothing_is_close(db, settings):
    reader, _ = rated_reader()
    recorded_papers("001", 12, hours_ago=3, skip=5)
    embed_new_papers()
    settings.DIGEST_SUGGESTIONS = 0
    assert suggested(plan_digest(reader, now=NOW)) == []
    settings.DIGEST_SUGGESTIONS = 3
    assert len(suggested(plan_digest(reader, now=NOW))) == 3
    # A week later nothing is new: nothing to suggest.
    assert suggested(plan_digest(reader, now=NOW + dt.timedelta(days=8))) == []


def test_suggestions_alone_make_no_digest_for_someone_who_skips_empty_ones(db):
    reader, _ = rated_reader()
    recorded_papers("001", 12, hours_ago=3, skip=5)
    embed_new_papers()
    assert len(suggested(plan_digest(reader, now=NOW))) == 3
    assert build_digest(reader, now=NOW) is None


def test_a_matched_paper_the_model_raises_says_which_liked_paper_it_is_close_to(db):
    reader, liked = rated_reader()
    new_clip = recorded_papers("001", 5, hours_ago=3, skip=5)
    new_deep = recorded_papers("004", 5, hours_ago=3, skip=5)
    everything = SubscriptionFactory(owner=reader, name="Everything", query="model")
    for each in new_clip + new_deep:
        match(everything, each, terms=[("model", "abstract")])
    embed_new_papers()
    items = {item.paper_id: item for item in plan_digest(reader, now=NOW).items}
    said = {
        paper_id: [hit for hit in item.hits if hit.get("field") == "liked"]
        for paper_id, item in items.items()
    }
    assert any(said[p.id] for p in new_clip)
    assert not any(said[p.id] for p in new_deep)
    liked_titles = {p.title for p in liked}
    for entries in said.values():
        assert all(
            e["term"] in liked_titles and e["similarity"] >= hybrid.CLOSE_IN_MEANING_Z
            for e in entries
        )


def test_planning_a_chunk_of_rated_readers_costs_the_same_queries_as_one(
    db, django_assert_max_num_queries
):
    readers = [rated_reader()[0] for _ in range(3)]
    today = recorded_papers("001", 15, hours_ago=3, skip=5)
    for reader in readers:
        match(SubscriptionFactory(owner=reader, query="model"), today[-1])
    embed_new_papers()
    # Window starts, matches, featured everywhere, ratings, the window's embeddings, what each
    # reader has had (matched, sent, rated), the papers: the same for one reader or three.
    with django_assert_max_num_queries(7):
        plans = plan_digests(readers, now=NOW, full=True)
    assert all(len(suggested(plan)) == 3 for plan in plans.values())
