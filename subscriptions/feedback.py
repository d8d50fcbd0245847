"""Feedback from the email's "more like this" / "not relevant" links, stored per user and
paper (the latest click wins) for ranking later."""

from __future__ import annotations

from accounts.models import User
from digest.papers.models import Paper
from subscriptions.models import Feedback


def record_feedback(*, user_id: int, paper_id: int, kind: str) -> Feedback | None:
    """Store ``kind`` for (user, paper); None when the paper or user no longer exists."""
    if kind not in Feedback.Kind.values:
        raise ValueError(f"unknown feedback kind {kind!r}")
    if not (
        User.objects.filter(pk=user_id).exists() and Paper.objects.filter(pk=paper_id).exists()
    ):
        return None
    feedback, _ = Feedback.objects.update_or_create(
        user_id=user_id, paper_id=paper_id, defaults={"kind": kind}
    )
    return feedback
