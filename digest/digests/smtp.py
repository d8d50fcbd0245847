"""Talking to the mail server: one reused connection, a message cap per session, a rate limit,
and SMTP errors sorted into what the outbox should do about them.

Why a session object rather than Django's ``send_mail``: opening an SMTP connection (TCP, EHLO,
STARTTLS, AUTH) costs more than sending a digest over an open one, many servers cap messages per
connection, and the outbox needs the server's reply code to choose between retrying, failing and
suppressing. Sending goes through Django's configured email backend, so tests using the locmem
backend and production SMTP share this code.

For ``smtp://`` URLs that backend is ``EmailBackend`` below: Django's, DKIM-signing every message
over the bytes it sends when a key is configured.
"""

from __future__ import annotations

import enum
import functools
import logging
import smtplib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import dkim
from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends import smtp as django_smtp
from django.core.mail.message import sanitize_address

log = logging.getLogger(__name__)


class Outcome(enum.Enum):
    TEMPORARY = "temporary"  # 4xx for this message: retry it later
    PERMANENT = "permanent"  # 5xx for this recipient: fail and suppress the address
    CONNECTION = "connection"  # the server is unreachable or closing: back off everything
    SENDER = "sender"  # the server refuses *us* (MAIL FROM): retry, never blame the recipient


@dataclass
class SendError(Exception):
    outcome: Outcome
    code: int | None
    detail: str

    def __str__(self) -> str:
        return f"{self.code} {self.detail}" if self.code else self.detail


def _text(response: bytes | str) -> str:
    if isinstance(response, bytes):
        return response.decode("utf-8", "replace")
    return str(response)


def classify(exc: BaseException) -> SendError:
    """What an exception from ``smtplib`` (or the socket under it) means for the outbox."""
    if isinstance(exc, SendError):
        return exc
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, response = next(iter(exc.recipients.values()), (None, b"recipient refused"))
        if code == 421:
            return SendError(Outcome.CONNECTION, code, _text(response))
        kind = Outcome.PERMANENT if code and 500 <= code < 600 else Outcome.TEMPORARY
        return SendError(kind, code, _text(response))
    if isinstance(exc, smtplib.SMTPSenderRefused):
        kind = Outcome.CONNECTION if exc.smtp_code == 421 else Outcome.SENDER
        return SendError(kind, exc.smtp_code, _text(exc.smtp_error))
    if isinstance(exc, smtplib.SMTPResponseException):  # SMTPDataError and friends
        code = exc.smtp_code
        if code == 421:
            return SendError(Outcome.CONNECTION, code, _text(exc.smtp_error))
        kind = Outcome.PERMANENT if 500 <= code < 600 else Outcome.TEMPORARY
        return SendError(kind, code, _text(exc.smtp_error))
    if isinstance(exc, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError | OSError):
        return SendError(Outcome.CONNECTION, None, f"{type(exc).__name__}: {exc}")
    if isinstance(exc, smtplib.SMTPException):
        return SendError(Outcome.TEMPORARY, None, f"{type(exc).__name__}: {exc}")
    raise exc


def throttle(rate_per_second: float | None = None) -> None:
    """Wait until sending one more message keeps every worker together under the rate.

    The budget lives in the shared cache (Redis in production, a file cache on one box), counted
    per window of ``max(1 s, 1/rate)``; 0 means unlimited.
    """
    rate = settings.EMAIL_RATE_PER_SECOND if rate_per_second is None else rate_per_second
    if rate <= 0:
        return
    window = max(1.0, 1.0 / rate)
    capacity = max(1, round(rate * window))
    while True:
        now = time.time()
        key = f"paperboy:smtp-rate:{int(now // window)}"
        cache.add(key, 0, timeout=int(window) + 5)
        try:
            used = cache.incr(key)
        except ValueError:  # expired between add and incr: take the next round
            continue
        if used <= capacity:
            return
        time.sleep(max(window - (now % window), 0.001))


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


def dkim_signature(raw: bytes, headers: Iterable[str]) -> bytes:
    """The ``DKIM-Signature:`` header line (CRLF-terminated) for the message ``raw``, whose
    header names are ``headers``; b"" when DKIM is not configured (``DKIM_SELECTOR``,
    ``DKIM_DOMAIN`` and ``DKIM_PRIVATE_KEY_FILE`` all set)."""
    if not (settings.DKIM_SELECTOR and settings.DKIM_DOMAIN and settings.DKIM_PRIVATE_KEY_FILE):
        return b""
    present = {name.lower() for name in headers}
    return dkim.sign(
        raw,
        settings.DKIM_SELECTOR.encode(),
        settings.DKIM_DOMAIN.encode(),
        _dkim_key(settings.DKIM_PRIVATE_KEY_FILE),
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=[name.encode() for name in DKIM_HEADERS if name.lower() in present],
        linesep=b"\r\n",
    )


def signed_bytes(message: EmailMessage) -> bytes:
    """``message`` as it goes on the wire: Django's serialisation with CRLF line ends, with a
    DKIM signature over exactly those bytes in front when DKIM is configured."""
    mime = message.message()
    raw = mime.as_bytes(linesep="\r\n")
    return dkim_signature(raw, mime.keys()) + raw


class EmailBackend(django_smtp.EmailBackend):
    """Django's SMTP backend (``EMAIL_URL=smtp://...``), sending ``signed_bytes``: DKIM-signed
    when a key is configured. Connection handling, TLS, login and errors are Django's."""

    def _send(self, email_message: EmailMessage) -> bool:
        # Django's ``_send``, with the signed bytes for ``message().as_bytes()``.
        if not email_message.recipients():
            return False
        encoding = email_message.encoding or settings.DEFAULT_CHARSET
        from_email = sanitize_address(email_message.from_email, encoding)
        recipients = [sanitize_address(addr, encoding) for addr in email_message.recipients()]
        try:
            self.connection.sendmail(from_email, recipients, signed_bytes(email_message))
        except smtplib.SMTPException:
            if not self.fail_silently:
                raise
            return False
        return True


class SMTPSession:
    """A connection that is opened lazily, reused for up to ``messages_per_connection``
    messages, re-opened after the server drops it, and closed by ``close()``."""

    def __init__(self, messages_per_connection: int | None = None) -> None:
        self.backend = get_connection(fail_silently=False)
        self.messages_per_connection = max(
            1, messages_per_connection or settings.EMAIL_MESSAGES_PER_CONNECTION
        )
        self.sent_on_connection = 0
        self.connections_opened = 0
        self._open = False

    def _connect(self) -> None:
        try:
            self.backend.open()
        except Exception as exc:
            self._open = False
            raise classify(exc) from exc
        self._open = True
        self.sent_on_connection = 0
        self.connections_opened += 1

    def reset(self) -> None:
        """QUIT (or drop) the current connection; the next message opens a fresh one."""
        if self._open:
            try:
                self.backend.close()
            except Exception:  # noqa: BLE001 - a dead connection is closed either way
                log.debug("closing SMTP connection failed", exc_info=True)
                connection = getattr(self.backend, "connection", None)
                if connection is not None:
                    connection.close()
                    self.backend.connection = None
        self._open = False

    def send(self, message: EmailMessage) -> None:
        """Send one message; returns when the server said 250. Raises ``SendError``."""
        if self._open and self.sent_on_connection >= self.messages_per_connection:
            self.reset()
        try:
            self._send_once(message)
        except SendError as error:
            # A server that drops a connection it has used (idle timeout, its own per-session
            # cap, a restart) usually takes the message on a fresh one: try that once, now.
            if error.outcome is not Outcome.CONNECTION or not self.sent_on_connection:
                raise
            log.info(
                "SMTP connection dropped after %d messages (%s); reconnecting",
                self.sent_on_connection,
                error,
            )
            self._send_once(message)

    def _send_once(self, message: EmailMessage) -> None:
        if not self._open:
            self._connect()
        throttle()
        try:
            sent = self.backend.send_messages([message])
        except Exception as exc:
            error = classify(exc)
            if error.outcome is Outcome.CONNECTION:
                self.reset()
            raise error from exc
        if sent != 1:
            self.reset()
            raise SendError(Outcome.CONNECTION, None, "the email backend sent nothing")
        self.sent_on_connection += 1

    def close(self) -> None:
        self.reset()

    def __enter__(self) -> SMTPSession:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
