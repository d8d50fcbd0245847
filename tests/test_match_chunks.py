"""The match step indexes the enabled subscriptions ``MATCH_BATCH_SUBSCRIPTIONS`` at a time, so
its memory does not grow with the number of subscribers: chunking changes nothing in what it
writes, and papers are marked matched only once every chunk is written."""

from __future__ import annotations

import logging

import pytest

from digest.papers.models import Paper
from subscriptions import match_step
from subscriptions.match_step import match_new_papers
from subscriptions.models import Match, Subscription
from tests.factories import SubscriptionFactory, UserFactory
from tests.realpapers import real_paper

pytestmark = pytest.mark.django_db

COSYVOICE = "CosyVoice: A Scalable"
METRIC3D = "Metric3D: Towards Zero-shot"
LOTUS = "Lotus: Diffusion-based"

# Every shape the percolator checks differently: words, phrases, hyphenated words, wildcards,
# fields, authors, categories, AND / OR / NOT, and the same query twice.
QUERIES = [
    "zero-shot",
    '"zero-shot" vocoder',
    "diffusion AND NOT speech",
    "depth OR vocoder",
    "title:metric3d",
    "abstract:diffus*",
    "token*",
    'author:"Zhihao Du"',
    "cat:cs.CV",
    "zero-shot",
    "speech synthesis",
    "(depth OR normal) AND estimation",
]


@pytest.fixture
def chunks_seen(monkeypatch) -> list[int]:
    """The size of each chunk of subscriptions the step indexed."""
    sizes: list[int] = []
    percolate_chunk = match_step._percolate_chunk

    def counting(analysed, chunk, *args, **kwargs):
        sizes.append(len(chunk))
        return percolate_chunk(analysed, chunk, *args, **kwargs)

    monkeypatch.setattr(match_step, "_percolate_chunk", counting)
    return sizes


def written_rows() -> list[tuple]:
    return list(
        Match.objects.order_by("subscription_id", "paper_id").values_list(
            "subscription_id", "paper_id", "owner_id", "hits", "score"
        )
    )


def match_again_from_scratch() -> None:
    Match.objects.all().delete()
    Paper.objects.update(matched_at=None)
    match_new_papers()


def test_chunks_write_exactly_what_one_chunk_writes(settings, chunks_seen):
    for title in (COSYVOICE, METRIC3D, LOTUS):
        real_paper(title)
    for query in QUERIES:
        SubscriptionFactory(query=query)
    settings.MATCH_BATCH_SUBSCRIPTIONS = 1000
    match_new_papers()
    in_one_chunk = written_rows()
    assert chunks_seen == [len(QUERIES)]
    assert len({row[0] for row in in_one_chunk}) >= len(QUERIES) - 2  # most queries matched

    for size in (1, 2, 5):
        chunks_seen.clear()
        settings.MATCH_BATCH_SUBSCRIPTIONS = size
        match_again_from_scratch()
        assert max(chunks_seen) == size  # never more queries indexed at once than the setting
        assert sum(chunks_seen) == len(QUERIES)
        assert written_rows() == in_one_chunk


def test_identical_queries_on_both_sides_of_a_chunk_boundary_all_match(settings, chunks_seen):
    cosyvoice = real_paper(COSYVOICE)
    same = [SubscriptionFactory(query="zero-shot vocoder", owner=UserFactory()) for _ in range(3)]
    settings.MATCH_BATCH_SUBSCRIPTIONS = 2
    match_new_papers()
    assert chunks_seen == [2, 1]
    rows = written_rows()
    assert [(row[0], row[1], row[2]) for row in rows] == [
        (subscription.id, cosyvoice.id, subscription.owner_id) for subscription in same
    ]
    assert len({(repr(row[3]), row[4]) for row in rows}) == 1  # the same hits and score


def test_an_invalid_query_in_a_later_chunk_is_skipped_and_the_rest_still_match(
    settings, chunks_seen, caplog
):
    cosyvoice = real_paper(COSYVOICE)
    first = SubscriptionFactory(query="zero-shot")
    owner = UserFactory()
    Subscription.objects.bulk_create(  # not compiled on save: the step compiles them
        [
            Subscription(owner=owner, name="broken", query="(vocoder"),
            Subscription(owner=owner, name="bulk", query="CosyVoice"),
        ]
    )
    settings.MATCH_BATCH_SUBSCRIPTIONS = 1
    with caplog.at_level(logging.WARNING, logger="subscriptions.match_step"):
        assert match_new_papers() == 1
    assert chunks_seen == [1, 1]  # the broken one never reaches an index
    bulk = Subscription.objects.get(name="bulk")
    assert bulk.compiled.startswith("[1,")
    assert set(Match.objects.values_list("subscription_id", "paper_id")) == {
        (first.id, cosyvoice.id),
        (bulk.id, cosyvoice.id),
    }
    broken = Subscription.objects.get(name="broken")
    assert f"subscription {broken.id} has an invalid query" in caplog.text


def test_papers_are_marked_matched_only_when_every_chunk_is_written(settings, monkeypatch):
    real_paper(COSYVOICE)
    for _ in range(3):
        SubscriptionFactory(query="zero-shot")
    settings.MATCH_BATCH_SUBSCRIPTIONS = 1
    percolate_chunk = match_step._percolate_chunk
    calls = []

    def failing_on_the_third_chunk(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the worker died")
        return percolate_chunk(*args, **kwargs)

    monkeypatch.setattr(match_step, "_percolate_chunk", failing_on_the_third_chunk)
    with pytest.raises(RuntimeError):
        match_new_papers()
    assert not Match.objects.exists()  # the first two chunks' rows went with the failure
    assert Paper.objects.filter(matched_at__isnull=True).count() == 1

    monkeypatch.setattr(match_step, "_percolate_chunk", percolate_chunk)
    assert match_new_papers() == 1
    assert Match.objects.count() == 3
    assert not Paper.objects.filter(matched_at__isnull=True).exists()
