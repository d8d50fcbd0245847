"""/dev/mailbox shows what the local SMTP sink stored: newest first, each message with its
headers, its text part and its HTML part in a sandboxed iframe."""

from __future__ import annotations

import pytest
from django.urls import reverse

from digest import mail

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("debug_urls")]


@pytest.fixture
def debug_urls(settings):
    settings.ROOT_URLCONF = "tests.debug_urls"
    settings.DEBUG = True


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
    settings.ROOT_URLCONF = "digest.urls"  # as imported with DEBUG off
    settings.DEBUG = False
    assert client.get("/dev/mailbox/").status_code == 404
