"""Downloading a feed over HTTP, politely.

* A real User-Agent with a contact address (``ARXIV_USER_AGENT``), as arXiv asks.
* A conditional GET with the ETag / Last-Modified the source answered last time: an unchanged
  feed costs a ``304 Not Modified`` and no parsing.
* ``FETCH_TIMEOUT`` bounds connecting, each wait for data *and* the whole download, so a
  server that trickles bytes cannot hold a worker forever; ``FETCH_MAX_BYTES`` bounds the size.
* A polite gap between requests to arXiv, shared by all workers (see ``polite``).
* Only public addresses, checked on every connection, redirects included (see ``addresses``).

Every failure is a ``FetchError`` whose message a curator can act on. A host that cannot be
resolved or reached is ``Unreachable``: on a laptop that is usually no network at all, and the
message says so in those words rather than with a resolver's errno.
"""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings
from urllib3.exceptions import ReadTimeoutError

from .addresses import AddressRefused, public_session
from .polite import polite_host, wait_for_turn

ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.9, */*;q=0.5"
)


class FetchError(Exception):
    """The feed could not be downloaded; ``str()`` says why in plain words."""


class Unreachable(FetchError):
    """The host could not be resolved or no route leads to it: most likely no network."""

    def __init__(self, host: str) -> None:
        self.host = host
        super().__init__(
            f"Could not reach {host}: no network? The demo papers keep working offline."
        )


# A name that does not resolve, or a network/host with no route: the machine is offline (or the
# host is gone). A refused connection or a timeout means the host answered, or might: those keep
# their own messages.
_UNREACHABLE_ERRNOS = frozenset(
    {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN}
)


@dataclass
class Fetched:
    url: str
    status_code: int
    content: bytes = b""
    etag: str = ""
    last_modified: str = ""

    @property
    def not_modified(self) -> bool:
        return self.status_code == 304


def fetch_url(url: str, *, etag: str = "", last_modified: str = "") -> Fetched:
    """GET ``url``; with ``etag`` / ``last_modified`` it is a conditional GET."""
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(f"cannot fetch {url!r}: only http and https URLs are supported")
    host = polite_host(url)
    if host:
        wait_for_turn(host, settings.ARXIV_DELAY_SECONDS)

    timeout = float(settings.FETCH_TIMEOUT)
    headers = {"User-Agent": settings.ARXIV_USER_AGENT, "Accept": ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    deadline = time.monotonic() + timeout
    try:
        with (
            public_session() as session,
            session.get(
                url, headers=headers, timeout=(timeout, timeout), stream=True, allow_redirects=True
            ) as response,
        ):
            if response.status_code == 304:
                return Fetched(
                    url=response.url, status_code=304, etag=etag, last_modified=last_modified
                )
            if response.status_code >= 400:
                raise FetchError(
                    f"HTTP {response.status_code} {response.reason or ''}".rstrip()
                    + f" from {response.url}"
                )
            content = _read_body(response, deadline=deadline, timeout=timeout)
            return Fetched(
                url=response.url,
                status_code=response.status_code,
                content=content,
                etag=response.headers.get("ETag", ""),
                last_modified=response.headers.get("Last-Modified", ""),
            )
    except AddressRefused as exc:
        # Raised before connecting: nothing of what the address would have answered is shown,
        # and an open port looks the same as a closed one.
        raise FetchError(str(exc)) from exc
    except requests.Timeout as exc:
        raise FetchError(f"timed out after {timeout:g} s waiting for {url}") from exc
    except requests.ConnectionError as exc:
        if _is_unreachable(exc):
            raise Unreachable(urlsplit(url).hostname or urlsplit(url).netloc) from exc
        raise FetchError(f"could not connect to {urlsplit(url).netloc}: {_reason(exc)}") from exc
    except requests.RequestException as exc:
        raise FetchError(f"could not fetch {url}: {_reason(exc)}") from exc


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps: causes, and the exceptions requests and urllib3 keep in
    ``args[0]`` or ``reason``."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        inner = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        inner += current.args[:1]
        pending += [item for item in inner if isinstance(item, BaseException)]


def _is_unreachable(exc: BaseException) -> bool:
    return any(
        isinstance(cause, socket.gaierror)
        or (isinstance(cause, OSError) and cause.errno in _UNREACHABLE_ERRNOS)
        for cause in _causes(exc)
    )


def _read_body(response: requests.Response, *, deadline: float, timeout: float) -> bytes:
    limit = settings.FETCH_MAX_BYTES
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(chunk_size=64 * 1024):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise FetchError(f"{response.url} is larger than {limit} bytes; not read")
            if time.monotonic() > deadline:
                raise FetchError(f"timed out after {timeout:g} s downloading {response.url}")
    except requests.ConnectionError as exc:
        # requests reports a read timeout in the middle of the body as a ConnectionError.
        if exc.args and isinstance(exc.args[0], ReadTimeoutError):
            raise FetchError(f"timed out after {timeout:g} s downloading {response.url}") from exc
        raise FetchError(
            f"the connection broke downloading {response.url}: {_reason(exc)}"
        ) from exc
    return b"".join(chunks)


def _reason(exc: Exception) -> str:
    """The innermost cause, without urllib3's object reprs."""
    reason: BaseException = exc
    for _ in range(10):
        inner = reason.__cause__ or (
            reason.args[0] if reason.args and isinstance(reason.args[0], Exception) else None
        )
        if inner is None:
            break
        reason = inner
    text = str(reason)
    # "<urllib3.connection.HTTPConnection object at 0x7f…>: Failed to establish a new
    # connection: [Errno 111] Connection refused" → the part after the repr.
    if text.startswith("<") and ">: " in text:
        text = text.split(">: ", 1)[1]
    return text
