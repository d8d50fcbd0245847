"""The daily send, end to end: send_digests → real SMTP on loopback → parsed back → unsubscribe."""

from __future__ import annotations

import datetime as dt
import io
import re
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from digest.digests.models import Delivery, Digest, DigestItem
from subscriptions.models import Match
from tests.factories import PaperFactory, SubscriptionFactory, UserFactory


def matched_paper(subscription, hours_ago=1, **fields):
    paper = PaperFactory(created_at=timezone.now() - dt.timedelta(hours=hours_ago), **fields)
    Match.objects.create(
        subscription=subscription,
        paper=paper,
        owner=subscription.owner,
        hits=[{"term": "zero-shot", "field": "title"}],
        score=1,
    )
    return paper


def send_digests(*args) -> str:
    out = io.StringIO()
    call_command("send_digests", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def reader(db):
    user = UserFactory(email="reader@example.org")
    subscription = SubscriptionFactory(owner=user, name="Zero-shot", query="zero-shot")
    matched_paper(subscription, title="Zero-shot detection of <b>things</b>")
    matched_paper(subscription, title="Zero-shot audio")
    return user


def test_the_digest_arrives_over_smtp_and_unsubscribe_works_from_it(reader, smtp_sink):
    nobody = UserFactory(email="nomatch@example.org")
    SubscriptionFactory(owner=nobody, query="quantum")

    summary = send_digests()
    assert "built 1 digests" in summary and "1 sent" in summary

    assert len(smtp_sink.messages) == 1
    message = smtp_sink.messages[0]
    assert smtp_sink.envelopes[0][1] == ["reader@example.org"]
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "2 new papers for you" in message["Subject"]
    assert "Zero-shot detection of <b>things</b>" in text
    assert "Zero-shot detection of &lt;b&gt;things&lt;/b&gt;" in html
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Id"]

    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.SENT and delivery.sent_at is not None
    assert delivery.message_id == message["Message-ID"]

    # The reader follows the link in the email: a confirm page, then the button.
    link = re.search(r"<(https?://[^>]+/unsubscribe/[^>]+)>", message["List-Unsubscribe"])[1]
    path = urlsplit(link).path
    assert f'href="{link}"' in html
    browser = Client(enforce_csrf_checks=True)
    confirm = browser.get(path)
    assert confirm.status_code == 200 and b"Unsubscribe</button>" in confirm.content
    reader.refresh_from_db()
    assert reader.unsubscribed_at is None  # GET alone changes nothing
    assert browser.post(path).status_code == 200
    reader.refresh_from_db()
    assert reader.unsubscribed_at is not None

    # Unsubscribed: tomorrow's run sends them nothing even if papers match.
    matched_paper(reader.subscriptions.get(), title="Zero-shot tomorrow")
    send_digests("--date", (timezone.localdate() + dt.timedelta(days=1)).isoformat())
    assert len(smtp_sink.messages) == 1


def test_one_click_unsubscribe_from_the_header_needs_no_cookies(reader, smtp_sink):
    send_digests()
    header = smtp_sink.messages[0]["List-Unsubscribe"]
    path = urlsplit(re.search(r"<(https?://[^>]+)>", header)[1]).path
    provider = Client(enforce_csrf_checks=True)  # a mail provider's server: no cookies at all
    response = provider.post(
        path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    reader.refresh_from_db()
    assert reader.unsubscribed_at is not None


def test_a_second_run_the_same_day_sends_nothing(reader, smtp_sink):
    send_digests()
    matched_paper(reader.subscriptions.get(), title="Zero-shot, later that day")
    summary = send_digests()
    assert "built 0 digests" in summary and "1 already built" in summary
    assert len(smtp_sink.messages) == 1
    assert Digest.objects.count() == 1 and Delivery.objects.count() == 1


def test_no_mail_when_nothing_matched(db, smtp_sink):
    user = UserFactory()
    SubscriptionFactory(owner=user, query="nothing matches this")
    PaperFactory()
    send_digests()
    assert smtp_sink.messages == []
    assert not Digest.objects.exists()


def test_dry_run_prints_who_would_get_what_and_writes_nothing(reader, smtp_sink):
    output = send_digests("--dry-run")
    assert "reader@example.org: 2 papers" in output
    assert "nothing was written or sent" in output
    assert not Digest.objects.exists() and not DigestItem.objects.exists()
    assert smtp_sink.messages == []


def test_bad_date_is_a_clear_error(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not a date"):
        send_digests("--date", "24/11/2026")
    with pytest.raises(CommandError, match="in the future"):
        send_digests("--date", "2999-01-01")


def test_paused_and_weekly_schedules_are_respected(db, smtp_sink):
    two_days_ago = timezone.localdate() - dt.timedelta(days=2)
    three_days_ago = two_days_ago - dt.timedelta(days=1)
    daily = UserFactory()
    weekly = UserFactory(frequency="weekly", weekday=three_days_ago.weekday())
    paused = UserFactory(frequency="paused")
    for user in (daily, weekly, paused):
        matched_paper(SubscriptionFactory(owner=user), hours_ago=24 * 5)
    send_digests("--date", two_days_ago.isoformat())
    assert [env[1] for env in smtp_sink.envelopes] == [[daily.email]]
    send_digests("--date", three_days_ago.isoformat())
    assert sorted(env[1][0] for env in smtp_sink.envelopes) == sorted([daily.email, weekly.email])


def test_progress_bar_on_a_terminal_and_silence_when_redirected():
    from digest.management.commands.send_digests import Progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal, pipe = Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        bar = Progress(stream, "deliver")
        for done in range(1, 5):
            bar(done, 4, f"sent {done}")
        bar.done()
    assert "\r" in terminal.getvalue() and "4/4 sent 4" in terminal.getvalue()
    assert terminal.getvalue().endswith("\n")
    assert pipe.getvalue() == ""
