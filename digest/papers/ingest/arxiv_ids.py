"""arXiv identifiers: new style ``2609.26811v2`` and old style ``astro-ph/9904306v1``.

Papers are keyed by the id *without* its version, so every version and every source of a paper
lands on one row; the version is kept beside it.
"""

from __future__ import annotations

import re

# YYMM.NNNN (2007-2014) or YYMM.NNNNN (2015 on); archive[.SUBCLASS]/YYMMNNN before April 2007.
_NEW_STYLE = r"\d{4}\.\d{4,5}"
_OLD_STYLE = r"[a-z]+(?:-[a-z]+)?(?:\.[A-Z]{2})?/\d{7}"
_ID = rf"(?P<id>{_NEW_STYLE}|{_OLD_STYLE})(?:v(?P<version>\d{{1,4}}))?(?!\w)(?!\.\d)"

_BARE = re.compile(rf"{_ID}$")
# Where an id shows up inside links, OAI identifiers, citations and arXiv's own DOIs.
_EMBEDDED = re.compile(
    r"(?:arxiv\.org/(?:abs|pdf|html|format)/|oai:arxiv\.org:|arxiv:\s*|10\.48550/arxiv\.)"
    rf"{_ID}",
    re.IGNORECASE,
)


def parse_arxiv_id(text: str) -> tuple[str, int | None] | None:
    """``"2609.26811v1"`` → ``("2609.26811", 1)``; also accepts ``arXiv:`` prefixes and
    ``oai:arXiv.org:`` / abs / pdf URLs. ``None`` when ``text`` is not an arXiv id."""
    value = (text or "").strip()
    match = _BARE.match(value)
    if match is None:
        return find_arxiv_id(value)
    return _split(match)


def find_arxiv_id(text: str) -> tuple[str, int | None] | None:
    """The first arXiv id in a link or identifier: ``https://arxiv.org/abs/2205.06398v2``,
    ``oai:arXiv.org:2609.26811v1``, ``arXiv:hep-th/9901001``, ``10.48550/arXiv.2301.00001``."""
    match = _EMBEDDED.search(text or "")
    if match is None:
        return None
    return _split(match)


def _split(match: re.Match[str]) -> tuple[str, int | None]:
    arxiv_id = match.group("id")
    if arxiv_id[0].isalpha():
        # Archive names are lower case; the subject class (math.GT) is upper case.
        archive, _, number = arxiv_id.partition("/")
        name, dot, subject = archive.partition(".")
        arxiv_id = f"{name.lower()}{dot}{subject.upper()}/{number}"
    version = match.group("version")
    return arxiv_id, int(version) if version else None


def abs_url(arxiv_id: str) -> str:
    """The abstract page of the latest version: links in a digest never go stale."""
    return f"https://arxiv.org/abs/{arxiv_id}"


def pdf_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/pdf/{arxiv_id}"
