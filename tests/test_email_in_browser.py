"""The emails, rendered by Chromium at phone and desktop widths: nothing wider than a phone's
screen, the body column centred and capped on a desktop, every paper and link visible."""

from __future__ import annotations

import pytest
from django.utils import timezone

from digest import mail
from digest.digests.email import render_digest_email
from digest.digests.models import DigestItem
from tests.browser_support import HEIGHT, WIDTHS, horizontal_overflow, screenshot
from tests.factories import DigestFactory, DigestItemFactory, PaperFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

LONG_WORD = "Supercalifragilisticexpialidocious" * 3


@pytest.fixture
def digest_html():
    user = UserFactory(email="reader@example.org")
    digest = DigestFactory(user=user, papers_total=5)
    for rank in range(4):
        paper = PaperFactory(
            title=f"A very long title about zero-shot segmentation, {LONG_WORD}, part {rank}",
            abstract=("Zero-shot transfer works. " * 30) + "https://example.org/" + "x" * 120,
            authors=[f"Author Number{n} Surname{n}" for n in range(12)],
            categories=["cs.CV", "cs.LG", "cs.AI", "stat.ML"],
            code_url="https://github.com/example/" + "long-repository-name-" * 4,
            hf_url="https://huggingface.co/papers/2601.00001",
            upvotes=42,
            curator_note="Editor's pick: read section 3." if rank == 0 else "",
            created_at=timezone.now(),
        )
        DigestItemFactory(
            digest=digest,
            paper=paper,
            rank=rank,
            section=DigestItem.Section.FEATURED if rank == 0 else DigestItem.Section.MATCHED,
            hits=[{"term": "zero-shot", "field": "abstract"}],
            in_email=rank < 3,
        )
    return render_digest_email(digest).alternatives[0][0]


def rendered(context, html):
    page = context.new_page()
    page.set_content(html, wait_until="load")
    return page


def body_column_width(page) -> float:
    """The width of the widest table that holds the email's content."""
    return page.evaluate(
        """() => Math.max(...Array.from(document.querySelectorAll('body table'))
                 .map(t => t.getBoundingClientRect().width))"""
    )


def test_digest_email_fits_a_phone_screen(context, digest_html):
    page = rendered(context, digest_html)
    page.set_viewport_size({"width": WIDTHS["phone"], "height": HEIGHT})
    assert horizontal_overflow(page) == 0
    assert body_column_width(page) <= WIDTHS["phone"]
    # Every paper title in the email is on screen width-wise and readable (not collapsed).
    titles = page.locator("a", has_text="A very long title about zero-shot")
    assert titles.count() == 3
    for n in range(titles.count()):
        box = titles.nth(n).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= WIDTHS["phone"]
        assert box["height"] > 10
    screenshot(page, "email-digest", "phone")


def test_digest_email_is_a_centred_column_on_a_desktop(context, digest_html):
    page = rendered(context, digest_html)
    page.set_viewport_size({"width": WIDTHS["desktop"], "height": HEIGHT})
    assert horizontal_overflow(page) == 0
    assert body_column_width(page) <= 640 + 1  # mj-body width
    title = page.locator("a", has_text="A very long title about zero-shot").first.bounding_box()
    assert title["x"] > (WIDTHS["desktop"] - 640) / 2 - 1  # centred, not stuck to the left
    for label in ("View in browser", "More like this", "Not relevant", "Unsubscribe"):
        assert page.get_by_role("link", name=label).first.is_visible(), label
    screenshot(page, "email-digest", "desktop")


@pytest.mark.parametrize("width_name", list(WIDTHS))
def test_account_email_fits_both_widths(context, width_name):
    message = mail.compose(
        "account-email-confirmation",
        to="new@example.org",
        context={
            "email": "new@example.org",
            "activate_url": "http://localhost:8000/accounts/confirm-email/" + "k" * 80 + "/",
        },
    )
    page = rendered(context, message.alternatives[0][0])
    page.set_viewport_size({"width": WIDTHS[width_name], "height": HEIGHT})
    assert horizontal_overflow(page) == 0
    assert page.get_by_role("link", name="Confirm my email address").is_visible()
    screenshot(page, "email-confirm-address", width_name)
