"""Any RSS or Atom feed (journals, blogs, preprint servers), read with feedparser.

An entry that points at arXiv (abs/pdf link, ``arXiv:`` id, arXiv DOI) is keyed by its arXiv
id, so it merges with what the arXiv feeds say about the same paper; otherwise by its DOI, and
as a last resort by its link.

feedparser reads broken feeds leniently and would return the half of an entry a truncated
download cut off. A strict pass over the same bytes counts the entries that were complete
before the break, and only those are kept.
"""

from __future__ import annotations

import io
from typing import Any

import feedparser

from digest.papers.models import Source

from . import arxiv_ids
from .arxiv_feed import DESCRIPTION
from .dates import from_struct_time
from .doi import normalize_doi
from .records import EntryError, PaperRecord, ParseResult, unreadable_entry
from .text import clean_names, clean_text, split_authors
from .xmlread import ATOM, RSS1, read_entries, replace_invalid_references

_ENTRY_TAGS = frozenset({"item", f"{ATOM}entry", f"{RSS1}item"})


class InvalidEntry(ValueError):
    """An entry Paperboy cannot use; the message says why."""


def parse(content: bytes) -> ParseResult:
    content = replace_invalid_references(content)  # both passes read the same document
    strict = read_entries(content, _ENTRY_TAGS)
    # A stream, never a string: feedparser treats a string as a URL or a file name to open.
    feed = feedparser.parse(io.BytesIO(content), sanitize_html=True, resolve_relative_uris=True)
    entries = list(feed.entries)
    if strict.truncated:
        entries = entries[: len(strict.entries)]
    result = ParseResult(kind=Source.Kind.FEED)
    for index, entry in enumerate(entries, start=1):
        try:
            result.records.append(parse_entry(entry))
        except InvalidEntry as exc:
            result.errors.append(EntryError(f"entry {index}", str(exc)))
        except Exception as exc:  # one entry's surprise must not cost the others
            result.errors.append(unreadable_entry(index, exc))
    if strict.error and strict.reason and not strict.truncated:
        # Not cut off but not well-formed either: feedparser recovered what it could.
        result.errors.append(
            EntryError(
                strict.error.where,
                f"the XML is malformed ({strict.reason}); read leniently, "
                f"{len(entries)} entries recovered",
            )
        )
    elif strict.error:
        result.errors.append(strict.error)
    return result


def parse_entry(entry: Any) -> PaperRecord:
    title = clean_text(entry.get("title"))
    link = entry.get("link") or ""
    if not link.startswith(("https://", "http://")):
        entry_id = entry.get("id") or ""
        link = entry_id if entry_id.startswith(("https://", "http://")) else ""
    hrefs = [link.get("href") or "" for link in entry.get("links") or []]
    identifiers = [
        entry.get("id") or "",
        entry.get("link") or "",
        *hrefs,
        entry.get("dc_identifier") or "",
        entry.get("prism_doi") or "",
        entry.get("arxiv_doi") or "",
    ]
    found = next(
        (ids for ids in (arxiv_ids.find_arxiv_id(text) for text in identifiers) if ids), None
    )
    arxiv_id, version = found if found else ("", None)
    # arXiv's own DOIs (10.48550/arXiv.<id>) are the arXiv id again, not a publication.
    dois = [normalize_doi(text) for text in identifiers]
    doi = next((d for d in dois if d and not d.lower().startswith("10.48550/")), "")
    if not (arxiv_id or doi or link):
        raise InvalidEntry(f"{title[:80]!r} has no arXiv id, DOI or link; skipped")
    if not title:
        raise InvalidEntry(f"{arxiv_id or doi or link} has no title; skipped")

    authors = clean_names([author.get("name") for author in entry.get("authors") or []])
    if len(authors) == 1:
        # One dc:creator holding the whole byline.
        authors = split_authors(authors[0], guess_surname_first=True)
    categories: list[str] = []
    for tag in entry.get("tags") or []:
        term = clean_text(tag.get("term"))
        if term and term not in categories:
            categories.append(term)
    abstract = entry.get("summary") or ""
    if not abstract and entry.get("content"):
        abstract = entry["content"][0].get("value", "")
    announced = DESCRIPTION.match(abstract)  # an arXiv listing read as a generic feed
    if announced:
        abstract = announced.group("abstract")

    return PaperRecord(
        arxiv_id=arxiv_id,
        arxiv_version=version,
        doi=doi,
        link=link,
        title=title,
        abstract=clean_text(abstract),
        authors=authors,
        categories=categories,
        published_at=from_struct_time(entry.get("published_parsed")),
        # dict.get: feedparser's own get() would answer the published date instead.
        updated_at=from_struct_time(dict.get(entry, "updated_parsed")),
        announce_type=clean_text(entry.get("arxiv_announce_type")).lower(),
        abs_url=arxiv_ids.abs_url(arxiv_id) if arxiv_id else link,
        pdf_url=arxiv_ids.pdf_url(arxiv_id) if arxiv_id else "",
    )
