"""Today's issue: today's papers and matches, who is due, the exact email, a test send, hold."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from digest.digests.models import Delivery, DeliveryHold, Digest, Suppression
from digest.digests.reports import subscribers_due, todays_issue
from subscriptions.models import Match
from tests.admin_support import due_at, eager_tasks, make_curator
from tests.factories import PaperFactory, SubscriptionFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = "admin:digest_today"


@pytest.fixture
def curator(db):
    return make_curator("curator@example.org")


@pytest.fixture
def curator_client(client, curator):
    client.force_login(curator)
    return client


def match(subscription, paper, term: str = "diffusion", field: str = "title") -> Match:
    return Match.objects.create(
        subscription=subscription,
        paper=paper,
        owner=subscription.owner,
        hits=[{"term": term, "field": field}],
        score=1.0,
    )


@pytest.fixture
def reader():
    """A subscriber whose digest is due today, with three matching papers."""
    user = due_at(UserFactory(email="reader@example.org"), timezone.now())
    subscription = SubscriptionFactory(owner=user, name="Diffusion", query="diffusion")
    papers = [
        PaperFactory(title=f"Diffusion paper {n}", abstract="Diffusion all the way down.")
        for n in range(3)
    ]
    for paper in papers:
        match(subscription, paper)
    user.papers = papers
    return user


# --- What goes out today ----------------------------------------------------------------------


def test_todays_papers_come_with_their_match_counts_featured_first():
    popular, featured = PaperFactory(title="Popular"), PaperFactory(title="Featured", featured=True)
    old = PaperFactory(
        announced_on=timezone.localdate() - dt.timedelta(days=3),
        created_at=timezone.now() - dt.timedelta(days=3),
    )
    for _ in range(3):
        match(SubscriptionFactory(), popular)
    issue = todays_issue(now=timezone.now())
    assert [paper.pk for paper in issue.papers] == [featured.pk, popular.pk]
    assert issue.papers[1].match_count == 3
    assert issue.papers_total == 2
    assert issue.matched_papers == 1
    assert old.pk not in {paper.pk for paper in issue.papers}


def test_subscribers_due_today_excludes_paused_suppressed_unsubscribed_and_tomorrow():
    now = timezone.now()
    due = due_at(UserFactory(email="due@example.org"), now)
    due_at(UserFactory(email="paused@example.org", frequency="paused"), now)
    due_at(UserFactory(email="gone@example.org", unsubscribed_at=now), now)
    due_at(UserFactory(email="later@example.org"), now + dt.timedelta(days=2))
    due_at(UserFactory(email="bounced@example.org"), now)
    Suppression.objects.create(email="bounced@example.org", reason="bounce")
    assert list(subscribers_due(now=now)) == [due]


def test_the_page_shows_papers_matches_and_who_is_due(curator_client, reader):
    response = curator_client.get(reverse(TODAY))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Diffusion paper 0" in html
    assert "reader@example.org" in html
    issue = response.context["issue"]
    assert issue.subscribers_due == 1
    assert {paper.match_count for paper in issue.papers} == {1}


def test_the_page_is_linked_from_the_sidebar(curator_client):
    html = curator_client.get(reverse("admin:index")).content.decode()
    assert reverse(TODAY) in html


# --- Preview ----------------------------------------------------------------------------------


def test_preview_shows_the_email_at_desktop_and_phone_widths(curator_client, reader):
    response = curator_client.get(reverse(TODAY), {"subscriber": "READER@example.org"})
    html = response.content.decode()
    preview_url = reverse("admin:digest_today_preview", args=[reader.pk])
    assert html.count(f'src="{preview_url}"') == 2
    assert 'style="width: 1280px"' in html and 'style="width: 375px"' in html
    assert response.context["message"].to == ["reader@example.org"]
    assert response.context["message"].subject in html


def test_the_preview_url_serves_the_emails_html_inside_our_own_pages_only(curator_client, reader):
    response = curator_client.get(reverse("admin:digest_today_preview", args=[reader.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "script-src 'none'" in response["Content-Security-Policy"]
    html = response.content.decode()
    assert "<html" in html.lower()
    for paper in reader.papers:
        assert paper.title in html
    text = curator_client.get(
        reverse("admin:digest_today_preview", args=[reader.pk]), {"part": "text"}
    )
    assert text["Content-Type"].startswith("text/plain")
    assert reader.papers[0].title in text.content.decode()


def test_the_preview_is_the_email_the_subscriber_gets(curator_client, reader):
    from digest.digests.compose import preview_digest

    expected = preview_digest(reader, now=timezone.now())
    page = curator_client.get(reverse(TODAY), {"subscriber": reader.email})
    shown = page.context["message"]
    assert (shown.subject, shown.to, shown.from_email) == (
        expected.subject,
        expected.to,
        expected.from_email,
    )
    assert shown.body == expected.body


def test_preview_reflects_hiding_featuring_and_notes(curator_client, reader):
    hidden, featured, noted = reader.papers
    hidden.hidden = True
    hidden.save()
    featured.featured = True
    featured.save()
    noted.curator_note = "Curators: read section 3 first."
    noted.save()
    html = curator_client.get(
        reverse("admin:digest_today_preview", args=[reader.pk])
    ).content.decode()
    assert hidden.title not in html
    assert "Featured" in html
    assert html.index(featured.title) < html.index(noted.title)
    assert "Curators: read section 3 first." in html


def test_preview_says_so_when_nothing_would_be_sent(curator_client):
    quiet = UserFactory(email="quiet@example.org")
    SubscriptionFactory(owner=quiet, query="nothing matches this")
    page = curator_client.get(reverse(TODAY), {"subscriber": "quiet@example.org"})
    assert page.context["message"] is None
    assert b'id="preview-empty"' in page.content


def test_previewing_writes_nothing(curator_client, reader):
    curator_client.get(reverse(TODAY), {"subscriber": reader.email})
    curator_client.get(reverse("admin:digest_today_preview", args=[reader.pk]))
    assert not Digest.objects.exists()
    assert not Delivery.objects.exists()


def test_an_unknown_subscriber_is_a_clear_error(curator_client):
    page = curator_client.get(reverse(TODAY), {"subscriber": "nobody@example.org"})
    assert page.status_code == 200
    assert b"No subscriber&#x27;s email address contains that." in page.content


# --- Send a test ------------------------------------------------------------------------------


def test_send_a_test_to_yourself(curator_client, reader, smtp_sink):
    response = curator_client.post(reverse("admin:digest_today_test"), {"subscriber": reader.pk})
    assert response.status_code == 302
    assert len(smtp_sink.messages) == 1
    message = smtp_sink.messages[0]
    assert message["To"] == "curator@example.org"
    assert message["Subject"].startswith("[Test] ")
    assert message["List-Unsubscribe"] is None
    assert "reader@example.org" in message["X-Paperboy-Test"]
    html = message.get_body(("html",)).get_content()
    assert reader.papers[0].title in html
    assert smtp_sink.envelopes[0][1] == ["curator@example.org"]
    assert not Delivery.objects.exists()  # a test is not a delivery


def test_no_test_is_sent_when_the_subscriber_would_get_nothing(curator_client, smtp_sink):
    quiet = UserFactory(email="quiet@example.org")
    response = curator_client.post(reverse("admin:digest_today_test"), {"subscriber": quiet.pk})
    assert response.status_code == 302
    assert smtp_sink.messages == []


# --- Hold and release -------------------------------------------------------------------------


def test_hold_todays_send(curator_client, curator):
    response = curator_client.post(reverse("admin:digest_today_hold"), {"reason": "bad feed"})
    assert response.status_code == 302
    hold = DeliveryHold.objects.get(date=timezone.localdate())
    assert (hold.created_by, hold.reason) == (curator, "bad feed")
    page = curator_client.get(reverse(TODAY)).content.decode()
    assert 'id="release-send"' in page
    assert "bad feed" in page


def test_holding_twice_keeps_one_hold(curator_client):
    curator_client.post(reverse("admin:digest_today_hold"), {"reason": "first"})
    curator_client.post(reverse("admin:digest_today_hold"), {"reason": "second"})
    assert list(DeliveryHold.objects.values_list("reason", flat=True)) == ["first"]


def test_hold_and_release_only_by_post(curator_client):
    assert curator_client.get(reverse("admin:digest_today_hold")).status_code == 405
    assert curator_client.get(reverse("admin:digest_today_release")).status_code == 405
    assert not DeliveryHold.objects.exists()


def test_a_bad_hold_date_is_refused(curator_client):
    curator_client.post(reverse("admin:digest_today_hold"), {"date": "next tuesday"})
    assert not DeliveryHold.objects.exists()


def test_holding_needs_the_hold_permission(client):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_paper", "view_user"]))
    client.force_login(User.objects.get(pk=staff.pk))
    page = client.get(reverse(TODAY))
    assert page.status_code == 200
    assert b'id="hold-send"' not in page.content
    assert client.post(reverse("admin:digest_today_hold"), {}).status_code == 403
    assert not DeliveryHold.objects.exists()


def test_held_deliveries_wait_and_go_out_on_release(
    curator_client, reader, smtp_sink, django_capture_on_commit_callbacks
):
    from digest.digests.compose import build_digest

    curator_client.post(reverse("admin:digest_today_hold"))
    digest = build_digest(reader, now=timezone.now())
    assert digest is not None
    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        from digest.digests.delivery import send_delivery

        send_delivery(digest.delivery.pk)
    assert smtp_sink.messages == []
    assert Delivery.objects.get(pk=digest.delivery.pk).status != Delivery.Status.SENT

    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        response = curator_client.post(reverse("admin:digest_today_release"))
    assert response.status_code == 302
    assert not DeliveryHold.objects.exists()
    assert [message["To"] for message in smtp_sink.messages] == ["reader@example.org"]
    assert Delivery.objects.get(pk=digest.delivery.pk).status == Delivery.Status.SENT


def test_releasing_a_day_that_is_not_held_says_so(curator_client):
    response = curator_client.post(reverse("admin:digest_today_release"), follow=True)
    assert b"was not held" in response.content


def test_hold_and_release_another_day(curator_client):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    curator_client.post(
        reverse("admin:digest_today_hold"), {"date": tomorrow.isoformat(), "reason": "Tokyo"}
    )
    assert list(DeliveryHold.objects.values_list("date", flat=True)) == [tomorrow]
    page = curator_client.get(reverse(TODAY)).content.decode()
    assert f'data-hold="{tomorrow.isoformat()}"' in page
    assert 'id="hold-send"' in page  # today itself is not held
    curator_client.post(reverse("admin:digest_today_release"), {"date": tomorrow.isoformat()})
    assert not DeliveryHold.objects.exists()


# --- Finding the subscriber, and the preview's date -----------------------------------------


def test_after_a_test_send_the_box_shows_the_subscribers_address(curator_client, reader, smtp_sink):
    response = curator_client.post(reverse("admin:digest_today_test"), {"subscriber": reader.pk})
    page = curator_client.get(response["Location"])
    assert page.context["subscriber"] == reader
    box = re.search(r'<input[^>]*id="id_subscriber"[^>]*>', page.content.decode()).group(0)
    assert 'value="reader@example.org"' in box, box


def test_part_of_an_address_finds_the_subscriber_whatever_its_case(curator_client, reader):
    page = curator_client.get(reverse(TODAY), {"subscriber": "READER@"})
    assert page.context["subscriber"] == reader and page.context["message"] is not None


def test_part_of_an_address_that_matches_several_lists_them(curator_client, reader):
    UserFactory(email="second.reader@example.org")
    page = curator_client.get(reverse(TODAY), {"subscriber": "Reader"}).content.decode()
    assert "Several subscribers match; choose one:" in page
    assert '?subscriber=reader%40example.org#preview">reader@example.org' in page
    assert '?subscriber=second.reader%40example.org#preview">second.reader@example.org' in page


def test_a_weekly_readers_preview_is_dated_on_their_next_delivery_day(curator_client, reader):
    today = timezone.localdate()
    delivery_day = today + dt.timedelta(days=3)
    reader.frequency = User.Frequency.WEEKLY
    reader.weekday = delivery_day.weekday()
    reader.save()  # the schedule moves next_digest_at to that day
    page = curator_client.get(reverse(TODAY), {"subscriber": reader.email})
    subject = page.context["message"].subject
    assert f"{delivery_day:%a} {delivery_day.day} {delivery_day:%b}" in subject, subject


def test_the_admin_login_offers_the_password_reset_once(client):
    for url in (reverse("admin:login"), reverse("account_login")):
        page = client.get(url).content.decode()
        assert page.count("Forgot your password?") == 1, url
        assert reverse("account_reset_password") in page
