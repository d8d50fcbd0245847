"""The admin's own pages at a 1280 px window, in Chromium: nothing wider than the window, the
Papers list's Featured and Hidden columns in view, today's hold form whole."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from subscriptions.models import Match
from tests.admin_support import due_at, make_curator
from tests.browser_support import check_page, horizontal_overflow, log_in
from tests.factories import PaperFactory, SubscriptionFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("isolated_cache"),
]

LONG_TITLE = (
    "Zero-shot open-vocabulary panoptic segmentation with frozen vision-language encoders "
    "and a very long title that goes on"
)


@pytest.fixture
def curator_page(context, site):
    curator = make_curator("curator@example.org")
    reader = due_at(UserFactory(email="Reader.One@Example.org"), timezone.now())
    subscription = SubscriptionFactory(owner=reader, query="zero-shot")
    for n in range(3):
        paper = PaperFactory(
            title=f"{LONG_TITLE} {n}",
            authors=["Ada Lovelace", "Alan Turing", "Grace Hopper"],
            curator_note="A long curator's note that should not push anything off-screen.",
        )
        Match.objects.create(
            subscription=subscription, paper=paper, owner=reader, score=1.0, hits=[]
        )
    # A paper from a blog feed has no arXiv id: its key, a URL, names it in the list.
    PaperFactory(arxiv_id="", key="https://example.org/papers/2026/12/03/a-long-blog-post-slug")
    log_in(context, site, curator)
    page = context.new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    return page, reader


def in_view(locator) -> bool:
    """The whole element is on screen: inside the window and not clipped by a scrolling box
    (the admin's changelist scrolls its table sideways rather than widen the page)."""
    return locator.evaluate(
        """element => {
            const box = element.getBoundingClientRect();
            let right = window.innerWidth;
            for (let node = element.parentElement; node; node = node.parentElement) {
                if (getComputedStyle(node).overflowX !== "visible") {
                    right = Math.min(right, node.getBoundingClientRect().right);
                }
            }
            return box.left >= 0 && box.right <= right + 0.5;
        }"""
    )


def test_todays_issue_fits_a_1280_px_window(curator_page, site):
    page, reader = curator_page
    page.goto(site.url + reverse("admin:digest_today") + f"?subscriber={reader.email}")
    page.locator("#send-test").wait_for()
    assert horizontal_overflow(page) == 0
    assert in_view(page.locator("#hold-reason"))


def test_the_papers_list_shows_featured_and_hidden_at_1280_px(curator_page, site):
    page, _ = curator_page
    page.goto(site.url + reverse("admin:papers_paper_changelist"))
    header = page.locator("#result_list thead")
    for column in ("Featured", "Hidden"):
        assert in_view(header.locator("th", has_text=column)), column
    assert horizontal_overflow(page) == 0


def test_the_admin_login_page_is_accessible(context, site):
    page = context.new_page()
    page.goto(site.url + reverse("admin:login"))
    assert page.get_by_role("link", name="Forgot your password?").count() == 1
    check_page(page, "admin-login")


def test_several_matching_subscribers_are_listed_to_choose_from(curator_page, site):
    page, reader = curator_page
    UserFactory(email="reader.two@example.org")
    page.goto(site.url + reverse("admin:digest_today") + "?subscriber=reader")
    choices = page.locator("#subscriber-candidates")
    choices.get_by_role("link", name="reader.two@example.org").wait_for()
    choices.get_by_role("link", name=reader.email).click()
    page.locator("#send-test").wait_for()
    assert page.locator("#id_subscriber").input_value() == reader.email
    assert horizontal_overflow(page) == 0
