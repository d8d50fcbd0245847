"""Reads for the digest archive and the digest web page."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from digest.digests import links
from digest.digests.models import Digest, DigestItem
from subscriptions.explain import lines


def digests_of(user: User) -> QuerySet[Digest]:
    """Every digest ``user`` was sent (or that is on its way), newest first."""
    return (
        Digest.objects.filter(user=user, delivery__isnull=False)
        .exclude(delivery__status="cancelled")
        .select_related("delivery")
        .order_by("-date", "-id")
    )


def digest_page_context(digest: Digest, *, signed: bool = False) -> dict[str, object]:
    """The web page of a digest: its sections as the email has them, with the papers that did
    not fit in the email and the same reasons (``subscriptions.explain``) and feedback links."""
    items = list(
        DigestItem.objects.filter(digest=digest)
        .select_related("paper")
        .order_by("-in_email", "rank", "id")
    )
    for item in items:
        item.reasons = lines(
            item.hits,
            featured=item.section == DigestItem.Section.FEATURED,
            upvotes=item.paper.upvotes,
        )
        # Feedback buttons on the web page work like the ones in the email (signed, no login).
        item.more_url = links.feedback_url(digest.user, item.paper, "more")
        item.less_url = links.feedback_url(digest.user, item.paper, "less")
    suggested = [i for i in items if i.section == DigestItem.Section.SUGGESTED]
    items = [i for i in items if i.section != DigestItem.Section.SUGGESTED]
    return {
        "digest": digest,
        "featured": [i for i in items if i.section == DigestItem.Section.FEATURED and i.in_email],
        "matched": [i for i in items if i.section != DigestItem.Section.FEATURED and i.in_email],
        "overflow": [i for i in items if not i.in_email],
        "suggested": suggested,
        "signed": signed,
    }
