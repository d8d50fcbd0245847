"""The match step by meaning: a subscription's interest (its words, its example papers) matches
the new papers close to it, within its categories and as strict as it asks; a paper matched by
query and by meaning is one match carrying both its keyword score and its closeness; a saved
subscription is matched again the same way. Real papers (tests/fixtures), the real model."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.utils import timezone

from digest.papers.models import Paper
from subscriptions import semantic, services
from subscriptions.embeddings import embed_new_papers, to_bytes
from subscriptions.match_step import match_new_papers
from subscriptions.models import Match, Subscription
from tests.factories import PaperFactory, SubscriptionFactory, UserFactory
from tests.realpapers import real_paper, real_row

pytestmark = pytest.mark.django_db

CLASSIFY_WITHOUT_LABELS = "learning to classify without labelled examples"
VOICE_CLONING = "text-to-speech that imitates a speaker's voice from a short recording"

# Zero-shot classification, in words other than the interest's (z ≈ 2.8 against the recorded
# papers' background: above the default threshold of 2).
MADS = "MADS: Multi-Attribute Document Supervision"
# Close in meaning too (z ≈ 2.3–3.4); the first two never say "classification".
GEOMETRY = "Geometry-Aware Adaptation for Pretrained"
TRANSDUCTIVE = "Transductive Multi-view Zero-Shot"
ONTOZSL = "OntoZSL: Ontology-enhanced"
# Zero-shot classification too, a little further (z ≈ 1.4–2.0).
IMPROVED = "Improved Zero-Shot Classification by Adapting"
CREST = "CREST: Cross-modal Resonance"
GROUNDING = "Grounding Descriptions in Images"
ZERONLG = "ZeroNLG: Aligning and Autoencoding"
# Unrelated: speech synthesis that says "zero-shot" (z ≈ 0.2), a language models' cache (−0.7).
COSYVOICE = "CosyVoice: A Scalable"
KV_CACHE = "Can LLMs Maintain Fundamental Abilities"


def new_papers(*titles: str, **fields) -> dict[str, Paper]:
    """Recorded papers, new (not matched yet) and embedded, as the daily run has them."""
    papers = {title: real_paper(title, **fields) for title in titles}
    embed_new_papers()
    return papers


def subscribe(**fields) -> Subscription:
    return services.create_subscription(owner=UserFactory(), name="following", **fields)


def matches_of(subscription: Subscription) -> dict[str, Match]:
    """The subscription's matches by the start of their paper's title (as the constants)."""
    return {match.paper.title: match for match in subscription.matches.select_related("paper")}


def titles(subscription: Subscription) -> set[str]:
    return set(matches_of(subscription))


def title_of(start: str) -> str:
    return real_row(start)["title"]


def test_an_interest_matches_a_paper_about_it_in_other_words_and_not_unrelated_ones():
    subscription = subscribe(interest=CLASSIFY_WITHOUT_LABELS)
    new_papers(MADS, COSYVOICE, KV_CACHE)
    assert match_new_papers() == 3
    [match] = subscription.matches.all()
    assert match.paper.title == title_of(MADS)
    assert (match.hits, match.score, match.owner) == ([], 0, subscription.owner)
    assert match.similarity >= 2  # the default strictness's threshold, in spreads


def test_a_strict_subscription_matches_fewer_papers_than_a_loose_one():
    loose = subscribe(interest=CLASSIFY_WITHOUT_LABELS, strictness=1)
    strict = subscribe(interest=CLASSIFY_WITHOUT_LABELS, strictness=5)
    new_papers(
        GEOMETRY,
        MADS,
        TRANSDUCTIVE,
        ONTOZSL,
        IMPROVED,
        CREST,
        GROUNDING,
        ZERONLG,
        COSYVOICE,
        KV_CACHE,
    )
    match_new_papers()
    loosely, strictly = titles(loose), titles(strict)
    assert len(loosely) >= 6  # the zero-shot classification papers, near and further
    assert strictly < loosely  # only the closest of them
    assert title_of(COSYVOICE) not in loosely and title_of(KV_CACHE) not in loosely
    assert min(match.similarity for match in strict.matches.all()) >= 3


def test_example_papers_match_a_new_version_of_one_of_them_and_not_far_papers():
    month_ago = timezone.now() - dt.timedelta(days=30)
    example = real_paper(MADS, created_at=month_ago, matched_at=month_ago)
    subscription = subscribe(examples=[example])
    assert subscription.interest_vector is not None
    row = real_row(MADS)
    sentences = row["abstract"].split(". ")
    near_duplicate = PaperFactory(  # a new version: a longer title, a shorter abstract
        title=row["title"] + " (extended version)", abstract=". ".join(sentences[:-2]) + "."
    )
    new_papers(COSYVOICE, KV_CACHE)
    match_new_papers()
    [match] = subscription.matches.all()
    assert match.paper == near_duplicate
    assert match.similarity > 3


def test_a_paper_given_as_an_example_is_not_matched_back_to_its_subscription():
    papers = new_papers(MADS, GEOMETRY)
    subscription = subscribe(examples=[papers[MADS]], strictness=1)
    Match.objects.all().delete()  # only what the step writes
    match_new_papers()
    assert title_of(GEOMETRY) in titles(subscription)
    assert title_of(MADS) not in titles(subscription)


def test_categories_filter_what_the_query_and_the_interest_match():
    by_query = subscribe(query="zero-shot", categories=["cs.CV"])
    by_meaning = subscribe(interest=CLASSIFY_WITHOUT_LABELS, categories=["cs.CV"])
    anywhere = subscribe(interest=CLASSIFY_WITHOUT_LABELS)
    new_papers(MADS, categories=["cs.CV", "cs.LG"], primary_category="cs.CV")
    new_papers(TRANSDUCTIVE, categories=["cs.LG"], primary_category="cs.LG")
    new_papers(COSYVOICE, categories=["cs.SD", "eess.AS"], primary_category="cs.SD")
    match_new_papers()
    assert titles(by_query) == {title_of(MADS)}  # all three say "zero-shot"
    assert titles(by_meaning) == {title_of(MADS)}
    assert titles(anywhere) == {title_of(MADS), title_of(TRANSDUCTIVE)}


def test_a_paper_matched_by_query_and_by_meaning_is_one_match_with_a_score_and_a_similarity():
    subscription = subscribe(query="zero-shot AND classification", interest=CLASSIFY_WITHOUT_LABELS)
    Match.objects.all().delete()
    new_papers(MADS, GEOMETRY, GROUNDING, KV_CACHE)
    match_new_papers()
    matches = matches_of(subscription)
    assert Match.objects.filter(subscription=subscription).count() == len(matches) == 3
    both = matches[title_of(MADS)]
    assert both.hits and both.score > 0 and both.similarity >= 2
    by_meaning = matches[title_of(GEOMETRY)]  # never says "classification"
    assert by_meaning.hits == [] and by_meaning.score == 0 and by_meaning.similarity >= 2
    by_query = matches[title_of(GROUNDING)]  # its closeness is known, whether or not it passes
    assert by_query.hits and by_query.score > 0 and by_query.similarity is not None


def test_a_query_only_subscription_ranks_its_matches_by_the_querys_words():
    words = subscribe(query="zero-shot")
    no_words = subscribe(query="author:Lovelace")  # an author is not a topic
    new_papers(MADS, COSYVOICE, authors=["Ada Lovelace"])
    match_new_papers()
    assert words.matches.count() == 2
    assert None not in {match.similarity for match in words.matches.all()}
    assert no_words.matches.count() == 2
    assert {match.similarity for match in no_words.matches.all()} == {None}


def test_disabled_subscriptions_get_nothing():
    enabled = subscribe(interest=CLASSIFY_WITHOUT_LABELS)
    disabled = subscribe(interest=CLASSIFY_WITHOUT_LABELS, query="zero-shot", enabled=False)
    new_papers(MADS, COSYVOICE)
    match_new_papers()
    assert titles(enabled) == {title_of(MADS)}
    assert not disabled.matches.exists()


def test_running_the_step_twice_writes_nothing_new():
    subscribe(interest=CLASSIFY_WITHOUT_LABELS, query="zero-shot AND classification")
    subscribe(query="zero-shot")
    new_papers(MADS, GEOMETRY, COSYVOICE, KV_CACHE)
    match_new_papers()
    rows = list(Match.objects.order_by("id").values_list("id", "hits", "score", "similarity"))
    assert any(hits == [] for _, hits, _, _ in rows)  # some matched by meaning alone
    assert match_new_papers() == 0
    Paper.objects.update(matched_at=None)  # as if a crash lost the marks
    assert match_new_papers() == 4
    assert list(Match.objects.order_by("id").values_list("id", "hits", "score", "similarity")) == (
        rows
    )


def test_a_paper_without_an_embedding_is_matched_by_query_only_and_logged(caplog):
    by_meaning = subscribe(interest=CLASSIFY_WITHOUT_LABELS)
    both = subscribe(interest=CLASSIFY_WITHOUT_LABELS, query="zero-shot")
    real_paper(MADS)  # not embedded: the daily run embeds before matching, this test did not
    with caplog.at_level(logging.WARNING, logger="subscriptions.match_step"):
        match_new_papers()
    assert "1 of 1 papers have no embedding" in caplog.text
    assert not by_meaning.matches.exists()
    [match] = both.matches.all()
    assert match.hits and match.similarity is None


def test_saving_an_edited_interest_matches_the_recent_papers_again_by_meaning():
    new_papers(MADS, COSYVOICE, KV_CACHE)
    match_new_papers()
    subscription = subscribe(interest=CLASSIFY_WITHOUT_LABELS)
    assert titles(subscription) == {title_of(MADS)}
    services.update_subscription(subscription, interest=VOICE_CLONING)
    assert titles(subscription) == {title_of(COSYVOICE)}
    [match] = subscription.matches.all()
    assert match.hits == [] and match.similarity > 3
    services.update_subscription(subscription, categories=["cs.CL"])  # CosyVoice is in cs.LG
    assert titles(subscription) == set()


def test_saving_a_subscription_with_a_query_and_an_interest_matches_both_ways_once():
    new_papers(MADS, GEOMETRY, GROUNDING, KV_CACHE)
    subscription = subscribe(query="zero-shot AND classification", interest=CLASSIFY_WITHOUT_LABELS)
    matches = matches_of(subscription)
    assert set(matches) == {title_of(MADS), title_of(GEOMETRY), title_of(GROUNDING)}
    assert matches[title_of(MADS)].hits and matches[title_of(MADS)].similarity >= 2
    assert matches[title_of(GEOMETRY)].hits == []
    assert matches[title_of(GROUNDING)].similarity is not None


def test_a_subscription_whose_query_does_not_parse_is_still_matched_by_its_interest(caplog):
    subscription = SubscriptionFactory(  # saved past the form: its query was never checked
        query="(zero-shot",
        interest=CLASSIFY_WITHOUT_LABELS,
        interest_vector=to_bytes(semantic.interest_vector(CLASSIFY_WITHOUT_LABELS)),
    )
    new_papers(MADS, COSYVOICE)
    with caplog.at_level(logging.WARNING, logger="subscriptions.match_step"):
        match_new_papers()
    assert f"subscription {subscription.id} has an invalid query" in caplog.text
    assert titles(subscription) == {title_of(MADS)}


def test_a_bulk_created_interest_is_embedded_by_the_step_and_matched_by_meaning():
    """Saved without subscriptions.services (a bulk import), it has words but no vector: the
    step embeds and stores them, as it compiles a bulk-created query, and matches by meaning."""
    [subscription] = Subscription.objects.bulk_create(
        [Subscription(owner=UserFactory(), name="imported", interest=CLASSIFY_WITHOUT_LABELS)]
    )
    new_papers(MADS, COSYVOICE)
    match_new_papers()
    subscription.refresh_from_db()
    assert subscription.interest_vector is not None
    assert titles(subscription) == {title_of(MADS)}
