"""The arXiv API's Atom responses (``export.arxiv.org/api/query``).

Each ``<entry>`` is one paper at one version: ``<id>`` is its versioned abstract URL,
``<published>`` the date of version 1 and ``<updated>`` the date of this version. arXiv's
extension elements carry the primary category, comment, journal reference and DOI. A query
arXiv cannot answer comes back as a single entry whose id is under ``/api/errors``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from digest.papers.models import Source

from . import arxiv_ids
from .dates import parse_datetime
from .doi import normalize_doi
from .records import EntryError, PaperRecord, ParseResult, unreadable_entry
from .text import clean_names, clean_text
from .xmlread import ARXIV, ATOM, child_text, read_entries


class InvalidEntry(ValueError):
    """An entry Paperboy cannot use; the message says why."""


def parse(content: bytes) -> ParseResult:
    read = read_entries(content, frozenset({f"{ATOM}entry"}))
    result = ParseResult(kind=Source.Kind.ARXIV_API)
    for index, entry in enumerate(read.entries, start=1):
        try:
            result.records.append(parse_entry(entry))
        except InvalidEntry as exc:
            result.errors.append(EntryError(f"entry {index}", str(exc)))
        except Exception as exc:  # one entry's surprise must not cost the others
            result.errors.append(unreadable_entry(index, exc))
    if read.error:
        result.errors.append(read.error)
    return result


def parse_entry(entry: ET.Element) -> PaperRecord:
    raw_id = clean_text(child_text(entry, f"{ATOM}id"))
    if "/api/errors" in raw_id:
        raise InvalidEntry(f"arXiv API error: {clean_text(child_text(entry, f'{ATOM}summary'))}")
    parsed = arxiv_ids.parse_arxiv_id(raw_id)
    if parsed is None:
        raise InvalidEntry(f"no arXiv id in <id>{raw_id}</id>; skipped")
    arxiv_id, version = parsed
    title = clean_text(child_text(entry, f"{ATOM}title"))
    if not title:
        raise InvalidEntry(f"{arxiv_id} has no title; skipped")

    categories: list[str] = []
    for category in entry.findall(f"{ATOM}category"):
        term = clean_text(category.get("term"))
        if term and term not in categories:
            categories.append(term)
    primary = entry.find(f"{ARXIV}primary_category")
    primary_category = clean_text(primary.get("term")) if primary is not None else ""

    pdf_url = ""
    doi = normalize_doi(child_text(entry, f"{ARXIV}doi"))
    for link in entry.findall(f"{ATOM}link"):
        href = link.get("href", "")
        if link.get("title") == "pdf" or "/pdf/" in href:
            # Linked to the latest version, like the abstract page (see arxiv_ids.abs_url).
            pdf_url = arxiv_ids.pdf_url(arxiv_id)
        elif not doi and (link.get("title") == "doi" or "doi.org/" in href):
            doi = normalize_doi(href)

    return PaperRecord(
        arxiv_id=arxiv_id,
        arxiv_version=version,
        title=title,
        abstract=clean_text(child_text(entry, f"{ATOM}summary")),
        authors=clean_names(
            [child_text(author, f"{ATOM}name") for author in entry.findall(f"{ATOM}author")]
        ),
        categories=categories,
        primary_category=primary_category or (categories[0] if categories else ""),
        comment=clean_text(child_text(entry, f"{ARXIV}comment")),
        journal_ref=clean_text(child_text(entry, f"{ARXIV}journal_ref")),
        doi=doi,
        published_at=parse_datetime(child_text(entry, f"{ATOM}published")),
        updated_at=parse_datetime(child_text(entry, f"{ATOM}updated")),
        abs_url=arxiv_ids.abs_url(arxiv_id),
        pdf_url=pdf_url,
    )
