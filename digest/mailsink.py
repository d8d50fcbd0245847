"""A local SMTP server that keeps every message it receives.

``make run`` starts it (``manage.py mailsink``) so a developer can read the mail Paperboy sends at
``/dev/mailbox``; the tests start it on a free loopback port to receive real SMTP. Each message is
stored as ``<timestamp>-<n>.eml`` in the mailbox directory, exactly as it arrived.
"""

from __future__ import annotations

import email
import email.policy
import itertools
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

# Decides the reply to one RCPT TO: None accepts it, a string such as "550 5.1.1 no such user"
# rejects it. Fault tests use it to play a flaky or strict mail server.
RecipientPolicy = Callable[[str], str | None]


class MailboxHandler:
    """aiosmtpd handler: accepts mail and writes it to ``directory`` (if given) and memory."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.recipient_policy: RecipientPolicy | None = None
        self.connections = 0
        self._counter = itertools.count()
        self._lock = threading.Lock()

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname, responses
    ):  # noqa: N802, E501
        with self._lock:
            self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options
    ):  # noqa: N802, E501
        if self.recipient_policy is not None:
            reply = self.recipient_policy(address)
            if reply:
                return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        with self._lock:
            number = next(self._counter)
            self.messages.append(message)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        if self.directory is not None:
            name = f"{time.time_ns()}-{number:06d}.eml"
            tmp = self.directory / f".{name}.tmp"
            tmp.write_bytes(raw)
            tmp.rename(self.directory / name)  # readers never see half a message
        return "250 Message accepted for delivery"


def start_sink(host: str, port: int, directory: Path | None = None) -> Controller:
    """Start an SMTP sink in a background thread; ``controller.handler.messages`` has the mail."""
    handler = MailboxHandler(directory)
    controller = Controller(handler, hostname=host, port=port, ready_timeout=10)
    controller.start()
    return controller


def read_mailbox(directory: Path) -> list[tuple[str, EmailMessage]]:
    """Messages stored in ``directory``, newest first, as ``(file name, message)`` pairs."""
    if not directory.is_dir():
        return []
    result = []
    for path in sorted(directory.glob("*.eml"), reverse=True):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        result.append((path.stem, message))
    return result  # type: ignore[return-value]
