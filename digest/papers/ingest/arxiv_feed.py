"""arXiv's daily listing feeds, RSS 2.0 (``rss.arxiv.org/rss/<cats>``) and Atom
(``rss.arxiv.org/atom/<cats>``).

Each item is one announcement of the day. ``arxiv:announce_type`` says which kind: ``new``
(first version, in its primary category), ``cross`` (a new paper cross-listed here),
``replace`` / ``replace-cross`` (a new version of a paper announced before). The abstract sits
in the description after ``arXiv:<id>v<n> Announce Type: <type>``; authors are one
comma-separated ``dc:creator``; the item date is the announcement day. The first category is
the primary one (arXiv lists it first). Feeds are empty on weekends and holidays.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from digest.papers.models import Source

from . import arxiv_ids
from .dates import local_date
from .doi import normalize_doi
from .records import EntryError, PaperRecord, ParseResult, unreadable_entry
from .text import clean_text, split_authors
from .xmlread import ARXIV, ATOM, DC, child_text, read_entries

# "arXiv:2609.26811v1 Announce Type: new \nAbstract: Local learning trains ..."
DESCRIPTION = re.compile(
    r"^\s*arXiv:(?P<id>\S+)\s+Announce Type:\s*(?P<type>[\w-]+)\s*"
    r"(?:Abstract:)?\s*(?P<abstract>.*)$",
    re.DOTALL | re.IGNORECASE,
)


class InvalidEntry(ValueError):
    """An entry Paperboy cannot use; the message says why."""


def parse(content: bytes) -> ParseResult:
    read = read_entries(content, frozenset({"item", f"{ATOM}entry"}))
    result = ParseResult(kind=Source.Kind.ARXIV_FEED)
    for index, element in enumerate(read.entries, start=1):
        try:
            read_item = _from_rss_item if element.tag == "item" else _from_atom_entry
            record = read_item(element)
        except InvalidEntry as exc:
            result.errors.append(EntryError(f"entry {index}", str(exc)))
            continue
        except Exception as exc:  # one entry's surprise must not cost the others
            result.errors.append(unreadable_entry(index, exc))
            continue
        result.records.append(record)
    if read.error:
        result.errors.append(read.error)
    return result


def _from_rss_item(item: ET.Element) -> PaperRecord:
    return _record(
        title=child_text(item, "title"),
        identifiers=[child_text(item, "guid"), child_text(item, "link")],
        description=child_text(item, "description"),
        announce_type=child_text(item, f"{ARXIV}announce_type"),
        categories=[clean_text(category.text) for category in item.findall("category")],
        creators=[creator.text or "" for creator in item.findall(f"{DC}creator")],
        date=child_text(item, "pubDate"),
        doi=_first_text(item, f"{ARXIV}DOI", f"{ARXIV}doi"),
        journal_ref=_first_text(item, f"{ARXIV}journal_reference", f"{ARXIV}journal_ref"),
    )


def _from_atom_entry(entry: ET.Element) -> PaperRecord:
    links = [link.get("href", "") for link in entry.findall(f"{ATOM}link")]
    creators = [creator.text or "" for creator in entry.findall(f"{DC}creator")]
    if not creators:
        creators = [child_text(author, f"{ATOM}name") for author in entry.findall(f"{ATOM}author")]
    return _record(
        title=child_text(entry, f"{ATOM}title"),
        identifiers=[child_text(entry, f"{ATOM}id"), *links],
        description=child_text(entry, f"{ATOM}summary"),
        announce_type=child_text(entry, f"{ARXIV}announce_type"),
        categories=[clean_text(c.get("term")) for c in entry.findall(f"{ATOM}category")],
        creators=creators,
        date=child_text(entry, f"{ATOM}published") or child_text(entry, f"{ATOM}updated"),
        doi=_first_text(entry, f"{ARXIV}DOI", f"{ARXIV}doi"),
        journal_ref=_first_text(entry, f"{ARXIV}journal_reference", f"{ARXIV}journal_ref"),
    )


def _first_text(element: ET.Element, *tags: str) -> str:
    for tag in tags:
        value = child_text(element, tag)
        if value.strip():
            return value
    return ""


def _record(
    *,
    title: str,
    identifiers: list[str],
    description: str,
    announce_type: str,
    categories: list[str],
    creators: list[str],
    date: str,
    doi: str,
    journal_ref: str,
) -> PaperRecord:
    described = DESCRIPTION.match(description or "")
    abstract = described.group("abstract") if described else description
    if described:
        identifiers.append(f"arXiv:{described.group('id')}")
    found = [arxiv_ids.parse_arxiv_id(identifier) for identifier in identifiers if identifier]
    found = [ids for ids in found if ids]
    clean_title = clean_text(title)
    if not found:
        raise InvalidEntry(f"no arXiv id in {clean_title[:80]!r}; skipped")
    arxiv_id = found[0][0]
    # The guid and the description carry the version; the link does not.
    version = next((v for i, v in found if i == arxiv_id and v is not None), None)
    if not clean_title:
        raise InvalidEntry(f"{arxiv_id} has no title; skipped")

    kind = clean_text(announce_type).lower() or (
        described.group("type").lower() if described else ""
    )
    kind = kind[:20]  # the column's size; known types are shorter
    unique_categories: list[str] = []
    for category in categories:
        if category and category not in unique_categories:
            unique_categories.append(category)
    authors: list[str] = []
    for creator in creators:
        authors.extend(split_authors(creator))

    return PaperRecord(
        arxiv_id=arxiv_id,
        arxiv_version=version,
        title=clean_title,
        abstract=clean_text(abstract),
        authors=authors,
        categories=unique_categories,
        primary_category=unique_categories[0] if unique_categories else "",
        journal_ref=clean_text(journal_ref),
        doi=normalize_doi(doi),
        announced_on=local_date(date),
        announce_type=kind,
        abs_url=arxiv_ids.abs_url(arxiv_id),
        pdf_url=arxiv_ids.pdf_url(arxiv_id),
    )
