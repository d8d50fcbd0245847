"""The Content-Security-Policy holds in Chromium: the admin (django-unfold) and the development
mailbox load without a single violation. The public pages are checked by every ``check_page``
in tests/test_pages_in_browser.py."""

from __future__ import annotations

import pytest
from django.urls import reverse

from subscriptions.models import Match
from tests.admin_support import make_curator, make_superuser
from tests.browser_support import csp_violations, log_in
from tests.factories import PaperFactory, SourceFactory, SubscriptionFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("isolated_cache"),
]


def admin_pages() -> list[str]:
    reader = UserFactory(email="reader@example.org")
    subscription = SubscriptionFactory(owner=reader, name="Diffusion", query="diffusion")
    paper = PaperFactory(title="Diffusion, again", abstract="On diffusion.")
    match = Match.objects.create(
        subscription=subscription,
        paper=paper,
        owner=reader,
        hits=[{"term": "diffusion", "field": "title"}],
        score=1.0,
    )
    source = SourceFactory()
    return [
        reverse("admin:index"),
        reverse("admin:digest_today"),
        reverse("admin:digest_today") + f"?subscriber={reader.email}",  # email previews
        reverse("admin:papers_paper_changelist"),
        reverse("admin:papers_paper_change", args=[paper.pk]),
        reverse("admin:papers_source_changelist"),
        reverse("admin:papers_source_change", args=[source.pk]),
        reverse("admin:papers_source_add"),
        reverse("admin:digests_delivery_changelist"),
        reverse("admin:subscriptions_subscription_changelist"),
        reverse("admin:subscriptions_subscription_change", args=[subscription.pk]),
        reverse("admin:subscriptions_match_change", args=[match.pk]),
        reverse("admin:accounts_user_changelist"),
        reverse("admin:accounts_user_change", args=[reader.pk]),
    ]


def visit(context, site, paths: list[str]) -> list[str]:
    problems = []
    for path in paths:
        page = context.new_page()
        response = page.goto(site.url + path)
        assert response is not None and response.status == 200, (path, response.status)
        page.wait_for_load_state("networkidle")
        problems += csp_violations(page)
        page.close()
    return problems


@pytest.mark.parametrize("make_user", [make_superuser, make_curator], ids=["superuser", "curator"])
def test_the_admin_loads_without_csp_violations(context, site, make_user):
    paths = admin_pages()
    log_in(context, site, make_user())
    assert visit(context, site, paths) == []


def test_the_admin_login_page_loads_without_csp_violations(context, site):
    assert visit(context, site, [reverse("admin:login")]) == []


def test_a_violation_would_be_noticed(context, site):
    """The watcher itself: an inline style added to a public page is refused and reported."""
    page = context.new_page()
    page.goto(site.url + reverse("home"))
    page.evaluate(
        "() => { const s = document.createElement('style');"
        " s.textContent = 'body { color: red }'; document.head.append(s); }"
    )
    page.wait_for_timeout(200)
    assert any("style-src" in violation for violation in csp_violations(page))
