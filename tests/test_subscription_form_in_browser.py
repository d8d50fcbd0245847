"""The subscription form in Debian's chromium: every way to say what to follow, the live preview
as someone types an interest and moves "How strict", editing a subscription's categories, and
the same form without JavaScript. Each state is checked at 375 px and 1280 px (axe-core, nothing
wider than the screen, no Content-Security-Policy violation) and photographed for ``make
screenshots``."""

from __future__ import annotations

import pytest
from django.urls import reverse

from subscriptions import services
from subscriptions.models import Subscription
from tests.browser_support import check_page, log_in
from tests.factories import PaperFactory, UserFactory
from tests.realpapers import real_rows

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("isolated_cache"),
]

INTEREST = "test-time adaptation of vision-language models"
CLIP_TTA = "Test-Time Adaptation with CLIP Reward"


@pytest.fixture
def reader(context, site):
    """A logged-in reader, and 60 real papers first seen today (every other one in cs.CV)."""
    for number, row in enumerate(real_rows()[:60]):
        PaperFactory(
            title=row["title"],
            abstract=row["abstract"],
            arxiv_id="2310.18328" if row["title"].startswith(CLIP_TTA) else f"2601.{number:05d}",
            categories=["cs.CV"] if number % 2 else ["cs.CL"],
        )
    user = UserFactory(email="reader@example.org")
    log_in(context, site, user)
    return user


# How many papers the preview pane says it found: its count, 0 for "no paper matches", null
# while it says anything else (idle, a problem).
TOTAL = """() => {
    const pane = document.querySelector("[data-preview-target]");
    const hits = pane.querySelector("[data-preview-state=hits]");
    if (hits) return Number(hits.dataset.previewTotal);
    return pane.querySelector("[data-preview-state=none]") ? 0 : null;
}"""


def preview_total(page, *, other_than: int | None = None) -> int:
    """The preview's count once it shows one (and one other than ``other_than``). Polled from
    here: Playwright's wait_for_function evaluates its predicate as a string, which the page's
    Content-Security-Policy rightly refuses."""
    for _ in range(300):
        total = page.evaluate(TOTAL)
        if total is not None and total != other_than:
            return total
        page.wait_for_timeout(50)
    raise AssertionError(f"the preview still shows {total!r}")


def test_typing_an_interest_and_moving_how_strict_update_the_live_preview(context, site, reader):
    page = context.new_page()
    page.goto(site.url + reverse("subscriptions:add"))
    assert page.get_by_role("radio", name="Default (3; 2 for example papers alone)").is_checked()
    check_page(page, "subscription-form")

    page.get_by_label("Your interest, in your own words").press_sequentially(INTEREST, delay=5)
    default = preview_total(page)
    preview = page.locator("[data-preview-target]")
    assert preview.get_by_text(f"{default} papers in the last 7 days").is_visible()
    assert preview.get_by_role("link", name=CLIP_TTA, exact=False).is_visible()
    assert preview.get_by_text(f"close in meaning to your interest “{INTEREST}”").first.is_visible()
    assert preview.get_by_text("strictness 3 of 5 (the default)").is_visible()

    page.get_by_role("radio", name="1 — loose").check()
    loose = preview_total(page, other_than=default)
    assert loose > default
    assert preview.get_by_text("strictness 1 of 5").is_visible()
    check_page(page, "subscription-form-live-preview")

    page.get_by_role("radio", name="5 — strict").check()
    strict = preview_total(page, other_than=loose)
    assert strict < default

    # Narrowed to a category, live too.
    page.get_by_role("radio", name="1 — loose").check()
    assert preview_total(page, other_than=strict) == loose
    page.get_by_label("Search categories").fill("cs.CV")
    page.get_by_role("checkbox", name="cs.CV — Computer Vision and Pattern Recognition").check()
    assert page.get_by_text("Chosen: cs.CV").is_visible()
    in_cv = preview_total(page, other_than=loose)
    assert 0 < in_cv < loose

    page.get_by_role("button", name="Add subscription").click()
    page.wait_for_url("**" + reverse("subscriptions:list"))
    subscription = Subscription.objects.get(owner=reader)
    assert (subscription.interest, subscription.categories, subscription.strictness) == (
        INTEREST,
        ["cs.CV"],
        1,
    )
    check_page(page, "my-subscriptions-with-an-interest")


def test_errors_are_shown_where_the_reader_looks(context, site, reader):
    page = context.new_page()
    page.goto(site.url + reverse("subscriptions:add"))
    page.get_by_label("Papers like these").fill("2310.18328 2501.99999")
    page.locator("[data-preview-target] [data-preview-state=problem]").wait_for()
    page.get_by_role("button", name="Add subscription").click()
    page.get_by_text("We have no paper with arXiv id 2501.99999").first.wait_for()
    check_page(page, "subscription-form-with-an-unknown-paper")

    page.get_by_label("Papers like these").fill("")
    page.get_by_role("button", name="Add subscription").click()
    page.get_by_text("Say what to follow: a query, your interest in words").wait_for()
    assert not Subscription.objects.exists()


def test_editing_shows_the_categories_and_they_can_be_removed(context, site, reader):
    subscription = services.create_subscription(
        owner=reader, name="Vision", query="zero-shot", categories=["cs.CV"], strictness=4
    )
    page = context.new_page()
    page.goto(site.url + reverse("subscriptions:edit", args=[subscription.pk]))
    box = page.get_by_role("checkbox", name="cs.CV — Computer Vision and Pattern Recognition")
    assert box.is_checked() and page.get_by_text("Chosen: cs.CV").is_visible()
    assert page.get_by_role("radio", name="4", exact=True).is_checked()
    in_cv = preview_total(page)
    check_page(page, "edit-subscription-with-categories")

    box.uncheck()
    assert page.locator("[data-categories-chosen]").is_hidden()
    assert preview_total(page, other_than=in_cv) > in_cv
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**" + reverse("subscriptions:list"))
    subscription.refresh_from_db()
    assert subscription.categories == [] and subscription.query == "zero-shot"


def test_the_form_previews_and_saves_without_javascript(browser, site):
    for row in real_rows()[:30]:
        PaperFactory(title=row["title"], abstract=row["abstract"])
    user = UserFactory(email="nojs@example.org")
    context = browser.new_context(java_script_enabled=False)
    try:
        log_in(context, site, user)
        page = context.new_page()
        page.goto(site.url + reverse("subscriptions:add"))
        page.get_by_label("Your interest, in your own words").fill(INTEREST)
        page.get_by_role("radio", name="1 — loose").check()
        page.get_by_role("button", name="Preview matches").click()
        page.locator("[data-preview-state=hits]").wait_for()
        assert page.get_by_text("strictness 1 of 5").is_visible()
        assert page.get_by_role("radio", name="1 — loose").is_checked()  # the form kept it
        page.get_by_role("button", name="Add subscription").click()
        page.wait_for_url("**" + reverse("subscriptions:list"))
        assert user.subscriptions.get().interest == INTEREST
    finally:
        context.close()
