"""The match step: new papers against enabled subscriptions, Match rows with hits and a score,
idempotent; a saved subscription is re-matched at once; ranking puts the right papers first."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.utils import timezone

from digest.papers.models import Paper
from subscriptions import recent, services
from subscriptions.compiled import compile_text
from subscriptions.documents import ANALYSIS_VERSION, PaperDoc
from subscriptions.match_step import match_new_papers, rematch_subscription
from subscriptions.models import Match, PaperAnalysis, Subscription
from subscriptions.preview import run_preview
from subscriptions.ranking import rank_key
from tests.factories import DigestItemFactory, PaperFactory, SubscriptionFactory, UserFactory
from tests.realpapers import real_paper

pytestmark = pytest.mark.django_db

COSYVOICE = "CosyVoice: A Scalable"
METRIC3D = "Metric3D: Towards Zero-shot"
LOTUS = "Lotus: Diffusion-based"


def test_new_papers_are_matched_with_hits_and_a_score_and_marked():
    cosyvoice, lotus = real_paper(COSYVOICE), real_paper(LOTUS)
    subscription = SubscriptionFactory(query="zero-shot vocoder")
    assert match_new_papers() == 2
    [match] = Match.objects.all()
    assert (match.subscription, match.paper, match.owner) == (
        subscription,
        cosyvoice,
        subscription.owner,
    )
    assert match.hits == [
        {"term": "zero-shot", "field": "title"},
        {"term": "zero-shot", "field": "abstract"},
        {"term": "vocoder", "field": "abstract"},
    ]
    assert match.score > 0
    assert Paper.objects.filter(matched_at__isnull=True).count() == 0
    lotus.refresh_from_db()
    assert lotus.matched_at is not None  # looked at, matched nothing


def test_running_the_step_twice_writes_nothing_twice():
    real_paper(COSYVOICE)
    SubscriptionFactory(query="zero-shot")
    match_new_papers()
    before = list(Match.objects.values_list("subscription_id", "paper_id", "hits"))
    assert match_new_papers() == 0  # nothing new
    Paper.objects.update(matched_at=None)  # as if a crash lost the marks
    assert match_new_papers() == 1
    assert list(Match.objects.values_list("subscription_id", "paper_id", "hits")) == before


def test_hidden_papers_wait_and_disabled_subscriptions_are_skipped():
    hidden = real_paper(COSYVOICE, hidden=True)
    real_paper(METRIC3D)
    SubscriptionFactory(query="zero-shot", enabled=False)
    enabled = SubscriptionFactory(query="zero-shot")
    assert match_new_papers() == 1
    assert list(Match.objects.values_list("subscription_id", flat=True)) == [enabled.id]
    hidden.refresh_from_db()
    assert hidden.matched_at is None
    Paper.objects.filter(pk=hidden.pk).update(hidden=False)
    assert match_new_papers() == 1
    assert Match.objects.filter(paper=hidden, subscription=enabled).exists()


def test_the_next_run_sees_subscriptions_saved_edited_and_deleted_since_the_last_one():
    # The index is built by each run from the subscriptions as they are then: nothing to
    # invalidate when the web process saves or deletes one while a worker runs the step.
    real_paper(LOTUS)
    kept = SubscriptionFactory(query="zero-shot")
    edited = SubscriptionFactory(query="vocoder")
    deleted = SubscriptionFactory(query="zero-shot")
    assert match_new_papers() == 1
    services.delete_subscription(deleted)
    services.update_subscription(edited, name="depth", query="depth", enabled=True)
    added = services.create_subscription(owner=UserFactory(), name="new", query="zero-shot")
    Match.objects.all().delete()  # only what the next run writes
    real_paper(METRIC3D)
    assert match_new_papers() == 1
    assert set(Match.objects.values_list("subscription_id", flat=True)) == {
        kept.id,
        edited.id,
        added.id,
    }


def test_bulk_created_subscriptions_are_compiled_by_the_step_and_invalid_ones_skipped(caplog):
    real_paper(COSYVOICE)
    owner = UserFactory()
    Subscription.objects.bulk_create(
        [
            Subscription(owner=owner, name="bulk", query="CosyVoice"),
            Subscription(owner=owner, name="broken", query="(CosyVoice"),
        ]
    )
    assert not Match.objects.exists()  # bulk saves trigger no per-row work
    with caplog.at_level(logging.WARNING, logger="subscriptions.match_step"):
        match_new_papers()
    bulk = Subscription.objects.get(name="bulk")
    assert bulk.compiled.startswith("[1,")
    assert list(Match.objects.values_list("subscription__name", flat=True)) == ["bulk"]
    assert "invalid query" in caplog.text


def test_bulk_created_subscriptions_are_compiled_within_their_categories(caplog):
    in_vision = real_paper(METRIC3D, categories=["cs.CV"])
    real_paper(COSYVOICE, categories=["cs.SD", "cs.CL"])  # says "zero-shot" too
    owner = UserFactory()
    Subscription.objects.bulk_create(
        [
            Subscription(owner=owner, name="query", query="zero-shot", categories=["cs.CV"]),
            Subscription(owner=owner, name="categories alone", categories=["cs.CV", "eess.IV"]),
            # Matched by meaning only (no vector yet: it matches nothing): no boolean query.
            Subscription(owner=owner, name="meaning", interest="depth from a single image"),
        ]
    )
    with caplog.at_level(logging.WARNING, logger="subscriptions.match_step"):
        match_new_papers()
    compiled = dict(Subscription.objects.values_list("name", "compiled"))
    assert compiled == {
        "query": compile_text("(zero-shot) AND (cat:cs.CV)"),
        "categories alone": compile_text("cat:cs.CV OR cat:eess.IV"),
        "meaning": "",
    }
    assert sorted(Match.objects.values_list("subscription__name", "paper")) == [
        ("categories alone", in_vision.id),
        ("query", in_vision.id),
    ]
    assert "invalid" not in caplog.text  # no boolean query is not an invalid one


def test_categories_alone_follow_every_paper_in_them():
    vision = [real_paper(title, categories=["cs.CV"]) for title in (METRIC3D, LOTUS)]
    real_paper(COSYVOICE, categories=["cs.SD"])
    subscription = services.create_subscription(
        owner=UserFactory(), name="vision", categories=["cs.CV"]
    )
    Match.objects.all().delete()  # only what the step writes
    Subscription.objects.filter(pk=subscription.pk).update(compiled="")  # as if bulk-created
    match_new_papers()
    assert sorted(subscription.matches.values_list("paper_id", flat=True)) == sorted(
        paper.id for paper in vision
    )
    assert subscription.matches.first().hits == [{"term": "cs.CV", "field": "category"}]


def no_analysis(monkeypatch) -> None:
    """From now on, analysing a paper fails the test."""

    def analysed_again(*args, **kwargs):
        raise AssertionError("analysed again")

    monkeypatch.setattr(PaperDoc, "from_paper", analysed_again)


def test_the_step_stores_each_papers_analysis_for_every_other_process(monkeypatch):
    cosyvoice = real_paper(COSYVOICE)
    SubscriptionFactory(query="zero-shot vocoder")
    match_new_papers()
    stored = PaperAnalysis.objects.get(paper=cosyvoice)
    assert (stored.version, stored.paper_modified_at) == (ANALYSIS_VERSION, cosyvoice.modified_at)
    recent.clear_cache()  # a web process that has just started
    no_analysis(monkeypatch)
    [hit] = run_preview("vocoder").hits
    assert hit.paper == cosyvoice


def test_the_step_in_a_new_process_reuses_the_papers_analysed_by_other_processes(monkeypatch):
    real_paper(COSYVOICE)
    SubscriptionFactory(query="zero-shot vocoder")
    run_preview("zero-shot")  # a preview in the web process analysed the recent papers
    recent.clear_cache()  # the worker starts afresh
    no_analysis(monkeypatch)
    assert match_new_papers() == 1
    assert Match.objects.count() == 1


def test_an_edited_paper_is_analysed_again():
    paper = real_paper(COSYVOICE)
    match_new_papers()
    paper.title = "Vocoders revisited"
    paper.save()  # what the admin does: modified_at moves on
    Paper.objects.filter(pk=paper.pk).update(matched_at=None)
    SubscriptionFactory(query="title:revisited")
    assert match_new_papers() == 1
    assert Match.objects.filter(paper=paper).exists()
    assert PaperAnalysis.objects.get(paper=paper).paper_modified_at == paper.modified_at


def test_the_step_drops_the_analyses_of_papers_older_than_any_preview_reads():
    month_old = real_paper(METRIC3D, created_at=timezone.now() - dt.timedelta(days=40))
    recent = real_paper(COSYVOICE)
    run_preview("zero-shot", days=60)  # analyses both
    assert PaperAnalysis.objects.count() == 2
    match_new_papers()
    assert list(PaperAnalysis.objects.values_list("paper_id", flat=True)) == [recent.id]
    assert [hit.paper for hit in run_preview("zero-shot", days=60).hits] == [recent, month_old]


def test_a_title_match_scores_above_an_abstract_match():
    in_title = PaperFactory(title="Diffusion for proteins", abstract="We fold proteins.")
    in_abstract = PaperFactory(title="Protein folding", abstract="A diffusion model folds them.")
    SubscriptionFactory(query="diffusion")
    match_new_papers()
    scores = dict(Match.objects.values_list("paper_id", "score"))
    assert scores[in_title.id] > scores[in_abstract.id]


def test_a_rare_word_scores_above_a_common_one():
    for number in range(8):
        PaperFactory(title=f"Filler {number}", abstract="A language model for things.")
    rare = PaperFactory(title="Speech", abstract="A neural vocoder.")
    common = PaperFactory(title="Text", abstract="A language model.")
    SubscriptionFactory(query="vocoder OR model")
    match_new_papers()
    scores = dict(Match.objects.values_list("paper_id", "score"))
    assert scores[rare.id] > scores[common.id]


def test_upvotes_break_ties_and_never_outweigh_relevance():
    plain = PaperFactory(title="Diffusion", abstract="x", upvotes=0)
    popular = PaperFactory(title="Diffusion", abstract="y", upvotes=4000)
    better = PaperFactory(title="Diffusion", abstract="diffusion again", upvotes=0)
    SubscriptionFactory(query="diffusion")
    match_new_papers()
    scores = dict(Match.objects.values_list("paper_id", "score"))
    assert scores[better.id] > scores[popular.id] > scores[plain.id]


def ranked(*papers: dict) -> list[str]:
    """The names of ``papers`` (rank_key's arguments and a name) in ranking order."""
    defaults = {"created_at": timezone.now(), "paper_id": 1}
    return [
        paper["name"]
        for paper in sorted(
            papers,
            key=lambda paper: rank_key(
                **{**defaults, **{k: v for k, v in paper.items() if k != "name"}}
            ),
        )
    ]


def test_featured_papers_rank_first_then_by_score():
    assert ranked(
        {"name": "plain", "featured": False, "score": 99.0},
        {"name": "featured", "featured": True, "score": 0.1},
        {"name": "everywhere", "featured": False, "featured_everywhere": True, "score": 0.2},
        {"name": "better", "featured": False, "score": 100.0},
    ) == ["everywhere", "featured", "better", "plain"]


def test_ties_go_to_more_subscriptions_then_upvotes_then_the_newest_then_the_lowest_id():
    now = timezone.now()
    earlier = now - dt.timedelta(hours=1)
    same = {"featured": False, "score": 2.5}
    assert ranked(
        {"name": "old", **same, "created_at": earlier, "paper_id": 1},
        {"name": "new, higher id", **same, "created_at": now, "paper_id": 3},
        {"name": "new, lower id", **same, "created_at": now, "paper_id": 2},
        {"name": "upvoted", **same, "upvotes": 10_000, "created_at": earlier},
        {"name": "two subscriptions", **same, "subscriptions": 2, "created_at": earlier},
    ) == ["two subscriptions", "upvoted", "new, lower id", "new, higher id", "old"]


def test_saving_a_subscription_rematches_it_at_once():
    cosyvoice, metric3d = real_paper(COSYVOICE), real_paper(METRIC3D)
    owner = UserFactory()
    subscription = services.create_subscription(owner=owner, name="TTS", query="CosyVoice")
    assert list(subscription.matches.values_list("paper_id", flat=True)) == [cosyvoice.id]
    services.update_subscription(subscription, name="TTS", query="Metric3D", enabled=True)
    assert list(subscription.matches.values_list("paper_id", flat=True)) == [metric3d.id]
    services.update_subscription(subscription, name="TTS", query="Metric3D", enabled=False)
    assert not subscription.matches.exists()


def test_a_plain_save_does_no_matching_work():
    real_paper(COSYVOICE)
    SubscriptionFactory(query="zero-shot")  # services.create_subscription re-matches; save() not
    assert not Match.objects.exists()


def test_rematching_keeps_what_was_already_sent_and_old_papers():
    sent = real_paper(COSYVOICE)
    old = real_paper(METRIC3D, created_at=timezone.now() - dt.timedelta(days=30))
    subscription = SubscriptionFactory(query="zero-shot")
    match_new_papers()
    DigestItemFactory(digest__user=subscription.owner, paper=sent)
    sent_match = Match.objects.get(subscription=subscription, paper=sent)
    subscription.query = "Lotus"
    subscription.save()
    assert rematch_subscription(subscription) == 0
    remaining = set(subscription.matches.values_list("id", flat=True))
    assert sent_match.id in remaining  # delivered: its explanation stays as it was sent
    assert Match.objects.filter(subscription=subscription, paper=old).exists()  # out of window


def test_rematching_matches_papers_of_the_last_days_only(settings):
    settings.MATCH_REMATCH_DAYS = 3
    recent = real_paper(COSYVOICE, created_at=timezone.now() - dt.timedelta(days=2))
    real_paper(METRIC3D, created_at=timezone.now() - dt.timedelta(days=5))
    subscription = SubscriptionFactory(query="zero-shot")
    assert rematch_subscription(subscription) == 1
    assert list(subscription.matches.values_list("paper_id", flat=True)) == [recent.id]
