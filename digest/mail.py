"""The one email composer. Every message Paperboy sends is built here.

An email named ``NAME`` is a template trio under ``templates/emails/``:

- ``NAME-subject.txt`` — one line (newlines are folded);
- ``NAME-body.txt``    — the plain-text alternative;
- ``NAME-body.mjml``   — MJML sections, placed inside ``emails/layout.mjml`` at
  ``<!-- paperboy:body -->``. Django template tags may appear in it: inside ``<mj-text>`` as they
  are; block tags that stand between MJML components wrapped in ``<mj-raw>``.

MJML is compiled to HTML once per template per process (``compiled_html``), not per recipient:
the compiled HTML is itself a Django template, rendered per message with autoescaping on. The
text parts render with autoescaping off, since they are not HTML.

When ``DKIM_SELECTOR``, ``DKIM_DOMAIN`` and ``DKIM_PRIVATE_KEY_FILE`` are set, every message is
DKIM-signed (relaxed/relaxed) over the exact bytes that go on the wire.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import urlsplit

import dkim
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template import Context, Engine, engines
from django.template.base import Template
from mjml import mjml2html

BODY_MARKER = "<!-- paperboy:body -->"


class MJMLCompileError(RuntimeError):
    pass


def _engine() -> Engine:
    return engines["django"].engine  # type: ignore[attr-defined]


def _source(template_name: str) -> str:
    template = _engine().get_template(template_name)
    return template.source


@functools.cache
def compiled_html(name: str) -> Template:
    """``emails/NAME-body.mjml`` inside the layout, compiled to an HTML Django template."""
    layout = _source("emails/layout.mjml")
    if BODY_MARKER not in layout:
        raise MJMLCompileError(f"emails/layout.mjml has no {BODY_MARKER} marker")
    document = layout.replace(BODY_MARKER, _source(f"emails/{name}-body.mjml"))
    try:
        html = mjml2html(document)
    except Exception as exc:  # mjml raises a bare error type per failure kind
        raise MJMLCompileError(f"emails/{name}-body.mjml does not compile: {exc}") from exc
    return _engine().from_string(html)


@functools.cache
def _text_template(template_name: str) -> Template:
    return _engine().from_string(_source(template_name))


def _render_text(template_name: str, context: Mapping[str, object]) -> str:
    return _text_template(template_name).render(Context(dict(context), autoescape=False))


# Headers covered by the DKIM signature. RFC 8058 requires List-Unsubscribe and
# List-Unsubscribe-Post to be signed for one-click unsubscribe to be honoured.
DKIM_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
)


@functools.cache
def _dkim_key(path: str) -> bytes:
    return Path(path).read_bytes()


def dkim_signature(raw: bytes) -> bytes:
    """The ``DKIM-Signature:`` header line (CRLF-terminated) for ``raw``, or b"" when DKIM is not
    configured (``DKIM_SELECTOR``, ``DKIM_DOMAIN`` and ``DKIM_PRIVATE_KEY_FILE`` all set)."""
    if not (settings.DKIM_SELECTOR and settings.DKIM_DOMAIN and settings.DKIM_PRIVATE_KEY_FILE):
        return b""
    present = {line.split(b":", 1)[0].strip().lower() for line in _header_lines(raw)}
    include = [h.encode() for h in DKIM_HEADERS if h.lower().encode() in present]
    return dkim.sign(
        raw,
        settings.DKIM_SELECTOR.encode(),
        settings.DKIM_DOMAIN.encode(),
        _dkim_key(settings.DKIM_PRIVATE_KEY_FILE),
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=include,
        linesep=b"\r\n",
    )


def _header_lines(raw: bytes) -> list[bytes]:
    head = raw.split(b"\r\n\r\n", 1)[0]
    return [line for line in head.split(b"\r\n") if line and line[:1] not in (b" ", b"\t")]


class _SignedMIME:
    """A MIME message whose bytes start with a DKIM-Signature over exactly those bytes.

    Signing the final bytes (not re-serialising after adding the header) means no header folding
    can ever invalidate the signature."""

    def __init__(self, mime) -> None:
        self._mime = mime

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n") -> bytes:
        raw = self._mime.as_bytes(unixfrom, linesep="\r\n")
        signed = dkim_signature(raw) + raw
        return signed if linesep == "\r\n" else signed.replace(b"\r\n", linesep.encode())

    def as_string(self, unixfrom: bool = False, linesep: str = "\n") -> str:
        return self.as_bytes(unixfrom, linesep).decode("ascii", "replace")

    def __getattr__(self, name: str):
        return getattr(self._mime, name)

    def __getitem__(self, name: str):
        return self._mime[name]


class PaperboyEmail(EmailMultiAlternatives):
    """Every message we send: DKIM-signed when a key is configured."""

    def message(self):  # type: ignore[override]
        mime = super().message()
        if settings.DKIM_SELECTOR and settings.DKIM_DOMAIN and settings.DKIM_PRIVATE_KEY_FILE:
            return _SignedMIME(mime)
        return mime


def message_id_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def base_context() -> dict[str, object]:
    return {"SITE_NAME": settings.SITE_NAME, "SITE_URL": settings.SITE_URL}


def compose(
    name: str,
    *,
    to: str,
    context: Mapping[str, object],
    headers: Mapping[str, str] | None = None,
    from_email: str | None = None,
    connection=None,
) -> EmailMultiAlternatives:
    """Build (not send) email ``name`` for ``to``: subject, plain text, HTML, headers.

    A ``Message-ID`` and ``Date`` are set here so the caller can record the Message-ID before
    the message leaves (the outbox needs it to recognise its own mail).
    """
    full_context = {**base_context(), **context}
    subject = " ".join(_render_text(f"emails/{name}-subject.txt", full_context).split())
    text = _render_text(f"emails/{name}-body.txt", full_context)
    html = compiled_html(name).render(Context(full_context, autoescape=True))
    all_headers = {
        "Message-ID": make_msgid(domain=message_id_domain()),
        "Date": formatdate(localtime=False),
        "Auto-Submitted": "auto-generated",
        **(headers or {}),
    }
    message = PaperboyEmail(
        subject=subject,
        body=text,
        from_email=from_email or settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers=all_headers,
        connection=connection,
    )
    message.attach_alternative(html, "text/html")
    return message


def send(name: str, *, to: str, context: Mapping[str, object], **kwargs) -> str:
    """Compose and send one message now; returns its Message-ID."""
    message = compose(name, to=to, context=context, **kwargs)
    message.send(fail_silently=False)
    return message.extra_headers["Message-ID"]
