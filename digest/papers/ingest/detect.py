"""Which parser a document needs, decided from its content alone.

Detection looks only at the head of the document, so a feed truncated mid-transfer is still
recognised and its parser can keep the entries before the break:

* a JSON list of objects with a ``"paper"`` key → Hugging Face daily papers;
* Atom with the arXiv and OpenSearch namespaces → the arXiv API;
* RSS or Atom with the arXiv namespace and announce types (or from rss.arxiv.org) → an arXiv
  listing feed;
* any other RSS, RSS 1.0 (RDF) or Atom → a generic feed;
* anything else (an HTML error page, an empty body, random bytes) → ``UnknownFormat`` with a
  message that says what the document looks like instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from digest.papers.models import Source

from . import arxiv_api, arxiv_feed, feeds, huggingface
from .records import ParseResult

HEAD_BYTES = 16 * 1024
_ARXIV_NS = "http://arxiv.org/schemas/atom"
_OPENSEARCH_NS = "a9.com/-/spec/opensearch"
# The first element after the prolog (XML declaration, comments, doctype).
_ROOT = re.compile(r"<(?![?!])(?:[\w.-]+:)?([\w.-]+)")
_HTML = re.compile(r"<(?:!doctype\s+html|html)[\s>]", re.IGNORECASE)

PARSERS: dict[str, Callable[[bytes], ParseResult]] = {
    Source.Kind.ARXIV_API: arxiv_api.parse,
    Source.Kind.ARXIV_FEED: arxiv_feed.parse,
    Source.Kind.HF_DAILY: huggingface.parse,
    Source.Kind.FEED: feeds.parse,
}


class UnknownFormat(ValueError):
    """The document is none of the formats Paperboy reads; the message says what it is."""


def _head_text(content: bytes) -> str:
    head = content[:HEAD_BYTES]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="replace")
    return head.decode("utf-8", errors="replace").lstrip("\ufeff")


def detect_format(content: bytes) -> str:
    """The ``Source.Kind`` whose parser reads ``content``; ``UnknownFormat`` otherwise."""
    head = _head_text(content).lstrip()
    if not head:
        raise UnknownFormat("the document is empty")
    if head[0] in "[{":
        return _detect_json(content, head)
    if head[0] == "<":
        return _detect_xml(head)
    snippet = head[:40].splitlines()[0]
    raise UnknownFormat(f"not JSON, RSS or Atom: it starts with {snippet!r}")


def _detect_json(content: bytes, head: str) -> str:
    try:
        data = huggingface.JSON.decode(content.decode("utf-8-sig"))
    except RecursionError as exc:
        if re.match(r'\[\s*\{\s*"paper"\s*:', head):
            return Source.Kind.HF_DAILY  # its parser keeps the entries before the deep one
        raise UnknownFormat("invalid JSON (nested too deeply to read)") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        # Truncated or broken JSON that starts like a daily-papers list: its parser keeps the
        # entries before the break.
        if re.match(r'\[\s*\{\s*"paper"\s*:', head):
            return Source.Kind.HF_DAILY
        raise UnknownFormat(f"invalid JSON ({exc})") from exc
    if isinstance(data, list) and all(isinstance(item, dict) and "paper" in item for item in data):
        return Source.Kind.HF_DAILY  # an empty list is a day without papers
    if isinstance(data, dict) and "error" in data:
        raise UnknownFormat(f"the server answered with an error: {str(data['error'])[:200]}")
    raise UnknownFormat(
        'JSON, but not a Hugging Face daily papers list (a list of objects with a "paper" key)'
    )


def _detect_xml(head: str) -> str:
    if _HTML.search(head[:1024]):
        raise UnknownFormat("an HTML page, not a feed")
    root_match = _ROOT.search(re.sub(r"<!--.*?-->", "", head, flags=re.DOTALL))
    root = root_match.group(1).lower() if root_match else ""
    has_arxiv_ns = _ARXIV_NS in head
    if root == "feed" and has_arxiv_ns and _OPENSEARCH_NS in head:
        return Source.Kind.ARXIV_API
    if (
        root in ("rss", "feed")
        and has_arxiv_ns
        and ("announce_type" in head or "rss.arxiv.org" in head)
    ):
        return Source.Kind.ARXIV_FEED
    if root in ("rss", "feed", "rdf"):
        return Source.Kind.FEED
    if root == "html":
        raise UnknownFormat("an HTML page, not a feed")
    raise UnknownFormat(f"XML, but not RSS or Atom (its root element is <{root or '?'}>)")


def parse_document(content: bytes, kind: str | None = None) -> ParseResult:
    """Parse ``content`` with the parser for ``kind``, detected from the content when omitted.
    Raises ``UnknownFormat`` when detection fails."""
    return PARSERS[kind or detect_format(content)](content)
