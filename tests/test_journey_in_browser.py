"""The acceptance journey, in Chromium, on real recorded papers and real SMTP:

landing → sign up → the verification mail, opened from the local mailbox → onboarding with a
live preview of real matches → a digest arrives → "view in browser" → unsubscribe → confirm →
the next run sends nothing.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from digest.demo.load import ADMIN_EMAIL
from digest.digests.models import Digest
from subscriptions.models import Match
from tests.browser_support import WIDTHS, log_in, screenshot
from tests.mailhelpers import link_containing, text_of

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("isolated_cache"),
]

EMAIL = "journey@example.org"
PASSWORD = "a long enough passphrase 42"


def mail_to(smtp_sink, subject_part: str):
    found = [m for m in smtp_sink.messages if m["To"] == EMAIL and subject_part in m["Subject"]]
    assert found, [m["Subject"] for m in smtp_sink.messages]
    return found[-1]


def test_landing_to_unsubscribe(browser, site, smtp_sink, settings):
    settings.ROOT_URLCONF = "tests.debug_urls"  # /dev/mailbox, as with DEBUG on
    settings.DEBUG = True
    call_command("load_demo", stdout=io.StringIO())
    context = browser.new_context(
        viewport={"width": WIDTHS["desktop"], "height": 900}, timezone_id="Europe/Berlin"
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        # Landing page: what Paperboy does, today's papers, and the sign-up form.
        page.goto(site.url + "/")
        assert page.get_by_role("heading", name="The new papers you care about").is_visible()
        signup = page.locator("form.signup-form")
        signup.get_by_label("Email address").fill(EMAIL)
        signup.get_by_label("Password", exact=True).fill(PASSWORD)
        signup.get_by_label("Password (again)").fill(PASSWORD)
        signup.get_by_role("button", name="Create my account").click()
        page.wait_for_url("**" + reverse("account_email_verification_sent"))
        assert User.objects.get(email=EMAIL).timezone == "Europe/Berlin"  # detected

        # The verification mail, from the SMTP sink, opened in the local mailbox, which only
        # staff may read: the demo admin, in a window of their own.
        mail_to(smtp_sink, "Confirm your email address")
        staff = browser.new_context()
        try:
            log_in(staff, site, User.objects.get(email=ADMIN_EMAIL))
            mailbox = staff.new_page()
            mailbox.goto(site.url + reverse("dev:mailbox"))
            subject = "Confirm your email address for Paperboy"
            mailbox.get_by_role("link", name=subject).first.click()
            button = mailbox.frame_locator("iframe.mail-frame").get_by_role(
                "link", name="Confirm my email address"
            )
            # MJML buttons open in a new tab (target=_blank); the sandbox lets them.
            with staff.expect_page() as opened:
                button.click()
            opened.value.wait_for_url("**/accounts/confirm-email/*/")
            confirm_url = opened.value.url
        finally:
            staff.close()
        page.goto(confirm_url)
        page.wait_for_url("**/accounts/confirm-email/*/")
        page.get_by_role("button", name="Confirm").click()

        # Onboarding: a first query, previewed live against last week's real papers.
        page.wait_for_url("**" + reverse("accounts:onboarding"))
        page.get_by_label("What do you want to follow?").press_sequentially("zero-shot", delay=40)
        preview = page.locator("[data-preview-target]")
        preview.locator("[data-preview-state=hits]").wait_for()
        total = int(
            preview.locator("[data-preview-state=hits]").get_attribute("data-preview-total")
        )
        matching = Match.objects.filter(
            subscription__query="zero-shot", owner__email="demo@paperboy.localhost"
        )
        # The same papers the match step found for the demo user's identical subscription.
        assert total == matching.count() > 10
        shown = preview.locator("li").all_inner_texts()
        matched_titles = {" ".join(m.paper.title.split()) for m in matching.select_related("paper")}
        assert shown and all(any(t in line for t in matched_titles) for line in shown)
        screenshot(page, "journey-onboarding-live-preview", "desktop")
        page.get_by_label("Send my digest at").select_option("7")
        page.get_by_label("Every day").check()
        page.get_by_role("button", name="Save and start my digest").click()
        page.wait_for_url("**" + reverse("subscriptions:list"))
        assert page.get_by_text(f"{total} papers matched in the last 7 days").is_visible()

        # The daily run: a digest arrives.
        call_command("send_digests", "--user", EMAIL, stdout=io.StringIO())
        digest_mail = mail_to(smtp_sink, "new paper")
        assert digest_mail.get_content_type() == "multipart/alternative"
        assert "zero-shot" in text_of(digest_mail).lower()

        # "View in browser" opens it without logging in (a fresh browser, no session).
        anonymous = browser.new_context()
        try:
            viewer = anonymous.new_page()
            viewer.goto(link_containing(digest_mail, "/d/"))
            assert viewer.get_by_role("heading", name="Your digest of").is_visible()
            assert viewer.locator(".paper").count() >= 1
            screenshot(viewer, "journey-view-in-browser", "desktop")

            # Unsubscribe from the email's link: a confirm page, then a POST.
            viewer.goto(link_containing(digest_mail, "/unsubscribe/"))
            viewer.get_by_role("button", name="Unsubscribe").click()
            viewer.get_by_role("heading", name="You are unsubscribed").wait_for()
        finally:
            anonymous.close()

        # The next run sends nothing (to them: the demo users still get theirs).
        def mine():
            return [m for m in smtp_sink.messages if m["To"] == EMAIL]

        sent_before, everyone_before = len(mine()), len(smtp_sink.messages)
        user = User.objects.get(email=EMAIL)
        tomorrow = (timezone.now() + dt.timedelta(days=1)).astimezone(user.tzinfo).date()
        call_command("send_digests", "--date", tomorrow.isoformat(), stdout=io.StringIO())
        assert len(mine()) == sent_before
        assert not Digest.objects.filter(user=user, date=tomorrow).exists()
        assert len(smtp_sink.messages) > everyone_before  # the run did send, to the others
    finally:
        context.close()
