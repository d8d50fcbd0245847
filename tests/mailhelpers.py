"""Reading links back out of real emails the tests received."""

from __future__ import annotations

import re
from email.message import EmailMessage
from urllib.parse import urlsplit

URL = re.compile(r"https?://[^\s<>\"']+")


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def html_of(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()


def links_in(message: EmailMessage) -> list[str]:
    return URL.findall(text_of(message))


def path_of(url: str) -> str:
    """The path (and query) of an absolute link, for Django's test client."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def link_containing(message: EmailMessage, fragment: str) -> str:
    for url in links_in(message):
        if fragment in url:
            return url
    raise AssertionError(f"no link containing {fragment!r} in:\n{text_of(message)}")
