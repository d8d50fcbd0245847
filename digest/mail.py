"""The one email composer. Every message Paperboy sends is built here, as Django's
``EmailMultiAlternatives``.

An email named ``NAME`` is a template trio under ``templates/emails/``:

- ``NAME-subject.txt`` — one line (newlines are folded);
- ``NAME-body.txt``    — the plain-text alternative;
- ``NAME-body.mjml``   — MJML sections, placed inside ``emails/layout.mjml`` at
  ``<!-- paperboy:body -->``. Django template tags may appear in it: inside ``<mj-text>`` as they
  are; block tags that stand between MJML components wrapped in ``<mj-raw>``.

MJML is compiled to HTML once per template per process (``compiled_html``), not per recipient:
the compiled HTML is itself a Django template, rendered per message with autoescaping on. The
text parts render with autoescaping off, since they are not HTML.

Serialising is Django's: a part with a line longer than RFC 5322's 998 octets goes out
quoted-printable, else as it is (8bit). MJML writes its layout on a few lines of thousands of
characters, so the compiled HTML gets a line break after each block-level tag
(:func:`break_lines`, once per template): a digest then goes out 8bit, and quoted-printable
encoding — pure Python, a sixth of a worker's CPU per digest — is not spent on every message.
DKIM signing happens where the bytes go on the wire (``digest.digests.smtp``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from email.utils import formatdate, make_msgid
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.template import Context, Engine, engines
from django.template.base import Template
from mjml import mjml2html

BODY_MARKER = "<!-- paperboy:body -->"
# After these tags a line break changes nothing a reader sees: between table rows and cells and
# block-level boxes whitespace is not rendered, and MJML sets font-size 0 where its inline-block
# columns sit side by side. Outlook's conditional comments count as such tags.
BLOCK_TAG_END = re.compile(
    r"(</?(?:html|head|body|style|meta|title|table|tbody|tr|td|div|p)\b[^<>]*>"
    r"|<!--\[if [^\]<>]*\]>|<!\[endif\]-->)(?=<)"
)


class MJMLCompileError(RuntimeError):
    pass


def _engine() -> Engine:
    return engines["django"].engine  # type: ignore[attr-defined]


@functools.cache
def compiled_html(name: str) -> Template:
    """``emails/NAME-body.mjml`` inside the layout, compiled to an HTML Django template."""
    layout = _engine().get_template("emails/layout.mjml").source
    if BODY_MARKER not in layout:
        raise MJMLCompileError(f"emails/layout.mjml has no {BODY_MARKER} marker")
    body = _engine().get_template(f"emails/{name}-body.mjml").source
    try:
        # fonts={}: MJML would otherwise link Google Fonts for a font it knows (Roboto) in the
        # family, and a third party would see every open. The system fonts need no link.
        html = mjml2html(layout.replace(BODY_MARKER, body), fonts={})
    except Exception as exc:  # mjml raises a bare error type per failure kind
        raise MJMLCompileError(f"emails/{name}-body.mjml does not compile: {exc}") from exc
    return _engine().from_string(break_lines(html))


def break_lines(html: str) -> str:
    """``html`` with a line break after each block-level tag that another tag follows."""
    return BLOCK_TAG_END.sub("\\1\n", html)


def _render_text(template_name: str, context: Mapping[str, object]) -> str:
    template = _engine().get_template(template_name)
    return template.render(Context(dict(context), autoescape=False))


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
    connection: BaseEmailBackend | None = None,
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
    message = EmailMultiAlternatives(
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
