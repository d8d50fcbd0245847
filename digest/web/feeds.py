"""The private Atom feed of a subscriber's matched papers, for feed readers.

The URL carries ``User.feed_token`` (no login: feed readers have no session); rotating the
token revokes every old URL at once.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Max
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from accounts.models import User
from digest.papers.models import Paper

FEED_SIZE = 100


def matched_papers(user: User, limit: int = FEED_SIZE) -> list[Paper]:
    """The papers that matched any of ``user``'s subscriptions, newest first."""
    return list(
        Paper.objects.visible()
        .filter(matches__owner=user)
        .annotate(matched=Max("matches__created_at"))
        .order_by("-created_at", "-id")[:limit]
    )


def build_feed(user: User, token: str) -> Atom1Feed:
    site = settings.SITE_URL
    feed = Atom1Feed(
        title=f"{settings.SITE_NAME}: papers for {user.email}",
        link=site + reverse("subscriptions:list"),
        description="New papers that matched your subscriptions.",
        feed_url=site + reverse("feed", args=[token]),
        language="en",
    )
    for paper in matched_papers(user):
        link = (
            paper.abs_url
            or paper.hf_url
            or paper.pdf_url
            or (
                site + reverse("papers_day", args=[paper.announced_on.isoformat()])
                if paper.announced_on
                else site
            )
        )
        feed.add_item(
            title=paper.title,
            link=link,
            description=paper.abstract,
            unique_id=f"{site}/paper/{paper.key}",
            unique_id_is_permalink=False,
            pubdate=paper.created_at,
            updateddate=paper.modified_at,
            author_name=", ".join(paper.authors[:10]) or None,
            categories=paper.categories or None,
        )
    return feed
