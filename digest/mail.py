"""The one email composer. Every message Paperboy sends is built here.

An email named ``NAME`` is a template trio under ``templates/emails/``:

- ``NAME-subject.txt`` — one line (newlines are folded);
- ``NAME-body.txt``    — the plain-text alternative;
- ``NAME-body.mjml``   — MJML sections, placed inside ``emails/layout.mjml`` at
  ``<!-- paperboy:body -->``. Django template tags may appear in it: inside ``<mj-text>`` as they
  are; block tags that stand between MJML components wrapped in ``<mj-raw>``.

MJML is compiled to HTML once per template per process (``compiled_html``), not per recipient:
the compiled HTML is itself a Django template, rendered per message with autoescaping on. The
text parts render with autoescaping off, since they are not HTML. A partial repeated many times
per message (a digest's papers) can be rendered once as a ``fragment`` with holes and filled per
message by string joins.

Messages go on the wire through ``wire_bytes``: Django's ``message()`` byte for byte, written
directly rather than through a MIME tree and ``email.generator``.

When ``DKIM_SELECTOR``, ``DKIM_DOMAIN`` and ``DKIM_PRIVATE_KEY_FILE`` are set, every message is
DKIM-signed (relaxed/relaxed) over the exact bytes that go on the wire.
"""

from __future__ import annotations

import email.generator
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.policy import compat32
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import urlsplit

import dkim
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import SafeMIMEText, forbid_multi_line_headers
from django.template import Context, Engine, engines
from django.template.base import Template
from django.utils.safestring import SafeString, mark_safe
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


def hole(name: str) -> SafeString:
    """A marker for ``fragment``: where a value goes that is only known per message."""
    return mark_safe(f"<!--hole:{name}-->")  # noqa: S308 - a constant HTML comment


HOLE = re.compile(r"<!--hole:(\w+)-->")


@dataclass(frozen=True)
class Fragment:
    """A partial template rendered once, as the literal text between its holes."""

    pieces: tuple[str, ...]
    holes: tuple[str, ...]

    def fill(self, values: Mapping[str, str]) -> str:
        """The partial as ``render`` would give it with ``values`` in the holes (values go in
        as they are: escape them first where the partial is HTML)."""
        out = [self.pieces[0]]
        for name, piece in zip(self.holes, self.pieces[1:], strict=True):
            out += (values[name], piece)
        return "".join(out)


def fragment(template_name: str, context: Mapping[str, object]) -> Fragment:
    """``template_name`` rendered with ``context``, in which ``hole()`` values mark what is
    filled in later, per message, by string joins instead of a template render.

    A marker is an HTML comment, so in an autoescaped template no value can fake one (its
    ``<`` comes out as ``&lt;``). A ``.txt`` template renders without autoescaping, like every
    text part, so it must get nothing but holes and constants in ``context``.
    """
    autoescape = not template_name.endswith(".txt")
    template = _engine().get_template(template_name)
    rendered = template.render(Context(dict(context), autoescape=autoescape))
    parts = HOLE.split(rendered)
    return Fragment(pieces=tuple(parts[0::2]), holes=tuple(parts[1::2]))


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


# Django's MIME classes use the compat32 policy; on the wire lines end in CRLF.
WIRE_POLICY = compat32.clone(linesep="\r\n")


def _header(name: str, value) -> bytes:
    # A short ASCII one-line value needs no folding: the policy would write it as it is.
    short = isinstance(value, str) and value.isascii() and len(name) + len(value) <= 76
    if short and "\n" not in value and "\r" not in value:
        return f"{name}: {value}\r\n".encode("ascii")
    return WIRE_POLICY.fold_binary(name, value)


def _headers(items) -> bytes:
    return b"".join(_header(name, value) for name, value in items)


@functools.lru_cache(maxsize=1024)
def _encoded(name: str, value: str, encoding: str) -> str:
    """Django's encoding of a header value (RFC 2047 words, sanitised addresses), remembered:
    the subject of a digest repeats across thousands of messages."""
    return forbid_multi_line_headers(name, value, encoding)[1]


@functools.cache
def _part_headers(subtype: str, transfer_encoding: str) -> bytes:
    """A text part's headers exactly as Django's MIME classes write them, taken once from a
    sample part with that transfer encoding."""
    sample = SafeMIMEText("x" if transfer_encoding == "7bit" else "\u00e9", subtype, "utf-8")
    assert sample["Content-Transfer-Encoding"] == transfer_encoding
    return _headers(sample.raw_items())


# RFC 5322's limit on the length of a line, CRLF not counted.
MAX_WIRE_LINE = 998


def _lines_fit(body: bytes, limit: int = MAX_WIRE_LINE) -> bool:
    """True if no LF-separated line of ``body`` is longer than ``limit`` bytes. Each step finds
    the last newline within ``limit`` + 1 bytes of the current line's start and moves past it,
    so a 70 KB body takes ~70 C-level searches instead of being split into a thousand lines."""
    start, end = 0, len(body)
    while end - start > limit:
        newline = body.rfind(b"\n", start, start + limit + 1)
        if newline < 0:
            return False
        start = newline + 1
    return True


def _wire_body(text: str) -> tuple[str, bytes] | None:
    """(transfer encoding, CRLF bytes) of a text part, or None if a line is too long for 8-bit
    (Django then chooses quoted-printable)."""
    body = text.encode("utf-8")
    if b"\r" in body:  # rare; each replace copies the whole body
        # email.generator ends lines at CRLF, lone CR and lone LF alike.
        body = body.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if not _lines_fit(body):
        return None
    body = body.replace(b"\n", b"\r\n")
    return ("7bit" if body.isascii() else "8bit"), body


# Headers Django's ``message()`` treats specially when they are among the extra headers.
SPECIAL_HEADERS = {"from", "to", "cc", "reply-to"}


def wire_bytes(message: EmailMultiAlternatives) -> bytes | None:
    """``message`` as Django's ``message().as_bytes()`` writes it on the wire (CRLF), byte for
    byte, without building the MIME tree and running ``email.generator`` over 60 KB line by
    line. Only for the shape every Paperboy email has — a text body and one HTML alternative,
    UTF-8, its own Date and Message-ID; None for anything else, and the caller asks Django."""
    names = {name.lower() for name in message.extra_headers}
    if (
        (message.encoding or settings.DEFAULT_CHARSET) != "utf-8"
        or message.content_subtype != "plain"
        or message.attachments
        or message.cc
        or message.reply_to
        or not message.body
        or not message.to
        or len(message.alternatives) != 1
        or message.alternatives[0][1] != "text/html"
        or {"date", "message-id"} - names
        or names & SPECIAL_HEADERS - {"from"}
    ):
        return None
    parts = [
        (subtype, _wire_body(text))
        for subtype, text in (("plain", message.body), ("html", message.alternatives[0][0]))
    ]
    if any(body is None for _, body in parts):
        return None
    boundary = email.generator.Generator._make_boundary()
    delimiter = b"--" + boundary.encode()
    if any(delimiter in body for _, (_, body) in parts):
        return None
    fields = [
        ("Subject", message.subject),
        ("From", message.extra_headers.get("From", message.from_email)),
        ("To", ", ".join(str(address) for address in message.to)),
        *((k, v) for k, v in message.extra_headers.items() if k.lower() not in SPECIAL_HEADERS),
    ]
    head = [
        ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
        ("MIME-Version", "1.0"),
        *((name, _encoded(name, str(value), "utf-8")) for name, value in fields),
    ]
    out = [_headers(head), b"\r\n"]
    for subtype, (transfer_encoding, body) in parts:
        # The CRLF after the body belongs to the next delimiter, as in RFC 2046.
        out += [delimiter, b"\r\n", _part_headers(subtype, transfer_encoding), b"\r\n"]
        out += [body, b"\r\n"]
    out += [delimiter, b"--\r\n"]
    return b"".join(out)


class WireMessage:
    """What ``PaperboyEmail.message()`` returns: the message serialised fast (``wire_bytes``)
    and DKIM-signed over exactly the bytes that are sent, so no header re-folding can ever
    invalidate the signature. Anything else is Django's MIME object's, built when asked for."""

    def __init__(self, message: EmailMultiAlternatives) -> None:
        self._message = message

    @functools.cached_property
    def _mime(self):
        return EmailMultiAlternatives.message(self._message)

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n") -> bytes:
        raw = wire_bytes(self._message) or self._mime.as_bytes(unixfrom, linesep="\r\n")
        raw = dkim_signature(raw) + raw
        return raw if linesep == "\r\n" else raw.replace(b"\r\n", linesep.encode())

    def as_string(self, unixfrom: bool = False, linesep: str = "\n") -> str:
        return self.as_bytes(unixfrom, linesep).decode("utf-8", "replace")

    def __getattr__(self, name: str):
        return getattr(self._mime, name)

    def __getitem__(self, name: str):
        return self._mime[name]

    def __contains__(self, name: str) -> bool:
        return name in self._mime


class PaperboyEmail(EmailMultiAlternatives):
    """Every message we send: serialised fast, DKIM-signed when a key is configured."""

    def message(self):  # type: ignore[override]
        return WireMessage(self)


# RFC 5322 caps lines at 998 octets; Django falls back to quoted-printable for the whole part when
# a line is longer, which is slow to encode and makes the message a third bigger.
MAX_LINE = 900


def fold_long_lines(html: str, width: int = MAX_LINE) -> str:
    """Break HTML lines longer than ``width`` at a space (whitespace, so the page renders the
    same) so the part can go out as plain 8-bit. Lines with no space are left alone.

    A digest has a thousand lines and a handful of long ones (the layout's head, abstracts):
    the scan jumps from newline to newline ``width`` characters at a time, and only the long
    lines are cut, so a 70 KB email costs some hundred C-level searches."""
    out: list[str] = []
    start = done = 0
    end = len(html)
    while end - start > width:
        newline = html.rfind("\n", start, start + width + 1)
        if newline >= 0:
            start = newline + 1
            continue
        # The line at ``start`` is too long: keep what came before it, then cut it.
        line_end = html.find("\n", start)
        if line_end < 0:
            line_end = end
        out.append(html[done:start])
        line = html[start:line_end]
        while len(line) > width:
            cut = line.rfind(" ", 0, width)
            if cut <= 0:
                break
            out.append(line[:cut] + "\n")
            line = line[cut + 1 :]
        out.append(line)
        start = done = line_end
    if not out:
        return html
    out.append(html[done:])
    return "".join(out)


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
    html = fold_long_lines(compiled_html(name).render(Context(full_context, autoescape=True)))
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
