"""The reader's ratings page: every "more like this" / "not relevant" they gave, newest first,
each one to undo or to switch; only their own, and an undone rating no longer teaches their
model."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from digest.digests.links import feedback_url
from subscriptions.embeddings import embed_new_papers
from subscriptions.feedback import ratings_of, record_feedback, switch_rating, undo_rating
from subscriptions.models import Feedback
from subscriptions.reader_model import ReaderModels
from tests.factories import PaperFactory, UserFactory
from tests.mailhelpers import path_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_cache")]


@pytest.fixture
def reader(client):
    user = UserFactory(email="reader@example.org")
    client.force_login(user)
    return user


def rate(user, paper, kind: str, days_ago: float = 0) -> Feedback:
    rating = record_feedback(user_id=user.pk, paper_id=paper.pk, kind=kind)
    # created_at is auto_now: set the date of an older rating with an update.
    Feedback.objects.filter(pk=rating.pk).update(
        created_at=timezone.now() - dt.timedelta(days=days_ago)
    )
    return Feedback.objects.get(pk=rating.pk)


def undo_url(rating: Feedback) -> str:
    return reverse("accounts:rating_undo", args=[rating.pk])


def switch_url(rating: Feedback) -> str:
    return reverse("accounts:rating_switch", args=[rating.pk])


def test_the_page_lists_the_readers_ratings_newest_first_and_only_theirs(client, reader):
    oldest = PaperFactory(title="Rated a month ago")
    newest = PaperFactory(title="Rated today")
    middle = PaperFactory(title="Rated last week")
    rate(reader, oldest, "more", days_ago=30)
    rate(reader, newest, "less", days_ago=0)
    rate(reader, middle, "more", days_ago=7)
    rate(UserFactory(), PaperFactory(title="Someone else's rating"), "more")

    response = client.get(reverse("accounts:ratings"))
    page = response.content.decode()
    assert [r.paper.title for r in response.context["page"].object_list] == [
        "Rated today",
        "Rated last week",
        "Rated a month ago",
    ]
    assert "Someone else" not in page
    assert page.index("Rated today") < page.index("Rated last week") < page.index("Rated a month")
    # Each title links to the paper's page; the kind is said in words.
    assert f'href="{newest.get_absolute_url()}"' in page
    assert "Not relevant" in page and "More like this" in page


def test_the_page_says_what_ratings_do_and_how_to_rate_when_there_are_none(client, reader):
    page = client.get(reverse("accounts:ratings")).content.decode()
    assert "No ratings yet" in page
    assert "“More like this” and “Not relevant”" in page
    assert "You might also like" in page  # what the model fills, said on the page


def test_hundreds_of_ratings_are_paginated(client, reader, django_assert_max_num_queries):
    for n in range(120):
        rate(reader, PaperFactory(title=f"Paper number {n:03d}"), "more", days_ago=n)
    with django_assert_max_num_queries(4):  # session, user, count, one page of ratings
        first = client.get(reverse("accounts:ratings"))
    assert len(first.context["page"].object_list) == 50
    assert "Paper number 000" in first.content.decode()
    assert "Paper number 119" not in first.content.decode()
    last = client.get(reverse("accounts:ratings"), {"page": 3}).content.decode()
    assert "Paper number 119" in last and "Paper number 000" not in last


def test_hostile_titles_are_escaped(client, reader):
    rating = rate(reader, PaperFactory(title="<script>alert(1)</script>"), "more")
    page = client.get(reverse("accounts:ratings")).content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    followed = client.post(undo_url(rating), follow=True).content.decode()
    assert "<script>alert(1)" not in followed and "&lt;script&gt;alert(1)" in followed


def test_a_hidden_papers_rating_is_listed_without_its_title_and_can_be_undone(client, reader):
    rating = rate(reader, PaperFactory(title="Withdrawn by curators", hidden=True), "more")
    page = client.get(reverse("accounts:ratings")).content.decode()
    assert "Withdrawn by curators" not in page and "A paper no longer shown here" in page
    client.post(undo_url(rating))
    assert not Feedback.objects.exists()


def test_undo_deletes_the_rating_and_the_next_digests_model_no_longer_sees_it(client, reader):
    liked, disliked = PaperFactory(title="Liked"), PaperFactory(title="Disliked")
    embed_new_papers()  # the model learns from rated papers' embeddings
    liked_rating = rate(reader, liked, "more", days_ago=1)
    rate(reader, disliked, "less")
    assert list(ReaderModels().get(reader.pk).liked_ids) == [liked.pk]

    response = client.post(undo_url(liked_rating))
    assert response.status_code == 302 and response["Location"] == reverse("accounts:ratings")
    assert not Feedback.objects.filter(pk=liked_rating.pk).exists()
    model = ReaderModels().get(reader.pk)  # a digest run fits a fresh model from Feedback
    assert model.ratings == 1 and list(model.liked_ids) == []
    page = client.get(response["Location"]).content.decode()
    assert "Rating removed: “Liked”" in page


def test_switch_flips_the_kind_and_makes_the_rating_the_newest(client, reader):
    switched = rate(reader, PaperFactory(title="Changed my mind"), "more", days_ago=5)
    rate(reader, PaperFactory(title="Rated yesterday"), "more", days_ago=1)
    client.post(switch_url(switched))
    switched.refresh_from_db()
    assert switched.kind == "less"
    assert ratings_of(reader).first() == switched
    followed = client.post(switch_url(switched), follow=True)
    switched.refresh_from_db()
    assert switched.kind == "more"
    assert "Now rated “More like this”: “Changed my mind”." in followed.content.decode()


def test_the_buttons_return_to_the_page_they_were_on(client, reader):
    rating = rate(reader, PaperFactory(), "more")
    response = client.post(switch_url(rating), {"page": "3"})
    assert response["Location"] == reverse("accounts:ratings") + "?page=3"
    response = client.post(switch_url(rating), {"page": "https://evil.example/"})
    assert response["Location"] == reverse("accounts:ratings")


def test_another_readers_rating_cannot_be_undone_or_switched(client, reader):
    theirs = rate(UserFactory(), PaperFactory(), "more")
    assert client.post(undo_url(theirs)).status_code == 404
    assert client.post(switch_url(theirs)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.kind == "more"
    # The services keep readers apart too, not only the views.
    assert undo_rating(reader, theirs.pk) is None and switch_rating(reader, theirs.pk) is None
    assert Feedback.objects.filter(pk=theirs.pk, kind="more").exists()


def test_an_unknown_rating_is_not_found(client, reader):
    assert client.post(reverse("accounts:rating_undo", args=[999_999])).status_code == 404


def test_changes_are_post_only_with_csrf(reader):
    rating = rate(reader, PaperFactory(), "more")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(reader)
    assert browser.get(undo_url(rating)).status_code == 405
    assert browser.post(undo_url(rating)).status_code == 403  # no CSRF token
    assert browser.post(switch_url(rating)).status_code == 403
    assert Feedback.objects.filter(pk=rating.pk, kind="more").exists()


def test_anonymous_visitors_are_sent_to_log_in(client):
    rating = rate(UserFactory(), PaperFactory(), "more")
    for response in (
        client.get(reverse("accounts:ratings")),
        client.post(undo_url(rating)),
        client.post(switch_url(rating)),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
    assert Feedback.objects.filter(pk=rating.pk).exists()


def test_changes_are_rate_limited(client, reader, settings):
    settings.WEB_RATE_LIMITS = {**settings.WEB_RATE_LIMITS, "feedback": "2/m/ip"}
    rating = rate(reader, PaperFactory(), "more")
    assert client.post(switch_url(rating)).status_code == 302
    assert client.post(switch_url(rating)).status_code == 302
    assert client.post(undo_url(rating)).status_code == 429
    assert Feedback.objects.filter(pk=rating.pk).exists()


def test_the_settings_and_feedback_pages_link_to_the_ratings(client, reader):
    ratings_url = reverse("accounts:ratings")
    assert ratings_url in client.get(reverse("accounts:settings")).content.decode()
    paper = PaperFactory()
    done = client.post(path_of(feedback_url(reader, paper, "more"))).content.decode()
    assert f'href="{ratings_url}"' in done and "See and undo your ratings" in done


def test_a_reader_rates_a_paper_on_its_page_and_sees_the_rating(client):
    reader = UserFactory()
    paper = PaperFactory(title="Rated on its own page")
    client.force_login(reader)
    page = client.get(reverse("paper", args=[paper.key])).content.decode()
    assert "Not rated yet." in page
    rate = reverse("accounts:rate_paper", args=[paper.pk, "more"])
    assert f'action="{rate}"' in page
    response = client.post(rate)
    assert response.status_code == 302
    assert response["Location"] == reverse("paper", args=[paper.key])
    assert Feedback.objects.get(user=reader, paper=paper).kind == Feedback.Kind.MORE
    page = client.get(reverse("paper", args=[paper.key])).content.decode()
    assert "You marked it “More like this”." in page
    assert f'action="{rate}"' not in page  # the other one is offered instead
    client.post(reverse("accounts:rate_paper", args=[paper.pk, "less"]))
    assert Feedback.objects.get(user=reader, paper=paper).kind == Feedback.Kind.LESS


def test_rating_a_paper_on_its_page_needs_a_login_a_visible_paper_and_a_known_kind(client):
    paper = PaperFactory()
    hidden = PaperFactory(hidden=True)
    anonymous = client.post(reverse("accounts:rate_paper", args=[paper.pk, "more"]))
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]
    assert "Not rated yet." not in client.get(reverse("paper", args=[paper.key])).content.decode()
    client.force_login(UserFactory())
    assert client.post(reverse("accounts:rate_paper", args=[hidden.pk, "more"])).status_code == 404
    assert client.post(reverse("accounts:rate_paper", args=[paper.pk, "love"])).status_code == 404
    assert client.get(reverse("accounts:rate_paper", args=[paper.pk, "more"])).status_code == 405
    assert not Feedback.objects.exists()
