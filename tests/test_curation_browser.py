"""A curator's morning in Chromium: log in, hide a paper, feature another, add a note, preview a
subscriber's digest and see all three changes, hold today's send — the held send does not reach
the mail server until the curator releases it."""

from __future__ import annotations

import shutil
import time

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from digest import tasks
from digest.digests.models import Delivery, DeliveryHold
from digest.papers.models import Paper
from subscriptions.models import Match
from tests.admin_support import PASSWORD, due_at, eager_tasks, make_curator
from tests.browser_support import csp_violations, watch_csp
from tests.factories import PaperFactory, SubscriptionFactory, UserFactory

CHROMIUM = "/usr/bin/chromium"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium"),
]


@pytest.fixture
def sync_orm_beside_playwright(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # still plain synchronous code, which Django would otherwise refuse to run.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def page(sync_orm_beside_playwright):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        watch_csp(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        yield page
        context.close()
        browser.close()


@pytest.fixture
def morning(transactional_db):
    """Three new papers matching a subscriber whose digest is due now."""
    curator = make_curator("curator@example.org")
    reader = due_at(UserFactory(email="reader@example.org"), timezone.now())
    subscription = SubscriptionFactory(owner=reader, name="Diffusion", query="diffusion")
    titles = ["Spam about diffusion", "Landmark diffusion result", "Subtle diffusion paper"]
    papers = [PaperFactory(title=title, abstract="On diffusion.") for title in titles]
    for paper in papers:
        Match.objects.create(
            subscription=subscription,
            paper=paper,
            owner=reader,
            hits=[{"term": "diffusion", "field": "title"}],
            score=1.0,
        )
    return curator, reader, papers


def wait_for(condition, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_a_curator_curates_previews_holds_and_releases_the_send(
    live_server, page, morning, smtp_sink
):
    curator, reader, (spam, landmark, subtle) = morning
    admin = f"{live_server.url}/admin"
    note = "Curator's note: read section 3 first."

    # Log in.
    page.goto(f"{admin}/")
    page.fill("input[name=username]", curator.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{admin}/")

    # Hide the spam from its change page.
    page.goto(f"{admin}/papers/paper/{spam.pk}/change/")
    page.check("input[name=hidden]")
    page.click("button[name=_save]")
    page.wait_for_url(f"{admin}/papers/paper/")

    # Feature the landmark with the bulk action.
    page.check(f"input.action-select[value='{landmark.pk}']")
    page.select_option("select[name=action]", "feature")
    page.click("button[name=index]")
    page.wait_for_url(f"{admin}/papers/paper/")

    # Add a note to the subtle paper.
    page.goto(f"{admin}/papers/paper/{subtle.pk}/change/")
    page.fill("textarea[name=curator_note]", note)
    page.click("button[name=_save]")
    page.wait_for_url(f"{admin}/papers/paper/")

    assert Paper.objects.get(pk=spam.pk).hidden
    assert Paper.objects.get(pk=landmark.pk).featured
    assert Paper.objects.get(pk=subtle.pk).curator_note == note

    # Preview the reader's email on Today's issue, at both widths.
    page.goto(f"{admin}/papers/paper/today/")
    page.fill("#id_subscriber", reader.email)
    page.click("#show-preview")
    for width in (1280, 375):
        frame = page.frame_locator(f"iframe[data-width='{width}']")
        body = frame.locator("body")
        expect(body).to_contain_text(landmark.title)
        text = body.inner_text()
        assert spam.title not in text
        assert "featured" in text.lower()
        assert text.index(landmark.title) < text.index(subtle.title)
        assert note in text
    frame_box = page.locator("iframe[data-width='375']").bounding_box()
    assert round(frame_box["width"]) == 375

    # Hold today's send; the daily run builds the digest but nothing leaves.
    page.click("#hold-send")
    page.locator("#release-send").wait_for()
    assert DeliveryHold.objects.filter(date=timezone.localdate()).exists()
    with eager_tasks():
        tasks.enqueue_due_digests()
    delivery = Delivery.objects.get(digest__user=reader)
    assert delivery.status == Delivery.Status.PENDING
    assert smtp_sink.messages == []

    # Release: the waiting delivery goes out, once, with the curation in it.
    with eager_tasks():
        page.click("#release-send")
        page.locator("#hold-send").wait_for()
    assert wait_for(lambda: len(smtp_sink.messages) >= 1)
    assert not DeliveryHold.objects.exists()
    assert Delivery.objects.get(pk=delivery.pk).status == Delivery.Status.SENT
    assert len(smtp_sink.messages) == 1
    message = smtp_sink.messages[0]
    assert message["To"] == reader.email
    html = message.get_body(("html",)).get_content()
    assert landmark.title in html and subtle.title in html
    assert spam.title not in html
    assert "read section 3 first." in html
    assert csp_violations(page) == []  # the admin worked within its Content-Security-Policy
