"""Talking to the mail server: Django's SMTP backend over one session, putting on the wire the
bytes Django serialises (DKIM-signed when configured: tests/test_dkim.py)."""

from __future__ import annotations

import email
import email.generator
import email.policy

import pytest
from django.core.mail import EmailMultiAlternatives

from digest.digests.delivery import claim, deliver
from digest.digests.smtp import EmailBackend, SMTPSession
from digest.settings import parse_email_url
from tests.factories import DeliveryFactory, DigestFactory, DigestItemFactory, PaperFactory

FIXED_BOUNDARY = "=" * 15 + "1234567890123456789" + "=="
RFC5322_LINE_LIMIT = 998


@pytest.fixture
def fixed_boundary(monkeypatch):
    """Every message gets the same MIME boundary, so two serialisations can be compared."""
    monkeypatch.setattr(
        email.generator.Generator,
        "_make_boundary",
        classmethod(lambda cls, text=None: FIXED_BOUNDARY),
    )


def received_raw(settings) -> list[bytes]:
    """The messages the sink stored, byte for byte as they arrived, oldest first."""
    return [path.read_bytes() for path in sorted(settings.MAILBOX_DIR.glob("*.eml"))]


def test_smtp_urls_send_through_paperboys_backend():
    assert (
        parse_email_url("smtp://127.0.0.1:25")["EMAIL_BACKEND"]
        == "digest.digests.smtp.EmailBackend"
    )
    assert parse_email_url("smtps://mail.example.org")["EMAIL_BACKEND"] == (
        "digest.digests.smtp.EmailBackend"
    )


def test_lines_starting_with_a_dot_arrive_intact(smtp_sink, settings, fixed_boundary):
    message = EmailMultiAlternatives(
        subject="Dots",
        body=".starts with a dot\n..two dots\nin the . middle\n.\nlast",
        to=["reader@example.org"],
        headers={"Message-ID": "<dots@localhost>", "Date": "Sun, 22 Nov 2026 10:00:00 -0000"},
    )
    message.attach_alternative("<style>\n.mj-column { width: 100% }\n</style>\n.", "text/html")
    with SMTPSession() as session:
        session.send(message)
    [raw] = received_raw(settings)
    assert raw == message.message().as_bytes(linesep="\r\n")
    assert b"\r\n.starts with a dot\r\n..two dots\r\n" in raw


def test_a_message_starting_with_a_dot_arrives_intact(smtp_sink, settings):
    backend = EmailBackend()
    backend.open()
    try:
        backend.connection.sendmail("a@example.org", ["b@example.org"], b".one\r\n..two\r\n")
    finally:
        backend.close()
    assert received_raw(settings) == [b".one\r\n..two\r\n"]


def test_the_envelope_carries_bare_addresses(smtp_sink):
    message = EmailMultiAlternatives(
        subject="Hi",
        body="Hello",
        from_email="Paperboy <paperboy@localhost>",
        to=["Zoë Reader <zoe@example.org>", "plain@example.org"],
    )
    message.attach_alternative("<p>Hello</p>", "text/html")
    with SMTPSession() as session:
        session.send(message)
    assert smtp_sink.envelopes == [("paperboy@localhost", ["zoe@example.org", "plain@example.org"])]


def test_a_digest_with_a_very_long_line_arrives_in_lines_of_at_most_998_octets(
    db, smtp_sink, settings
):
    # A curator's note is shown whole, on one line of HTML: far over RFC 5322's limit.
    note = "A very long note, " * 300
    digest = DigestFactory()
    DigestItemFactory(digest=digest, paper=PaperFactory(curator_note=note))
    DeliveryFactory(digest=digest)
    assert deliver(claim(limit=1)).sent == 1
    [raw] = received_raw(settings)
    assert max(len(line) for line in raw.split(b"\r\n")) <= RFC5322_LINE_LIMIT
    received = email.message_from_bytes(raw, policy=email.policy.default)
    html = received.get_body(("html",))
    assert html["Content-Transfer-Encoding"] == "quoted-printable"
    assert note.strip() in html.get_content()
    # The plain text wraps it for reading, in lines short enough to go out as they are.
    plain = received.get_body(("plain",))
    assert plain["Content-Transfer-Encoding"] in ("7bit", "8bit")
    assert "   > A very long note, A very long note," in plain.get_content()
