"""A real HTTP server on loopback that serves recorded feeds, for fetch and worker tests.

Each route answers with a body, a status, optional ETag / Last-Modified (and then honours
conditional GETs with ``304 Not Modified``) and other headers (``Location``), or holds the
response until the test ends (a server that never answers). Every request is recorded with its
headers and arrival time. With an ``ssl.SSLContext`` it serves HTTPS and records the host name
each client sent in TLS (SNI).

Feeds are fetched from public addresses only; ``serve_feeds(settings)`` allows loopback
(``FETCH_ALLOWED_NETWORKS``) through pytest-django's ``settings`` fixture, which restores it
after the test, unless the test asks otherwise (``allow_loopback=False``).
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LOOPBACK = ["127.0.0.0/8", "::1/128"]


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/xml; charset=utf-8"
    etag: str = ""
    last_modified: str = ""
    hold: bool = False  # never answer (until the server stops)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class SeenRequest:
    path: str
    headers: dict[str, str]
    at: float  # time.monotonic() on arrival


@dataclass
class FeedServer:
    base_url: str = ""
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[SeenRequest] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    server_names: list[str | None] = field(default_factory=list)  # TLS SNI, one per handshake

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def seen(self, path: str) -> list[SeenRequest]:
        return [request for request in self.requests if request.path == path]


def _handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            server.requests.append(SeenRequest(self.path, dict(self.headers), time.monotonic()))
            route = server.routes.get(self.path)
            if route is None:
                self._answer(404, b"not found", "text/plain", {})
                return
            if route.hold:
                server.release.wait(30)
                return
            headers = dict(route.headers)
            if route.etag:
                headers["ETag"] = route.etag
            if route.last_modified:
                headers["Last-Modified"] = route.last_modified
            unchanged = (route.etag and self.headers.get("If-None-Match") == route.etag) or (
                route.last_modified
                and not self.headers.get("If-None-Match")
                and self.headers.get("If-Modified-Since") == route.last_modified
            )
            if unchanged:
                self._answer(304, b"", "", headers)
                return
            self._answer(route.status, route.body, route.content_type, headers)

        def _answer(self, status: int, body: bytes, content_type: str, headers: dict) -> None:
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            for name, value in headers.items():
                self.send_header(name, value)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if status != 304:
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # keep test output clean

    return Handler


@contextmanager
def serve_feeds(
    settings: Any, *, allow_loopback: bool = True, tls: ssl.SSLContext | None = None
) -> Iterator[FeedServer]:
    settings.FETCH_ALLOWED_NETWORKS = LOOPBACK if allow_loopback else []
    feeds = FeedServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(feeds))
    httpd.daemon_threads = True
    httpd.block_on_close = False
    scheme = "http"
    if tls is not None:
        tls.sni_callback = lambda _sock, name, _context: feeds.server_names.append(name)
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
        scheme = "https"
    feeds.base_url = f"{scheme}://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, name="feed-server", daemon=True)
    thread.start()
    try:
        yield feeds
    finally:
        feeds.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)
