"""Driving Debian's chromium through Playwright: fixtures and checks shared by the browser
tests (accessibility with axe-core, layout at phone and desktop widths, Content-Security-Policy
violations, screenshots).

The fixtures (``browser``, ``context``, ``site``) are imported into tests/conftest.py, so every
test can ask for them.
"""

from __future__ import annotations

import os
import re
import shutil
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
WIDTHS = {"phone": 375, "desktop": 1280}
HEIGHT = 900
# Where `make screenshots` collects the pictures; unset, no screenshots are taken.
SCREENSHOTS_DIR = os.environ.get("SCREENSHOTS_DIR", "")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Chromium for one test module. Module-scoped, not session-scoped: while Playwright's sync
    API is active its asyncio loop runs in this thread, so Django must be told the ORM calls
    the tests make meanwhile are fine (DJANGO_ALLOW_ASYNC_UNSAFE); that is undone as soon as
    the module's browser closes, so no other test (or subprocess) inherits it."""
    from playwright.sync_api import sync_playwright

    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is not installed: run `make system-deps` (Debian: chromium)")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                ],
            )
            try:
                yield chromium
            finally:
                chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def site(live_server, settings):
    """The live server, with SITE_URL pointing at it so links in mail lead back to it."""
    settings.SITE_URL = live_server.url
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
    settings.CSRF_TRUSTED_ORIGINS = [live_server.url]
    return live_server


# Chromium reports each Content-Security-Policy violation (in a page or any of its frames,
# srcdoc iframes included) as a console message starting with this.
CSP_REFUSAL = re.compile(r"^Refused to |Content Security Policy")
_csp_messages: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def watch_csp(context) -> None:
    """Keep every CSP violation that the pages of ``context`` report, for ``check_page``."""
    messages: list = []
    _csp_messages[context] = messages

    def keep(message) -> None:
        if CSP_REFUSAL.search(message.text):
            messages.append(message)

    context.on("console", keep)


def csp_violations(page) -> list[str]:
    """The CSP violations ``page`` (and its frames) reported so far."""
    messages = _csp_messages.get(page.context)
    assert messages is not None, "call watch_csp(context) before opening the page"
    return [f"{m.location.get('url', '')}: {m.text}" for m in messages if m.page == page]


# Papers' thumbnails come from Hugging Face's CDN; in tests the browser gets our own logo
# instead, so no test reaches the network and screenshots show a picture where one belongs.
THUMBNAILS = "https://cdn-thumbnails.huggingface.co/**"
PLACEHOLDER_IMAGE = Path(__file__).resolve().parent.parent / "static" / "img" / "paperboy.svg"


def serve_thumbnails_locally(context) -> None:
    context.route(
        THUMBNAILS,
        lambda route: route.fulfill(
            status=200, content_type="image/svg+xml", body=PLACEHOLDER_IMAGE.read_bytes()
        ),
    )


@pytest.fixture
def context(browser) -> Iterator[object]:
    context = browser.new_context(viewport={"width": WIDTHS["desktop"], "height": HEIGHT})
    context.set_default_timeout(15_000)
    watch_csp(context)
    serve_thumbnails_locally(context)
    try:
        yield context
    finally:
        context.close()


def log_in(context, site, user) -> None:
    """Give the browser a logged-in session for ``user`` (no need to type a password)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": site.url}]
    )


def serious_violations(page) -> list[dict]:
    """axe-core's serious and critical findings on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through DevTools, not as a <script> tag: the page's CSP would refuse that.
        page.evaluate(AXE.read_text())
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"][:5]],
        }
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


def horizontal_overflow(page) -> int:
    """How many CSS pixels the page is wider than the viewport (0 when it fits)."""
    return page.evaluate(
        "() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth)"
    )


def screenshot(page, name: str, width_name: str) -> Path | None:
    if not SCREENSHOTS_DIR:
        return None
    directory = Path(SCREENSHOTS_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}-{width_name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def check_page(page, name: str) -> None:
    """At phone and desktop widths: no serious/critical axe finding, nothing wider than the
    screen; no Content-Security-Policy violation; a screenshot of each when SCREENSHOTS_DIR is
    set."""
    problems = [f"{name}: CSP violation {v}" for v in csp_violations(page)]
    for width_name, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": HEIGHT})
        page.wait_for_timeout(50)  # let layout settle after the resize
        overflow = horizontal_overflow(page)
        if overflow:
            problems.append(f"{name} at {width}px is {overflow}px wider than the screen")
        violations = serious_violations(page)
        if violations:
            problems.append(f"{name} at {width}px: {violations}")
        screenshot(page, name, width_name)
    assert not problems, "\n".join(problems)
