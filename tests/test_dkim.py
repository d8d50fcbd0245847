"""With a key configured, every message is DKIM-signed over the bytes that go on the wire; the
signature verifies after SMTP."""

from __future__ import annotations

import base64
import subprocess

import dkim
import pytest

from digest import mail as composer
from digest.digests.smtp import signed_bytes


@pytest.fixture
def dkim_key(tmp_path, settings):
    private = tmp_path / "dkim.pem"
    subprocess.run(
        ["openssl", "genrsa", "-out", str(private), "2048"], check=True, capture_output=True
    )
    public_der = subprocess.run(
        ["openssl", "rsa", "-in", str(private), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    settings.DKIM_SELECTOR = "pb2026"
    settings.DKIM_DOMAIN = "paperboy.example"
    settings.DKIM_PRIVATE_KEY_FILE = str(private)
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public_der)

    def dns(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == b"pb2026._domainkey.paperboy.example." else None

    return dns


def notice():
    return composer.compose(
        "notice",
        to="reader@example.org",
        # A paragraph over 998 octets on one line: the HTML goes out quoted-printable.
        context={"title": "Ünïcode title — long " * 4, "paragraphs": ["Body.", "Long. " * 200]},
        headers={
            "List-Unsubscribe": "<https://paperboy.example/unsubscribe/abc/>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def test_signature_received_over_smtp_verifies(dkim_key, smtp_sink):
    notice().send()
    raw = smtp_sink.directory / next(iter(sorted(p.name for p in smtp_sink.directory.iterdir())))
    data = raw.read_bytes()
    assert data.startswith(b"DKIM-Signature:")
    assert dkim.verify(data, dnsfunc=dkim_key)


def test_signature_covers_the_one_click_unsubscribe_headers(dkim_key):
    data = signed_bytes(notice())
    signature = data.split(b"\r\n\r\n", 1)[0].split(b"DKIM-Signature:", 1)[1]
    signed = dkim.verify(data, dnsfunc=dkim_key)
    assert signed
    headers = signature.split(b"h=", 1)[1].split(b";", 1)[0].replace(b"\r\n", b"").lower()
    for name in (b"list-unsubscribe", b"list-unsubscribe-post", b"from", b"subject"):
        assert name in headers


def test_tampering_breaks_the_signature(dkim_key):
    data = signed_bytes(notice())
    assert not dkim.verify(data.replace(b"Body.", b"Evil."), dnsfunc=dkim_key)


def test_no_key_no_signature(settings):
    settings.DKIM_PRIVATE_KEY_FILE = ""
    assert b"DKIM-Signature" not in signed_bytes(notice())
