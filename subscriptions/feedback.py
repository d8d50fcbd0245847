"""A reader's ratings of papers ("more like this" / "not relevant"): recorded from the email's
links, the digest pages and onboarding, one per reader and paper (the latest click wins), and
listed, undone or switched on the reader's ratings page. They are what the reader's own model
learns from (``subscriptions.reader_model``), fitted afresh at each digest run: a rating undone
here no longer counts from the next digest on."""

from __future__ import annotations

from django.db.models import QuerySet

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


def ratings_of(user: User) -> QuerySet[Feedback]:
    """``user``'s ratings, newest first (a switched rating counts as new), with the few fields
    of each paper the ratings page shows. Papers hidden since are included: their ratings
    still teach the reader's model, so the reader must be able to undo them."""
    return (
        Feedback.objects.filter(user=user)
        .select_related("paper")
        .only(
            "id",
            "kind",
            "created_at",
            "paper_id",
            "paper__key",
            "paper__title",
            "paper__hidden",
        )
        .order_by("-created_at", "-id")
    )


def rating_of(user: User, rating_id: int) -> Feedback | None:
    """One of ``user``'s ratings; None when there is no such rating or it is someone else's."""
    return ratings_of(user).filter(pk=rating_id).first()


def undo_rating(user: User, rating_id: int) -> Feedback | None:
    """Delete one of ``user``'s ratings and return it (with its paper, for the confirmation);
    None when it is not theirs or already gone. Another reader's rating is never touched."""
    rating = rating_of(user, rating_id)
    if rating is None:
        return None
    deleted, _ = Feedback.objects.filter(pk=rating.pk, user=user).delete()
    return rating if deleted else None


def switch_rating(user: User, rating_id: int) -> Feedback | None:
    """Turn "more like this" into "not relevant" or back, for one of ``user``'s ratings; None
    when it is not theirs. Like a new click, the switched rating becomes the newest."""
    rating = rating_of(user, rating_id)
    if rating is None:
        return None
    rating.kind = Feedback.Kind.LESS if rating.kind == Feedback.Kind.MORE else Feedback.Kind.MORE
    rating.save(update_fields=["kind", "created_at"])
    return rating
