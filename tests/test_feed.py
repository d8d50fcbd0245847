"""The private Atom feed of a subscriber's matched papers: no login, revocable."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse

from subscriptions.models import Match
from tests.factories import PaperFactory, SubscriptionFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_cache")]
ATOM = "{http://www.w3.org/2005/Atom}"


def matched(user, **paper):
    subscription = SubscriptionFactory(owner=user)
    paper = PaperFactory(**paper)
    Match.objects.create(subscription=subscription, paper=paper, owner=user)
    return paper


def test_feed_lists_the_users_matched_papers_without_login(client):
    user = UserFactory()
    matched(user, title="Mine, matched")
    matched(user, title="Mine but hidden", hidden=True)
    matched(UserFactory(), title="Someone else's")
    PaperFactory(title="Not matched")
    response = client.get(reverse("feed", args=[user.feed_token]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    titles = [entry.find(f"{ATOM}title").text for entry in root.iter(f"{ATOM}entry")]
    assert titles == ["Mine, matched"]


def test_rotating_the_token_revokes_the_old_feed_url(client):
    user = UserFactory()
    old_url = reverse("feed", args=[user.feed_token])
    client.force_login(user)
    response = client.post(reverse("accounts:rotate_feed"))
    assert response.status_code == 302
    user.refresh_from_db()
    assert client.get(old_url).status_code == 404
    assert client.get(reverse("feed", args=[user.feed_token])).status_code == 200


def test_unknown_token_is_not_found(client):
    assert client.get(reverse("feed", args=["not-a-token"])).status_code == 404


def test_hostile_titles_are_escaped_in_the_xml(client):
    user = UserFactory()
    matched(user, title="<script>alert(1)</script> & more")
    response = client.get(reverse("feed", args=[user.feed_token]))
    root = ET.fromstring(response.content)  # still well-formed
    assert root.find(f"{ATOM}entry/{ATOM}title").text == "<script>alert(1)</script> & more"
    assert b"<script>" not in response.content


def test_settings_page_shows_the_feed_address(client):
    user = UserFactory()
    client.force_login(user)
    page = client.get(reverse("accounts:settings")).content.decode()
    assert f"/feed/{user.feed_token}.atom" in page


def test_abstracts_are_plain_text_and_every_entry_is_valid_atom(client):
    """RFC 4287: each entry has id, title, updated, link and an author (its own or the
    feed's); abstracts are text, so markup and maths come back exactly as written."""
    user = UserFactory()
    matched(user, abstract="We show $a<b$ for all a.", authors=["Ada Lovelace"])
    matched(user, abstract='Look: <image src=x onerror="alert(1)"> here.', authors=[])
    response = client.get(reverse("feed", args=[user.feed_token]))
    root = ET.fromstring(response.content)
    feed_has_author = root.find(f"{ATOM}author/{ATOM}name") is not None
    entries = list(root.iter(f"{ATOM}entry"))
    assert len(entries) == 2
    for entry in entries:
        for required in ("id", "title", "updated"):
            assert (entry.findtext(f"{ATOM}{required}") or "").strip(), required
        assert entry.find(f"{ATOM}link").get("href")
        assert feed_has_author or entry.find(f"{ATOM}author/{ATOM}name") is not None
        assert entry.find(f"{ATOM}summary").get("type", "text") == "text"
    summaries = {entry.findtext(f"{ATOM}summary") for entry in entries}
    assert summaries == {
        "We show $a<b$ for all a.",
        'Look: <image src=x onerror="alert(1)"> here.',
    }
