"""A polite gap between requests to the same site, shared by every worker process.

arXiv asks API clients for at most one request every three seconds. Ingest tasks fan out one
per source and run in parallel, so the gap must be enforced across processes, not per process:

* with Redis (``REDIS_URL``), a slot key set with ``SET NX PX <delay>``: whoever sets it may
  send a request now, everybody else waits until the key expires. Works across machines.
* on the embedded defaults (one machine), an exclusive ``flock`` on a file under ``VAR_DIR``
  that holds the time of the last request.

Either way two requests to a polite host start at least ``ARXIV_DELAY_SECONDS`` apart.
"""

from __future__ import annotations

import fcntl
import time
from pathlib import Path
from urllib.parse import urlsplit

import redis
from django.conf import settings


def polite_host(url: str) -> str | None:
    """The entry of ``settings.POLITE_HOSTS`` that ``url`` belongs to (``export.arxiv.org``
    and ``rss.arxiv.org`` both count as ``arxiv.org``), or ``None``."""
    host = (urlsplit(url).hostname or "").lower()
    for polite in settings.POLITE_HOSTS:
        if host == polite or host.endswith(f".{polite}"):
            return polite
    return None


def wait_for_turn(host: str, delay: float) -> None:
    """Return when a request to ``host`` may be sent, at least ``delay`` seconds after the
    previous one anybody sent."""
    if delay <= 0:
        return
    if settings.REDIS_URL:
        _wait_with_redis(host, delay)
    else:
        _wait_with_file_lock(host, delay)


def _wait_with_redis(host: str, delay: float) -> None:
    client = redis.Redis.from_url(settings.REDIS_URL)
    key = f"paperboy:polite:{host}"
    milliseconds = max(1, int(delay * 1000))
    try:
        while not client.set(key, "1", nx=True, px=milliseconds):
            remaining = client.pttl(key)  # -2: expired meanwhile
            if remaining == -1:  # left without expiry by something else: never block forever
                client.pexpire(key, milliseconds)
            time.sleep(max(remaining, 10) / 1000)
    finally:
        client.close()


def _wait_with_file_lock(host: str, delay: float) -> None:
    directory = Path(settings.VAR_DIR) / "polite"
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / f"{host}.last", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
        handle.seek(0)
        try:
            last = float(handle.read().strip() or 0)
        except ValueError:
            last = 0.0
        wait = last + delay - time.time()
        if wait > 0:
            time.sleep(min(wait, delay))  # a clock set back must not stall ingest forever
        handle.seek(0)
        handle.truncate()
        handle.write(repr(time.time()))
        handle.flush()
