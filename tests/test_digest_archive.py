"""The digest archive and the signed "view in browser" page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from digest.digests.links import digest_for_view_token, digest_view_token, digest_view_url
from digest.digests.models import Delivery, DigestItem
from tests.factories import DeliveryFactory, DigestFactory, DigestItemFactory, UserFactory
from tests.mailhelpers import path_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_cache")]


@pytest.fixture
def sent_digest():
    digest = DigestFactory(date="2026-02-03", papers_total=3)
    DigestItemFactory(digest=digest, paper__title="In the email", rank=1)
    DigestItemFactory(
        digest=digest,
        paper__title="Featured one",
        rank=0,
        section=DigestItem.Section.FEATURED,
    )
    DigestItemFactory(digest=digest, paper__title="Over the cap", rank=2, in_email=False)
    DeliveryFactory(digest=digest, status=Delivery.Status.SENT)
    return digest


def test_view_in_browser_link_opens_the_digest_without_login(client, sent_digest):
    url = digest_view_url(sent_digest)
    assert url.startswith("http://localhost:8000/d/")
    page = client.get(path_of(url))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Your digest of Tuesday, 3 February 2026" in html
    assert html.index("Featured one") < html.index("In the email") < html.index("Over the cap")
    assert "More papers that didn't fit in the email" in html
    assert page["Referrer-Policy"] == "no-referrer"
    assert "/f/" in html  # feedback links, signed for the digest's owner


def test_a_tampered_view_token_is_refused(client, sent_digest):
    token = digest_view_token(sent_digest)
    assert client.get(reverse("digest_web", args=[token[:-2] + "xx"])).status_code == 404
    assert digest_for_view_token(token) == sent_digest


def test_archive_lists_the_users_digests_newest_first(client, sent_digest):
    newer = DigestFactory(user=sent_digest.user, date="2026-02-04")
    DeliveryFactory(digest=newer, status=Delivery.Status.PENDING)
    unsent = DigestFactory(user=sent_digest.user, date="2026-02-05")
    DeliveryFactory(digest=unsent, status=Delivery.Status.CANCELLED)
    DeliveryFactory(digest=DigestFactory(date="2026-02-06"))  # someone else's
    client.force_login(sent_digest.user)
    html = client.get(reverse("archive")).content.decode()
    assert html.index("4 February 2026") < html.index("3 February 2026")
    assert "5 February 2026" not in html and "6 February 2026" not in html


def test_archive_digest_page_is_only_for_its_owner(client, sent_digest):
    client.force_login(UserFactory())
    assert client.get(reverse("archive_digest", args=[sent_digest.pk])).status_code == 404
    client.force_login(sent_digest.user)
    page = client.get(reverse("archive_digest", args=[sent_digest.pk]))
    assert page.status_code == 200 and "In the email" in page.content.decode()
