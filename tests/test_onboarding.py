"""Onboarding after sign-up: categories, a first query with a preview of the last week's
matches (also without JavaScript, as a plain form post), a few recent papers to tick as liked,
time zone, hour and frequency."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from digest.papers.models import Paper
from subscriptions.models import Feedback, Match, Subscription
from subscriptions.query import compose_query
from tests.factories import PaperFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_cache")]


@pytest.fixture
def newcomer(client):
    user = UserFactory(email="new@example.org", timezone="Europe/Lisbon")
    client.force_login(user)
    return user


@pytest.fixture
def papers():
    return [
        PaperFactory(
            title="Zero-shot segmentation", categories=["cs.CV"], primary_category="cs.CV"
        ),
        PaperFactory(title="Zero-shot translation", categories=["cs.CL"], primary_category="cs.CL"),
        PaperFactory(title="Graph neural networks", categories=["cs.LG"]),
        PaperFactory(
            title="Old zero-shot paper", created_at=timezone.now() - dt.timedelta(days=30)
        ),
    ]


def data(**changes):
    base = {
        "query": "zero-shot",
        "name": "",
        "timezone": "Europe/Lisbon",
        "delivery_hour": "6",
        "frequency": "daily",
        "action": "save",
    }
    return {**base, **changes}


def test_page_offers_categories_syntax_help_and_the_detected_zone(client, newcomer):
    page = client.get(reverse("accounts:onboarding")).content.decode()
    assert 'value="cs.CV"' in page and "Computer Vision and Pattern Recognition" in page
    assert 'value="stat.ML"' in page
    assert reverse("subscriptions:query_help") in page
    assert '<option value="Europe/Lisbon" selected>' in page
    assert "js/preview.js" in page and "js/timezone.js" in page


def preview_pane(response) -> str:
    """The preview pane of the onboarding page (the page also offers recent papers to like)."""
    return response.content.decode().split("data-preview-target>", 1)[1].split("</section>")[0]


def test_preview_without_javascript_shows_last_weeks_matches(client, newcomer, papers):
    page = preview_pane(client.post(reverse("accounts:onboarding"), data(action="preview")))
    assert "Zero-shot segmentation" in page and "Zero-shot translation" in page
    assert "Old zero-shot paper" not in page and "Graph neural networks" not in page
    assert 'data-preview-total="2"' in page
    assert not Subscription.objects.exists()  # a preview saves nothing


def test_preview_with_categories_narrows_the_query(client, newcomer, papers):
    page = preview_pane(
        client.post(reverse("accounts:onboarding"), data(action="preview", categories=["cs.CV"]))
    )
    assert "Zero-shot segmentation" in page and "Zero-shot translation" not in page


def test_live_preview_fragment(client, newcomer, papers):
    fragment = client.get(
        reverse("subscriptions:preview_fragment"), {"query": "zero-shot", "categories": "cs.CL"}
    ).content.decode()
    assert "Zero-shot translation" in fragment and "Zero-shot segmentation" not in fragment
    assert "<html" not in fragment


def test_preview_explains_a_query_error(client, newcomer):
    fragment = client.get(
        reverse("subscriptions:preview_fragment"), {"query": "(zero-shot"}
    ).content.decode()
    assert 'data-preview-state="error"' in fragment and "column" in fragment


def test_saving_creates_the_subscription_sets_the_schedule_and_matches(client, newcomer, papers):
    response = client.post(
        reverse("accounts:onboarding"),
        data(categories=["cs.CV", "cs.CL"], timezone="Asia/Kolkata", frequency="weekly"),
    )
    assert response.status_code == 302 and response["Location"] == reverse("subscriptions:list")
    subscription = Subscription.objects.get(owner=newcomer)
    # The categories are a filter of their own, not folded into the query (issue 14, item 5).
    assert subscription.query == "zero-shot"
    assert subscription.categories == ["cs.CV", "cs.CL"]
    assert subscription.name == "zero-shot"
    newcomer.refresh_from_db()
    assert (newcomer.timezone, newcomer.delivery_hour, newcomer.frequency) == (
        "Asia/Kolkata",
        6,
        "weekly",
    )
    matched = set(Match.objects.filter(subscription=subscription).values_list("paper", flat=True))
    assert matched == {papers[0].pk, papers[1].pk}


def test_categories_alone_make_a_subscription(client, newcomer, papers):
    client.post(reverse("accounts:onboarding"), data(query="", categories=["cs.LG"]))
    subscription = Subscription.objects.get(owner=newcomer)
    assert (subscription.name, subscription.query) == ("New in cs.LG", "")
    assert subscription.categories == ["cs.LG"]
    # Everything in the category is followed: the matcher's query is the category alone.
    assert subscription.boolean_query() == "cat:cs.LG"


def test_a_query_and_categories_match_only_papers_in_those_categories(client, newcomer, papers):
    client.post(reverse("accounts:onboarding"), data(query="zero-shot", categories=["cs.CL"]))
    subscription = Subscription.objects.get(owner=newcomer)
    matched = set(subscription.matches.values_list("paper__title", flat=True))
    assert matched == {"Zero-shot translation"}


def test_nothing_to_follow_is_refused(client, newcomer):
    page = client.post(reverse("accounts:onboarding"), data(query="  ")).content.decode()
    assert "Write what to look for, or choose at least one category." in page
    assert not Subscription.objects.exists()


def test_an_invalid_query_is_refused_with_the_parser_message(client, newcomer):
    response = client.post(reverse("accounts:onboarding"), data(query="zero-shot AND"))
    assert response.status_code == 200
    assert response.context["form"].errors["query"]
    assert not Subscription.objects.exists()
    newcomer.refresh_from_db()
    assert newcomer.delivery_hour != 6  # the schedule is saved with the subscription or not at all


def test_unknown_categories_are_refused(client, newcomer):
    response = client.post(reverse("accounts:onboarding"), data(categories=["cs.XX"]))
    assert "categories" in response.context["form"].errors


def test_compose_query_keeps_known_categories_once():
    assert compose_query("  a   b ", ["cs.CV", "cs.CV", "nope"]) == "(a b) AND (cat:cs.CV)"
    assert compose_query("", []) == ""


def test_a_weekly_digest_asks_which_weekday(client, newcomer, papers):
    page = client.get(reverse("accounts:onboarding")).content.decode()
    # Without JavaScript the weekday is always there, with a hint; schedule.js hides it
    # unless "Once a week" is chosen.
    assert 'name="weekday"' in page and "Only for weekly digests." in page
    assert "js/schedule.js" in page
    client.post(reverse("accounts:onboarding"), data(frequency="weekly", weekday="3"))
    newcomer.refresh_from_db()
    assert (newcomer.frequency, newcomer.weekday) == ("weekly", 3)


def test_after_a_failed_save_the_preview_shows_the_query_as_submitted(client, newcomer, papers):
    page = preview_pane(client.post(reverse("accounts:onboarding"), data(delivery_hour="25")))
    assert not Subscription.objects.exists()
    assert 'data-preview-total="2"' in page and "Zero-shot segmentation" in page


# --- Papers you like --------------------------------------------------------------------------


def offered(response) -> list[str]:
    return [paper.title for paper in response.context["form"].papers_to_like]


def test_last_weeks_papers_are_offered_featured_then_upvoted_then_newest(client, newcomer):
    now = timezone.now()
    PaperFactory(title="Older, no votes", created_at=now - dt.timedelta(days=3))
    PaperFactory(title="Newest, no votes", created_at=now - dt.timedelta(hours=1))
    PaperFactory(title="Most upvoted", upvotes=40, created_at=now - dt.timedelta(days=5))
    PaperFactory(title="Featured", featured=True, created_at=now - dt.timedelta(days=6))
    PaperFactory(title="Hidden", hidden=True, upvotes=99)
    PaperFactory(title="From last month", upvotes=99, created_at=now - dt.timedelta(days=30))
    response = client.get(reverse("accounts:onboarding"))
    assert offered(response) == ["Featured", "Most upvoted", "Newest, no votes", "Older, no votes"]
    page = response.content.decode()
    assert "Papers you like" in page and "(optional)" in page
    featured = Paper.objects.get(title="Featured")
    assert f'name="liked_papers" value="{featured.pk}"' in page
    assert f'href="{featured.get_absolute_url()}"' in page  # linked to its page
    assert "4. When to send it" in page


def test_at_most_twelve_papers_are_offered(client, newcomer):
    for n in range(20):
        PaperFactory(title=f"Paper {n}", upvotes=n)
    response = client.get(reverse("accounts:onboarding"))
    assert offered(response) == [f"Paper {n}" for n in range(19, 7, -1)]


def test_without_recent_papers_there_is_no_section(client, newcomer):
    PaperFactory(title="From last month", created_at=timezone.now() - dt.timedelta(days=30))
    page = client.get(reverse("accounts:onboarding")).content.decode()
    assert "Papers you like" not in page and 'name="liked_papers"' not in page
    assert "3. When to send it" in page


def test_ticked_papers_are_saved_as_more_like_this_with_the_subscription(client, newcomer, papers):
    liked = [papers[0].pk, papers[2].pk]
    response = client.post(reverse("accounts:onboarding"), data(liked_papers=liked))
    assert response.status_code == 302
    assert Subscription.objects.filter(owner=newcomer).exists()
    assert set(Feedback.objects.filter(user=newcomer).values_list("paper_id", "kind")) == {
        (papers[0].pk, "more"),
        (papers[2].pk, "more"),
    }
    page = client.get(response["Location"]).content.decode()
    assert "The 2 papers you like are saved as your first ratings" in page


def test_nothing_ticked_records_nothing(client, newcomer, papers):
    client.post(reverse("accounts:onboarding"), data())
    assert Subscription.objects.filter(owner=newcomer).exists()
    assert not Feedback.objects.exists()


def test_liked_papers_are_saved_with_the_subscription_or_not_at_all(client, newcomer, papers):
    response = client.post(
        reverse("accounts:onboarding"), data(query="zero-shot AND", liked_papers=[papers[0].pk])
    )
    assert response.context["form"].errors["query"]
    assert not Feedback.objects.exists()
    # The page comes back with the paper still ticked.
    assert f'value="{papers[0].pk}" id="liked-{papers[0].pk}" checked' in response.content.decode()


@pytest.mark.parametrize(
    "tampered",
    ["unknown", "hidden", "old", "not a number", "huge"],
)
def test_a_paper_that_was_not_offered_is_refused_with_a_form_error(
    client, newcomer, papers, tampered
):
    hidden = PaperFactory(title="Hidden by curators", hidden=True)
    value = {
        "unknown": "999999",
        "hidden": str(hidden.pk),
        "old": str(papers[3].pk),  # from last month
        "not a number": "1 OR 1=1",
        "huge": "9" * 400,
    }[tampered]
    response = client.post(reverse("accounts:onboarding"), data(liked_papers=[papers[0].pk, value]))
    assert response.status_code == 200
    assert response.context["form"].errors["liked_papers"] == [
        "One of the ticked papers is no longer on offer. "
        "Tick the ones you like from the list below."
    ]
    assert "no longer on offer" in response.content.decode()
    assert not Subscription.objects.exists() and not Feedback.objects.exists()


def test_hostile_titles_are_escaped_in_the_papers_to_like(client, newcomer):
    PaperFactory(title='<script>alert("liked")</script>')
    page = client.get(reverse("accounts:onboarding")).content.decode()
    assert '<script>alert("liked")' not in page
    assert "&lt;script&gt;alert(&quot;liked&quot;)&lt;/script&gt;" in page
