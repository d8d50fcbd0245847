"""Every page in Debian's chromium at 375 px and 1280 px: axe-core finds no serious or critical
violation and nothing is wider than the screen. ``make screenshots`` runs this file with
SCREENSHOTS_DIR=screenshots to keep a picture of each page at both widths."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.account.utils import user_pk_to_url_str
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from digest.digests.links import digest_view_url, feedback_url
from digest.digests.models import Delivery, DigestItem
from digest.papers.models import Paper
from subscriptions.embeddings import embed_new_papers
from subscriptions.models import Feedback, Match
from tests.browser_support import check_page, log_in
from tests.factories import (
    DeliveryFactory,
    DigestFactory,
    DigestItemFactory,
    PaperFactory,
    SubscriptionFactory,
    UserFactory,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("isolated_cache"),
]

ABSTRACT = (
    "We present a zero-shot method for open-vocabulary segmentation that transfers CLIP features "
    "to dense prediction. Experiments on five benchmarks show consistent gains. "
) * 3


def world():
    """A subscriber with a history, and papers for today and the day before."""
    user = UserFactory(email="reader@example.org", timezone="Europe/Berlin")
    subscription = SubscriptionFactory(owner=user, name="Zero-shot segmentation", query="zero-shot")
    papers = [
        PaperFactory(
            title=f"Zero-shot segmentation with frozen encoders, part {n}",
            abstract=ABSTRACT,
            authors=["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger W. Dijkstra"],
            categories=["cs.CV", "cs.LG"],
            upvotes=10 - n,
            code_url="https://github.com/example/zero-shot",
            hf_url=f"https://huggingface.co/papers/2601.0000{n}",
            hf_submitter="Grace Hopper" if n == 0 else "",
            hf_organization="Analytical Engines Ltd" if n < 2 else "",
            thumbnail_url=(
                f"https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2601.0000{n}.png"
                if n < 2
                else ""
            ),
        )
        for n in range(4)
    ]
    PaperFactory(
        title="Yesterday's paper", announced_on=timezone.localdate() - dt.timedelta(days=1)
    )
    for paper in papers:
        Match.objects.create(
            subscription=subscription,
            paper=paper,
            owner=user,
            score=1.0,
            hits=[
                {"term": "zero-shot", "field": "title"},
                {"term": "zero-shot", "field": "abstract"},
            ],
        )
    digest = DigestFactory(user=user, papers_total=4)
    for rank, paper in enumerate(papers):
        DigestItemFactory(
            digest=digest,
            paper=paper,
            rank=rank,
            hits=[{"term": "zero-shot", "field": "title"}],
            section=DigestItem.Section.FEATURED if rank == 0 else DigestItem.Section.MATCHED,
            in_email=rank < 3,
        )
    DeliveryFactory(digest=digest, status=Delivery.Status.SENT, sent_at=timezone.now())
    return user, subscription, digest, papers


def anonymous(path_of):
    def scenario(context, site):
        return path_of(*world())

    return scenario


def logged_in(path_of):
    def scenario(context, site):
        user, *rest = world()
        log_in(context, site, user)
        return path_of(user, *rest)

    return scenario


def paper_page_path(user, subscription, digest, papers):
    """The first paper's page, with its matched subscription and similar papers (embedded)."""
    embed_new_papers()
    return papers[0].get_absolute_url()


def ratings_path(user, subscription, digest, papers):
    """The ratings page with one rating of each kind."""
    Feedback.objects.create(user=user, paper=papers[0], kind=Feedback.Kind.MORE)
    Feedback.objects.create(user=user, paper=papers[1], kind=Feedback.Kind.LESS)
    return reverse("accounts:ratings")


def confirm_email_path(user, *_):
    address = EmailAddress.objects.create(user=UserFactory(verified=False), email="new@example.org")
    return reverse("account_confirm_email", args=[EmailConfirmationHMAC(address).key])


def password_reset_key_path(user, *_):
    key = default_token_generator.make_token(user)
    return reverse(
        "account_reset_password_from_key", kwargs={"uidb36": user_pk_to_url_str(user), "key": key}
    )


PAGES = {
    "home": anonymous(lambda *_: reverse("home")),
    "papers-today": anonymous(lambda *_: reverse("papers_today")),
    "papers-of-a-day": anonymous(
        lambda *_: reverse("papers_day", args=[timezone.localdate().isoformat()])
    ),
    "paper": anonymous(lambda u, s, d, papers: papers[1].get_absolute_url()),
    "paper-with-my-matches": logged_in(paper_page_path),
    "login": anonymous(lambda *_: reverse("account_login")),
    "signup": anonymous(lambda *_: reverse("account_signup")),
    "verification-sent": anonymous(lambda *_: reverse("account_email_verification_sent")),
    "confirm-email": anonymous(confirm_email_path),
    "password-reset": anonymous(lambda *_: reverse("account_reset_password")),
    "password-reset-done": anonymous(lambda *_: reverse("account_reset_password_done")),
    "password-reset-from-key": anonymous(password_reset_key_path),
    "request-login-code": anonymous(lambda *_: reverse("account_request_login_code")),
    "digest-view-in-browser": anonymous(lambda u, s, digest, p: digest_view_url(digest)),
    "feedback-confirm": anonymous(lambda u, s, d, papers: feedback_url(u, papers[0], "more")),
    "link-invalid": anonymous(lambda *_: reverse("digest_web", args=["not-a-token"])),
    "not-found": anonymous(lambda *_: "/no/such/page/"),
    "query-help": anonymous(lambda *_: reverse("subscriptions:query_help") + "?q=zero-shot"),
    "my-subscriptions": logged_in(lambda *_: reverse("subscriptions:list")),
    "add-subscription": logged_in(lambda *_: reverse("subscriptions:add")),
    "edit-subscription": logged_in(lambda u, sub, *_: reverse("subscriptions:edit", args=[sub.pk])),
    "delete-subscription": logged_in(
        lambda u, sub, *_: reverse("subscriptions:delete", args=[sub.pk])
    ),
    "onboarding": logged_in(lambda *_: reverse("accounts:onboarding")),
    "settings": logged_in(lambda *_: reverse("accounts:settings")),
    "ratings": logged_in(ratings_path),
    "archive": logged_in(lambda *_: reverse("archive")),
    "archive-digest": logged_in(
        lambda u, s, digest, p: reverse("archive_digest", args=[digest.pk])
    ),
    "delete-account": logged_in(lambda *_: reverse("accounts:delete")),
    "change-password": logged_in(lambda *_: reverse("account_change_password")),
    "email-addresses": logged_in(lambda *_: reverse("account_email")),
    "logout": logged_in(lambda *_: reverse("account_logout")),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_page_is_accessible_and_fits_phone_and_desktop(name, context, site):
    path = PAGES[name](context, site)
    page = context.new_page()
    response = page.goto(path if path.startswith("http") else site.url + path)
    assert response is not None and response.status in (200, 404), response and response.status
    check_page(page, name)


def test_login_code_confirmation_page(context, site):
    UserFactory(email="codes@example.org")
    page = context.new_page()
    page.goto(site.url + reverse("account_request_login_code"))
    page.get_by_label("Email").fill("codes@example.org")
    page.get_by_role("button", name="Send me a code").click()
    page.wait_for_url("**" + reverse("account_confirm_login_code"))
    check_page(page, "confirm-login-code")


def test_form_errors_are_accessible(context, site):
    page = context.new_page()
    page.goto(site.url + reverse("account_signup"))
    page.get_by_role("button", name="Create my account").click()
    page.wait_for_selector(".errorlist")
    check_page(page, "signup-with-errors")


def test_pages_work_without_javascript(browser, site):
    """The sign-up form posts and the day's papers render with JavaScript disabled."""
    context = browser.new_context(java_script_enabled=False)
    try:
        PaperFactory(title="Visible without scripts")
        page = context.new_page()
        page.goto(site.url + reverse("papers_today"))
        assert page.get_by_role("link", name="Visible without scripts", exact=True).is_visible()
        page.goto(site.url + reverse("account_signup"))
        page.get_by_label("Email address").fill("nojs@example.org")
        page.get_by_label("Password", exact=True).fill("a long enough passphrase 42")
        page.get_by_label("Password (again)").fill("a long enough passphrase 42")
        page.get_by_role("button", name="Create my account").click()
        page.wait_for_url("**" + reverse("account_email_verification_sent"))
        assert EmailAddress.objects.filter(email="nojs@example.org").exists()
    finally:
        context.close()


def test_unsubscribe_and_resubscribe_pages(context, site):
    from digest.digests.links import unsubscribe_url

    user = UserFactory(email="leaving@example.org")
    page = context.new_page()
    page.goto(unsubscribe_url(user))
    check_page(page, "unsubscribe-confirm")
    page.get_by_role("button", name="Unsubscribe").click()
    page.get_by_role("heading", name="You are unsubscribed").wait_for()
    check_page(page, "unsubscribed")
    page.get_by_role("button", name="Resubscribe").click()
    page.get_by_role("heading", name="Welcome back").wait_for()
    check_page(page, "resubscribed")


def test_feedback_done_page(context, site):
    user, _, _, papers = world()
    page = context.new_page()
    page.goto(feedback_url(user, papers[0], "less"))
    page.get_by_role("button", name="Yes, not relevant").click()
    page.get_by_role("heading", name="Thanks — noted").wait_for()
    check_page(page, "feedback-done")


def test_too_many_requests_page(context, site, settings):
    settings.WEB_RATE_LIMITS = {**settings.WEB_RATE_LIMITS, "feedback": "0/m/ip"}
    user, _, _, papers = world()
    page = context.new_page()
    page.goto(feedback_url(user, papers[0], "more"))
    page.get_by_role("button", name="Yes, more like this").click()
    page.get_by_role("heading", name="Slow down a little").wait_for()
    check_page(page, "too-many-requests")


def test_account_deleted_page(context, site):
    user, *_ = world()
    log_in(context, site, user)
    page = context.new_page()
    page.goto(site.url + reverse("accounts:delete"))
    page.get_by_label("Type your email address to confirm").fill(user.email)
    page.get_by_role("button", name="Delete my account").click()
    page.get_by_role("heading", name="Your account is deleted").wait_for()
    check_page(page, "account-deleted")


def test_development_mailbox_pages(context, site, smtp_sink, settings):
    from digest import mail

    settings.ROOT_URLCONF = "tests.debug_urls"
    settings.DEBUG = True
    mail.send(
        "account-email-confirmation",
        to="new@example.org",
        context={"email": "new@example.org", "activate_url": site.url + "/accounts/x/"},
    )
    log_in(context, site, UserFactory(email="staff@example.org", is_staff=True))
    page = context.new_page()
    page.goto(site.url + reverse("dev:mailbox"))
    check_page(page, "dev-mailbox")
    page.get_by_role("link", name="Confirm your email address for Paperboy").click()
    page.get_by_role("heading", name="Confirm your email address for Paperboy").wait_for()
    check_page(page, "dev-mailbox-message")


def test_onboarding_preview_and_save_without_javascript(browser, site):
    user = UserFactory(email="nojs@example.org")
    PaperFactory(title="Zero-shot without scripts", categories=["cs.CV"])
    context = browser.new_context(java_script_enabled=False)
    try:
        log_in(context, site, user)
        page = context.new_page()
        page.goto(site.url + reverse("accounts:onboarding"))
        assert page.locator("[data-category-filter]").is_hidden()  # search box needs JS
        page.get_by_label("What do you want to follow?").fill("zero-shot")
        page.get_by_role("checkbox", name="cs.CV — Computer Vision and Pattern Recognition").check()
        page.get_by_role("button", name="Preview matches").click()
        page.locator("[data-preview-state=hits]").wait_for()
        assert page.get_by_role("link", name="Zero-shot without scripts").is_visible()
        # The form kept what was typed and ticked.
        assert page.get_by_label("What do you want to follow?").input_value() == "zero-shot"
        page.get_by_role("button", name="Save and start my digest").click()
        page.wait_for_url("**" + reverse("subscriptions:list"))
        subscription = user.subscriptions.get()
        assert (subscription.query, subscription.categories) == ("zero-shot", ["cs.CV"])
    finally:
        context.close()


def test_the_demos_daily_page_and_paper_pages(context, site):
    """What a fresh `make run` shows: the recorded Hugging Face day on today's page, with its
    upvotes and thumbnails, and the pages of a Hugging Face paper and of a listing-page paper."""
    call_command("load_demo", stdout=io.StringIO())
    page = context.new_page()
    page.goto(site.url + reverse("papers_today"))
    first = page.locator("li.paper").first
    assert first.locator(".votes").inner_text().startswith("4")
    assert first.locator("img.thumbnail").evaluate("image => image.naturalWidth > 0")
    check_page(page, "demo-papers-today")

    first.get_by_role("link", name="EMBL AI Librarian", exact=False).first.click()
    page.get_by_role("heading", level=1, name="EMBL AI Librarian", exact=False).wait_for()
    assert page.get_by_role("link", name="Hugging Face").is_visible()
    check_page(page, "demo-paper-from-hugging-face")

    listed = Paper.objects.filter(key__startswith="hfpage:").order_by("title").first()
    page.goto(site.url + listed.get_absolute_url())
    assert page.get_by_role("heading", level=1).inner_text() == listed.title
    assert not page.get_by_role("link", name="Abstract").count()  # it is its own abstract page
    check_page(page, "demo-paper-from-a-listing-page")


def test_the_weekday_shows_only_for_weekly_digests(context, site):
    user, *_ = world()
    log_in(context, site, user)
    page = context.new_page()
    page.goto(site.url + reverse("accounts:settings"))
    weekday = page.get_by_label("Day of the week")
    assert weekday.is_hidden()
    page.get_by_label("How often").select_option("weekly")
    weekday.wait_for(state="visible")
    check_page(page, "settings-weekly")
    page.goto(site.url + reverse("accounts:onboarding"))
    assert page.get_by_label("On", exact=True).is_hidden()
    page.get_by_role("radio", name="Once a week").check()
    page.get_by_label("On", exact=True).wait_for(state="visible")
    check_page(page, "onboarding-weekly")


def test_after_a_failed_submit_the_preview_shows_the_submitted_query(context, site):
    user, *_ = world()
    log_in(context, site, user)
    page = context.new_page()
    page.goto(site.url + reverse("subscriptions:add"))
    page.get_by_label("Query").fill("zero-shot")
    page.get_by_label("Name").fill("x" * 100)
    page.get_by_label("Query").fill("(zero-shot")  # the parser refuses it
    page.get_by_role("button", name="Add subscription").click()
    page.locator(".errorlist").first.wait_for()
    assert page.locator("[data-preview-state=error]").is_visible()
    assert page.get_by_label("Query").input_value() == "(zero-shot"
    check_page(page, "add-subscription-with-errors")
