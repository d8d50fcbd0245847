"""Feedback links under each paper: signed, no login; GET asks, POST records."""

from __future__ import annotations

import pytest
from django.urls import clear_script_prefix, reverse, set_script_prefix

from digest.digests.links import feedback_token, feedback_url
from subscriptions.models import Feedback
from tests.factories import PaperFactory, UserFactory
from tests.mailhelpers import path_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_cache")]


@pytest.fixture
def reader_and_paper():
    return UserFactory(), PaperFactory(title="A paper worth reading")


def test_feedback_url_is_absolute_on_site_url(reader_and_paper):
    user, paper = reader_and_paper
    assert feedback_url(user, paper, "more").startswith("http://localhost:8000/f/")


def test_links_follow_the_script_prefix_in_force(reader_and_paper):
    # Routes are resolved once per process and prefix (digest.digests.links), not once per link: a
    # site served under a prefix still gets its own links, and the default site its own.
    user, paper = reader_and_paper
    set_script_prefix("/paperboy/")
    try:
        assert feedback_url(user, paper, "more").startswith("http://localhost:8000/paperboy/f/")
    finally:
        clear_script_prefix()
    assert feedback_url(user, paper, "more").startswith("http://localhost:8000/f/")
    token = feedback_url(user, paper, "less").rstrip("/").rpartition("/")[2]
    assert feedback_url(user, paper, "less") == "http://localhost:8000" + reverse(
        "feedback", args=[token]
    )


def test_feedback_url_refuses_unknown_kinds(reader_and_paper):
    user, paper = reader_and_paper
    with pytest.raises(ValueError):
        feedback_url(user, paper, "love")


def test_get_shows_a_confirm_page_and_records_nothing(client, reader_and_paper):
    user, paper = reader_and_paper
    page = client.get(path_of(feedback_url(user, paper, "more")))
    assert page.status_code == 200
    assert "More papers like this?" in page.content.decode()
    assert "A paper worth reading" in page.content.decode()
    assert not Feedback.objects.exists()


def test_post_records_feedback_without_login_or_cookies(reader_and_paper):
    from django.test import Client

    user, paper = reader_and_paper
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(path_of(feedback_url(user, paper, "less")))
    assert response.status_code == 200
    assert "Thanks" in response.content.decode()
    assert Feedback.objects.get(user=user, paper=paper).kind == "less"


def test_latest_feedback_wins(client, reader_and_paper):
    user, paper = reader_and_paper
    client.post(path_of(feedback_url(user, paper, "less")))
    client.post(path_of(feedback_url(user, paper, "more")))
    assert list(Feedback.objects.values_list("kind", flat=True)) == ["more"]


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        feedback_token(1, 1, "more") + "x",
        # Signed for another purpose (the digest view salt) must not work here.
        "eyJ1IjoxLCJwIjoxLCJrIjoibW9yZSJ9:forged",
    ],
)
def test_bad_tokens_are_refused(client, token):
    assert client.get(reverse("feedback", args=[token])).status_code == 404
    assert client.post(reverse("feedback", args=[token])).status_code == 404
    assert not Feedback.objects.exists()


def test_links_in_emails_sent_before_the_signature_change_still_work(client, reader_and_paper):
    # Emails already in inboxes carry HMAC-SHA256 signatures; a link must work whenever it is read.
    from digest.digests.links import _hmac_feedback_signature

    user, paper = reader_and_paper
    value = f"{user.pk}-{paper.pk}-more"
    token = f"{value}.{_hmac_feedback_signature(value)}"
    assert token != feedback_token(user.pk, paper.pk, "more")
    assert client.post(reverse("feedback", args=[token])).status_code == 200
    assert Feedback.objects.get(user=user, paper=paper).kind == "more"


def test_a_signature_does_not_carry_over_to_another_kind(client, reader_and_paper):
    user, paper = reader_and_paper
    signature = feedback_token(user.pk, paper.pk, "more").rpartition(".")[2]
    forged = f"{user.pk}-{paper.pk}-less.{signature}"
    assert client.post(reverse("feedback", args=[forged])).status_code == 404
    assert not Feedback.objects.exists()


def test_feedback_for_a_deleted_paper_is_refused(client, reader_and_paper):
    user, paper = reader_and_paper
    path = path_of(feedback_url(user, paper, "more"))
    paper.delete()
    assert client.post(path).status_code == 404


def test_every_paper_in_the_digest_email_has_working_feedback_links(client):
    from digest.digests.email import render_digest_email
    from tests.factories import DigestItemFactory
    from tests.mailhelpers import URL

    item = DigestItemFactory(paper__title="Emailed paper")
    DigestItemFactory(digest=item.digest, paper__title="Another emailed paper")
    message = render_digest_email(item.digest)
    text, html = message.body, message.alternatives[0][0]
    more = [url for url in URL.findall(text) if "/f/" in url]
    assert len(more) == 4  # two per paper
    for url in more:
        assert url in html.replace("&amp;", "&")
    client.post(path_of(more[0]))
    client.post(path_of(more[1]))
    feedback = Feedback.objects.get(user=item.user, paper=item.paper)
    assert feedback.kind == "less"  # "not relevant" came second for the first paper


def test_a_suggested_papers_links_work_without_login_and_a_tampered_one_says_it_is_not_valid():
    from django.test import Client

    from digest.digests.email import render_digest_email
    from digest.digests.models import DigestItem
    from tests.factories import DigestItemFactory
    from tests.mailhelpers import URL

    matched = DigestItemFactory(paper__title="Matched paper")
    suggested = DigestItemFactory(
        digest=matched.digest,
        section=DigestItem.Section.SUGGESTED,
        paper__title="Suggested paper",
        hits=[{"field": "liked", "term": "Liked", "paper_id": matched.paper_id, "similarity": 2}],
    )
    text = render_digest_email(matched.digest).body
    section = text[text.index("== You might also like ==") :]
    more, less = [url for url in URL.findall(section) if "/f/" in url]
    browser = Client(enforce_csrf_checks=True)  # a mail client's browser: no session, no cookie
    page = browser.get(path_of(more))
    assert page.status_code == 200 and "More papers like this?" in page.content.decode()
    assert "Suggested paper" in page.content.decode()
    assert not Feedback.objects.exists()  # a scanner following the link votes nothing
    assert browser.post(path_of(more)).status_code == 200
    assert Feedback.objects.get(user=matched.user, paper=suggested.paper).kind == "more"
    # Another paper's id under this link's signature is refused, with a page that says so.
    user_id, paper_id, rest = path_of(less).rstrip("/").rsplit("/", 1)[1].split("-", 2)
    forged = f"{user_id}-{matched.paper_id}-{rest}"
    for response in (
        browser.get(reverse("feedback", args=[forged])),
        browser.post(reverse("feedback", args=[forged])),
    ):
        assert response.status_code == 404
        assert "This link is not valid" in response.content.decode()
    assert Feedback.objects.count() == 1
