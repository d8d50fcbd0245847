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


class PlainTextAtomFeed(Atom1Feed):
    """Atom whose entry summaries are ``type="text"``.

    Django's Atom1Feed always labels ``description`` as HTML, but abstracts are plain text:
    as HTML, tags the ingest cleaner keeps (``<image onerror=...>``) run in readers that do
    not sanitise, and maths such as ``$a<b$`` loses its ``<b``. Items pass ``summary``
    instead of ``description``; the XML writer escapes it.
    """

    def add_item_elements(self, handler, item: dict) -> None:
        super().add_item_elements(handler, item)
        if item.get("summary"):
            handler.addQuickElement("summary", item["summary"], {"type": "text"})


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
    feed = PlainTextAtomFeed(
        title=f"{settings.SITE_NAME}: papers for {user.email}",
        link=site + reverse("subscriptions:list"),
        description="New papers that matched your subscriptions.",
        feed_url=site + reverse("feed", args=[token]),
        language="en",
        # RFC 4287 wants an author on every entry; papers without authors fall back to this.
        author_name=settings.SITE_NAME,
        author_link=site + "/",
    )
    for paper in matched_papers(user):
        # The paper's page on this site: its abstract, links and similar papers.
        page = site + paper.get_absolute_url()
        feed.add_item(
            title=paper.title,
            link=page,
            description=None,  # Atom1Feed would label it HTML; see PlainTextAtomFeed
            summary=paper.abstract,
            # Unchanged since before the page existed (feed readers key entries on it); for
            # arXiv papers it is the page's URL, keys with characters a URL quotes differ.
            unique_id=f"{site}/paper/{paper.key}",
            unique_id_is_permalink=False,
            pubdate=paper.created_at,
            updateddate=paper.modified_at,
            author_name=", ".join(paper.authors[:10]) or None,
            categories=paper.categories or None,
        )
    return feed
