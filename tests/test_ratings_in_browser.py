"""In Chromium, at 375 px and 1280 px, axe-clean and without a Content-Security-Policy
violation: onboarding's "Papers you like" on the demo's real papers, ticked and saved; the
ratings page they land on, where a click undoes a rating and another switches one."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from subscriptions.feedback import record_feedback
from subscriptions.models import Feedback
from subscriptions.onboarding import papers_to_like
from tests.browser_support import check_page, log_in
from tests.factories import PaperFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("isolated_cache"),
]


def test_onboarding_offers_the_demos_recent_papers_and_saves_the_ticked_ones(context, site):
    call_command("load_demo", stdout=io.StringIO())
    newcomer = UserFactory(email="newcomer@example.org")
    log_in(context, site, newcomer)
    page = context.new_page()
    page.goto(site.url + reverse("accounts:onboarding"))
    section = page.get_by_role("group", name="Papers you like")
    offered = papers_to_like()
    assert len(offered) == 12  # the demo has a week's worth of papers
    assert section.get_by_role("checkbox").count() == 12
    first, second = offered[0], offered[1]
    assert section.get_by_role("checkbox").first.get_attribute("value") == str(first.pk)
    check_page(page, "onboarding-papers-you-like")

    page.get_by_label("What do you want to follow?").fill("zero-shot")
    section.get_by_role("checkbox", name=first.title, exact=True).check()
    section.get_by_role("checkbox", name=second.title, exact=True).check()
    page.get_by_role("button", name="Save and start my digest").click()
    page.wait_for_url("**" + reverse("subscriptions:list"))
    assert page.get_by_text("The 2 papers you like are saved as your first ratings").is_visible()
    assert set(Feedback.objects.filter(user=newcomer).values_list("paper_id", "kind")) == {
        (first.pk, "more"),
        (second.pk, "more"),
    }


def test_the_ratings_page_undoes_and_switches_with_a_click(context, site):
    reader = UserFactory(email="rater@example.org")
    kept = PaperFactory(title="A paper I keep liking")
    undone = PaperFactory(title='<img src=x onerror="alert(1)"> A paper I change my mind on')
    switched = PaperFactory(title="A paper I misjudged")
    for paper in (kept, undone, switched):
        record_feedback(user_id=reader.pk, paper_id=paper.pk, kind="more")
    log_in(context, site, reader)
    page = context.new_page()

    page.goto(site.url + reverse("accounts:settings"))
    page.get_by_role("link", name="See and undo your ratings").click()
    page.wait_for_url("**" + reverse("accounts:ratings"))
    assert page.get_by_role("link", name=undone.title).is_visible()  # shown as text, escaped
    check_page(page, "ratings")

    row = page.locator("li", has=page.get_by_role("link", name=undone.title))
    row.get_by_role("button", name="Undo rating").click()
    page.get_by_text(f"Rating removed: “{undone.title}”").wait_for()
    assert not page.get_by_role("link", name=undone.title).count()
    assert not Feedback.objects.filter(paper=undone).exists()

    row = page.locator("li", has=page.get_by_role("link", name=switched.title))
    row.get_by_role("button", name="Switch to “Not relevant”").click()
    page.get_by_text(f"Now rated “Not relevant”: “{switched.title}”.").wait_for()
    assert Feedback.objects.get(paper=switched).kind == "less"
    assert Feedback.objects.get(paper=kept).kind == "more"
    check_page(page, "ratings-after-changes")


def test_the_empty_ratings_page(context, site):
    log_in(context, site, UserFactory(email="silent@example.org"))
    page = context.new_page()
    page.goto(site.url + reverse("accounts:ratings"))
    assert page.get_by_role("heading", name="No ratings yet").is_visible()
    check_page(page, "ratings-empty")
