"""A local SMTP server that keeps every message it receives.

``make run`` starts it (``manage.py mailsink``) so a developer can read the mail Paperboy sends at
``/dev/mailbox``; the tests start it on a free loopback port to receive real SMTP. Each message is
stored as ``<timestamp>-<n>.eml`` in the mailbox directory, exactly as it arrived.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import itertools
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

# Decides the reply to one RCPT TO: None accepts it, a string such as "550 5.1.1 no such user"
# rejects it. Fault tests use it to play a flaky or strict mail server.
RecipientPolicy = Callable[[str], str | None]
# Decides the reply to the end of DATA, the same way (None stores the message).
DataPolicy = Callable[[Envelope], str | None]


class FaultPolicy:
    """A mail server with bad days, for fault tests and ``manage.py mailsink``'s options.

    - ``reject``: addresses answered ``550 5.1.1`` at RCPT (a hard bounce);
    - ``fail_code`` for ``fail_seconds``, starting once ``fail_after`` messages were accepted:
      every RCPT is answered ``421`` (service closing) or ``451`` (try later) in that period.
    Usable as both recipient policy and data policy of ``MailboxHandler``.
    """

    def __init__(
        self,
        *,
        reject: Iterable[str] = (),
        fail_code: int = 0,
        fail_after: int = 0,
        fail_seconds: float = 0,
        accepted: Callable[[], int] = lambda: 0,
    ) -> None:
        self.reject = {address.lower() for address in reject}
        self.fail_code = fail_code
        self.fail_after = fail_after
        self.fail_seconds = fail_seconds
        self.accepted = accepted
        self.failing_since: float | None = None
        self.refused = 0

    def failing(self) -> bool:
        if not self.fail_code or self.accepted() < self.fail_after:
            return False
        now = time.monotonic()
        if self.failing_since is None:
            self.failing_since = now
        return now - self.failing_since < self.fail_seconds

    def __call__(self, address: str) -> str | None:
        if address.lower() in self.reject:
            self.refused += 1
            return "550 5.1.1 No such user here"
        if self.failing():
            self.refused += 1
            if self.fail_code == 421:
                return "421 4.3.2 Service shutting down, try again later"
            return f"{self.fail_code} 4.3.0 Temporary failure, try again later"
        return None


class MailboxHandler:
    """aiosmtpd handler: accepts mail and writes it to ``directory`` (if given) and memory."""

    def __init__(self, directory: Path | None = None, *, keep_messages: bool = True) -> None:
        self.directory = directory
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
        # Long runs (benchmarks, fault tests) count instead of keeping parsed messages in memory.
        self.keep_messages = keep_messages
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.recipient_policy: RecipientPolicy | None = None
        self.data_policy: DataPolicy | None = None
        self.accepted = 0
        self.bytes_received = 0
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
        if self.data_policy is not None:
            reply = self.data_policy(envelope)
            if reply:
                return reply
        with self._lock:
            number = next(self._counter)
            self.accepted += 1
            self.bytes_received += len(raw)
            if self.keep_messages:
                message = email.message_from_bytes(raw, policy=email.policy.default)
                self.messages.append(message)  # type: ignore[arg-type]
                self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        if self.directory is not None:
            name = f"{time.time_ns()}-{number:06d}.eml"
            tmp = self.directory / f".{name}.tmp"
            tmp.write_bytes(raw)
            tmp.rename(self.directory / name)  # readers never see half a message
        return "250 Message accepted for delivery"


def start_sink(
    host: str,
    port: int,
    directory: Path | None = None,
    *,
    keep_messages: bool = True,
    policy: FaultPolicy | None = None,
) -> Controller:
    """Start an SMTP sink in a background thread; ``controller.handler.messages`` has the mail."""
    handler = MailboxHandler(directory, keep_messages=keep_messages)
    if policy is not None:
        policy.accepted = lambda: handler.accepted
        handler.recipient_policy = policy
    # Generous limits: benchmarks send large digests over long sessions.
    controller = Controller(
        handler,
        hostname=host,
        port=port,
        ready_timeout=10,
        data_size_limit=64 * 1024 * 1024,
    )
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


def main(argv: list[str] | None = None) -> None:
    """``python -m digest.mailsink --port 2525 [--dir D] [--reject a@b] [--fail-code 421 ...]``:
    the sink as its own process, without Django (benchmarks and fault tests run it this way).
    Prints ``ready`` once listening; on SIGTERM prints ``accepted=N bytes=M`` and exits."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, help="store each message as an .eml file here")
    parser.add_argument("--reject", action="append", default=[], help="answer 550 for this address")
    parser.add_argument("--fail-code", type=int, default=0, choices=[0, 421, 451])
    parser.add_argument("--fail-after", type=int, default=0, help="start failing after N messages")
    parser.add_argument("--fail-seconds", type=float, default=0, help="fail for this long")
    args = parser.parse_args(argv)

    policy = FaultPolicy(
        reject=args.reject,
        fail_code=args.fail_code,
        fail_after=args.fail_after,
        fail_seconds=args.fail_seconds,
    )
    controller = start_sink(args.host, args.port, args.dir, keep_messages=False, policy=policy)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print("ready", flush=True)
    stop.wait()
    handler = controller.handler
    controller.stop()
    print(f"accepted={handler.accepted} bytes={handler.bytes_received} refused={policy.refused}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
