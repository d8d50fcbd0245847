"""/dev/mailbox shows what the local SMTP sink stored: newest first, each message with its
headers, its text part and its HTML part in a sandboxed iframe. Staff only: it holds every
sign-in code and confirmation link."""

from __future__ import annotations

import importlib

import pytest
from django.test import Client
from django.urls import reverse

import digest.urls
from digest import mail
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("debug_urls")]


@pytest.fixture
def debug_urls(settings):
    settings.ROOT_URLCONF = "tests.debug_urls"
    settings.DEBUG = True


@pytest.fixture
def client(client):
    """A staff member's browser: only staff may read the mailbox."""
    client.force_login(UserFactory(email="staff@example.org", is_staff=True))
    return client


def send_notice(title, paragraphs, **context):
    mail.send(
        "notice",
        to="reader@example.org",
        context={"title": title, "paragraphs": paragraphs, **context},
    )


def test_mailbox_lists_messages_newest_first(client, smtp_sink):
    send_notice("First message", ["one"])
    send_notice("Second message", ["two"])
    page = client.get(reverse("dev:mailbox")).content.decode()
    assert page.index("Second message") < page.index("First message")


def test_message_page_shows_headers_text_and_sandboxed_html(client, smtp_sink):
    send_notice(
        "Hello there",
        ["Body paragraph"],
        action_url="http://localhost:8000/x/",
        action_label="Open it",
    )
    [(name, _)] = [(p.stem, p) for p in smtp_sink_dir(smtp_sink).glob("*.eml")]
    page = client.get(reverse("dev:mailbox_message", args=[name])).content.decode()
    assert "<h1>Hello there</h1>" in page
    assert "reader@example.org" in page and "Message-ID" in page
    sandbox = "allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation"
    assert f'sandbox="{sandbox}"' in page
    assert "allow-scripts" not in page
    assert 'srcdoc="&lt;!doctype html&gt;' in page.replace("&lt;!DOCTYPE", "&lt;!doctype")
    assert "&lt;base target=&quot;_top&quot;&gt;" in page  # links in the mail leave the iframe
    assert '<a href="http://localhost:8000/x/"' in page  # text part, urlized


def test_hostile_subject_is_shown_as_text(client, smtp_sink):
    send_notice("<script>alert(1)</script>", ["x"])
    page = client.get(reverse("dev:mailbox")).content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page


@pytest.mark.parametrize("name", ["../../etc/passwd", "nope", "123-456"])
def test_unknown_or_malformed_message_names_are_not_found(client, smtp_sink, name):
    assert client.get(f"/dev/mailbox/{name}/").status_code == 404


def smtp_sink_dir(handler):
    return handler.directory


def test_mailbox_is_not_served_without_debug(client, settings):
    settings.DEBUG = False
    # As imported with DEBUG off: whichever test imported digest.urls first may have had it on
    # (tests.debug_urls imports it), so import it again.
    importlib.reload(digest.urls)
    settings.ROOT_URLCONF = "digest.urls"
    assert client.get("/dev/mailbox/").status_code == 404


@pytest.mark.parametrize("page", ["mailbox", "message"])
def test_anonymous_visitors_and_subscribers_cannot_read_the_mailbox(smtp_sink, page):
    send_notice("Your sign-in code: 123456", ["123456"])
    [name] = [p.stem for p in smtp_sink_dir(smtp_sink).glob("*.eml")]
    url = (
        reverse("dev:mailbox") if page == "mailbox" else reverse("dev:mailbox_message", args=[name])
    )
    anonymous = Client()
    subscriber = Client()
    subscriber.force_login(UserFactory(email="reader@example.org"))
    for visitor in (anonymous, subscriber):
        response = visitor.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
        assert b"123456" not in response.content
