"""Writes to subscriptions. Views call these; each save re-runs the match step for the
subscription so "My subscriptions" and the next digest reflect the new query at once."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from digest.papers.models import Paper
from subscriptions import semantic
from subscriptions.embeddings import embed_papers, stack, to_bytes
from subscriptions.match_step import rematch_subscription
from subscriptions.models import Subscription

MAX_EXAMPLES = 20
NOTHING_TO_FOLLOW = (
    "Say what to follow: a query, your interest in words, example papers or categories."
)


EDITABLE = ("name", "query", "enabled", "categories", "interest", "strictness")


@transaction.atomic
def create_subscription(
    *,
    owner: User,
    name: str,
    query: str = "",
    enabled: bool = True,
    categories: Sequence[str] = (),
    interest: str = "",
    examples: Sequence[Paper] = (),
    strictness: int | None = None,
) -> Subscription:
    subscription = Subscription(
        owner=owner,
        name=name,
        query=query,
        enabled=enabled,
        categories=list(categories),
        interest=interest,
        strictness=strictness,
    )
    return _save(subscription, examples)


@transaction.atomic
def update_subscription(
    subscription: Subscription, *, examples: Sequence[Paper] | None = None, **changes
) -> Subscription:
    """Change any of ``EDITABLE`` (and the example papers); what is not given stays."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise TypeError(f"not an editable field of a subscription: {', '.join(sorted(unknown))}")
    for name, value in changes.items():
        setattr(subscription, name, value)
    if examples is None:
        examples = list(subscription.examples.all()) if subscription.pk else []
    return _save(subscription, examples)


def _save(subscription: Subscription, examples: Sequence[Paper]) -> Subscription:
    """Normalise, embed the interest, validate, save, and match the subscription again."""
    examples = list(dict.fromkeys(examples))
    if len(examples) > MAX_EXAMPLES:
        raise ValidationError({"examples": f"Give at most {MAX_EXAMPLES} example papers."})
    subscription.query = (subscription.query or "").strip()
    subscription.categories = list(dict.fromkeys(subscription.categories or []))
    subscription.interest = " ".join((subscription.interest or "").split())
    vector = semantic.interest_vector(subscription.interest, _embeddings(examples))
    subscription.interest_vector = None if vector is None else to_bytes(vector)
    if not (subscription.query or subscription.categories or subscription.has_interest):
        raise ValidationError(NOTHING_TO_FOLLOW, code="nothing_to_follow")
    subscription.full_clean()
    subscription.save()
    subscription.examples.set(examples)
    rematch_subscription(subscription)
    return subscription


def _embeddings(papers: Sequence[Paper]):
    """The papers' stored embeddings (rows), embedding those that have none yet."""
    if not papers:
        return None
    missing = [paper for paper in papers if paper.embedding is None]
    if missing:
        for paper, vector in zip(missing, embed_papers(missing), strict=True):
            paper.embedding = to_bytes(vector)
        Paper.objects.bulk_update(missing, ["embedding"])
    return stack(paper.embedding for paper in papers)


def delete_subscription(subscription: Subscription) -> None:
    # Its Match rows go with it (CASCADE); digests already sent keep their own copies.
    subscription.delete()
