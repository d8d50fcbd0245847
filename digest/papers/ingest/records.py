"""What every parser returns: plain records, independent of the database.

A parser turns one document (a feed, an API response, a JSON list) into a ``ParseResult``: the
``PaperRecord`` of each valid entry plus an ``EntryError`` for each entry it had to skip and for
a break in the document itself (truncated XML, invalid JSON). Entries read before such a break
are still returned, so a partial feed ingests what is valid.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)


@dataclass
class PaperRecord:
    """One paper as a source described it. Empty strings and ``None`` mean "this source does
    not say", never "this field is empty": the store only writes what a source knows."""

    title: str
    arxiv_id: str = ""  # without the version: "2609.26811", "astro-ph/9904306"
    arxiv_version: int | None = None
    doi: str = ""
    link: str = ""  # the entry's own link, the key of last resort for generic feeds
    abstract: str = ""
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    primary_category: str = ""
    comment: str = ""
    journal_ref: str = ""
    published_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    announced_on: dt.date | None = None
    announce_type: str = ""  # arXiv listings: new, cross, replace, replace-cross
    abs_url: str = ""
    pdf_url: str = ""
    code_url: str = ""
    hf_url: str = ""
    upvotes: int | None = None
    # Hugging Face's daily papers: the day it listed the paper, who submitted it, for which
    # organisation, and its picture.
    hf_daily_on: dt.date | None = None
    hf_submitter: str = ""
    hf_organization: str = ""
    thumbnail_url: str = ""

    @property
    def key(self) -> str:
        """The identity every source agrees on: the arXiv id, else the DOI, else the link."""
        if self.arxiv_id:
            return f"arxiv:{self.arxiv_id}"
        if self.doi:
            return f"doi:{self.doi.lower()}"
        if self.link:
            return f"url:{self.link}"
        return ""

    @property
    def is_replacement(self) -> bool:
        # "replace" and "replace-cross"; older documentation spells it "replacement".
        return self.announce_type.startswith("replace")


@dataclass(frozen=True)
class EntryError:
    """Why one entry (or the document) could not be used, in words a curator understands."""

    where: str  # "entry 3", "line 57, column 4"
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def unreadable_entry(index: int, exc: Exception) -> EntryError:
    """An entry whose reading failed in a way no parser rule foresaw: it is skipped and named,
    the entries around it are kept (the worker log has the traceback)."""
    logger.warning("entry %s could not be read", index, exc_info=exc)
    return EntryError(f"entry {index}", f"could not be read ({exc.__class__.__name__}: {exc})")


@dataclass
class ParseResult:
    kind: str  # a digest.models.Source.Kind value
    records: list[PaperRecord] = field(default_factory=list)
    errors: list[EntryError] = field(default_factory=list)
