"""Talking to the mail server: Django's SMTP backend with cheaper dot-stuffing and envelope
addresses, putting on the wire exactly what Django's would."""

from __future__ import annotations

import email.generator
import re

import pytest
from django.core.mail.message import sanitize_address

from digest import mail as composer
from digest.digests.smtp import EmailBackend, SMTPSession, data_bytes, envelope_address
from digest.settings import parse_email_url

FIXED_BOUNDARY = "=" * 15 + "1234567890123456789" + "=="


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


def smtplib_data(message: bytes) -> bytes:
    """What ``smtplib.SMTP.data`` sends for ``message``: its regex, its terminator."""
    stuffed = re.sub(rb"(?m)^\.", b"..", message)
    if stuffed[-2:] != b"\r\n":
        stuffed += b"\r\n"
    return stuffed + b".\r\n"


def test_smtp_urls_send_through_paperboys_backend():
    assert (
        parse_email_url("smtp://127.0.0.1:25")["EMAIL_BACKEND"]
        == "digest.digests.smtp.EmailBackend"
    )
    assert parse_email_url("smtps://mail.example.org")["EMAIL_BACKEND"] == (
        "digest.digests.smtp.EmailBackend"
    )


@pytest.mark.parametrize(
    "message",
    [
        b"Subject: x\r\n\r\nno dots\r\n",
        b".starts with a dot\r\n",
        b"line\r\n.dot\r\n..two\r\nmiddle . dot\r\n.\r\n",
        b"no final line break\r\n.x",
        b"lone LF\n.dot after it\n",
        b"",
    ],
)
def test_dot_stuffing_is_smtplibs(message):
    assert data_bytes(message) == smtplib_data(message)


def test_lines_starting_with_a_dot_arrive_intact(smtp_sink, settings, fixed_boundary):
    message = composer.PaperboyEmail(
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


@pytest.mark.parametrize(
    "address",
    [
        "reader@example.org",
        "first.last+tag@mail.example.org",
        "o'hara@x.test",
        "Reader <reader@example.org>",
        "Zoë Reader <zoe@example.org>",
        "zoë@example.org",
        "reader@bücher.example",
        '"quoted local"@example.org',
        "reader@[127.0.0.1]",
        "Paperboy <paperboy@localhost>",
        ("Zoë", "zoe@example.org"),
        "a.@example.org",
        "a..b@example.org",
        "not an address",
    ],
)
def test_envelope_addresses_are_what_django_makes_of_them(address):
    assert envelope_address(address, "utf-8") == sanitize_address(address, "utf-8")


def test_envelope_address_refuses_what_django_refuses():
    for bad in ("a@b@c", "reader@example.org.", "a@b..c", "reader@example.org\nBcc: x@y.z"):
        with pytest.raises(ValueError):
            sanitize_address(bad, "utf-8")
        with pytest.raises(ValueError):
            envelope_address(bad, "utf-8")


def test_envelope_is_sanitised_as_django_does(smtp_sink, fixed_boundary):
    message = composer.PaperboyEmail(
        subject="Hi",
        body="Hello",
        from_email="Paperboy <paperboy@localhost>",
        to=["Zoë Reader <zoe@example.org>", "plain@example.org"],
    )
    message.attach_alternative("<p>Hello</p>", "text/html")
    with SMTPSession() as session:
        session.send(message)
    assert smtp_sink.envelopes == [("paperboy@localhost", ["zoe@example.org", "plain@example.org"])]
