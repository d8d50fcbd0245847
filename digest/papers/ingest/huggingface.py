"""Hugging Face daily papers (``huggingface.co/api/daily_papers``): a JSON list of objects whose
``paper`` holds the arXiv id (``paper.id``), title, summary, authors, upvotes and the code
repository (``githubRepo``). Hugging Face adds community signal to arXiv papers; the store
merges it into the arXiv row instead of creating a second paper.

What the daily page shows comes from here too: the day Hugging Face listed the paper
(``paper.submittedOnDailyAt``, else the item's ``publishedAt``), who submitted it
(``submittedBy``), for which organisation (``organization``) and its picture (``thumbnail``,
kept only from ``settings.PAPER_THUMBNAIL_HOST``: the one image host the pages'
Content-Security-Policy allows besides the site itself).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from digest.papers.models import Source

from . import arxiv_ids
from .dates import local_date, parse_datetime
from .records import EntryError, PaperRecord, ParseResult, unreadable_entry
from .text import clean_names, clean_text


class InvalidEntry(ValueError):
    """An entry Paperboy cannot use; the message says why."""


def _bounded_int(digits: str) -> int | None:
    """A JSON integer, unless it is longer than any count: Python refuses to convert more than
    4,300 digits (ValueError), and no upvote count has 20. Such a number reads as absent."""
    return int(digits) if len(digits.lstrip("-")) <= 20 else None


# The Paper columns these go into.
MAX_NAME_CHARS = 200

# Reads every JSON document ingest sees (detection too).
JSON = json.JSONDecoder(parse_int=_bounded_int)


def parse(content: bytes) -> ParseResult:
    items, error = read_json_list(content)
    result = ParseResult(kind=Source.Kind.HF_DAILY)
    for index, item in enumerate(items, start=1):
        try:
            result.records.append(parse_item(item))
        except InvalidEntry as exc:
            result.errors.append(EntryError(f"entry {index}", str(exc)))
        except Exception as exc:  # one entry's surprise must not cost the others
            result.errors.append(unreadable_entry(index, exc))
    if error:
        result.errors.append(error)
    return result


def hf_url(arxiv_id: str) -> str:
    return f"https://huggingface.co/papers/{arxiv_id}"


def parse_item(item: Any) -> PaperRecord:
    if not isinstance(item, dict) or not isinstance(item.get("paper"), dict):
        raise InvalidEntry('not a daily paper (no "paper" object); skipped')
    paper = item["paper"]
    parsed = arxiv_ids.parse_arxiv_id(str(paper.get("id") or ""))
    if parsed is None:
        raise InvalidEntry(f"paper.id {paper.get('id')!r} is not an arXiv id; skipped")
    arxiv_id, version = parsed
    title = clean_text(paper.get("title") or item.get("title"))
    if not title:
        raise InvalidEntry(f"{arxiv_id} has no title; skipped")
    authors = paper.get("authors") if isinstance(paper.get("authors"), list) else []
    upvotes = paper.get("upvotes")
    code_url = paper.get("githubRepo")
    thumbnail = item.get("thumbnail")
    listed_on = local_date(str(paper.get("submittedOnDailyAt") or item.get("publishedAt") or ""))
    return PaperRecord(
        arxiv_id=arxiv_id,
        arxiv_version=version,
        title=title,
        abstract=clean_text(paper.get("summary") or item.get("summary")),
        authors=clean_names([a.get("name") for a in authors if isinstance(a, dict)]),
        # paper.publishedAt is the arXiv submission date; the item's is Hugging Face's own.
        published_at=parse_datetime(str(paper.get("publishedAt") or "")),
        abs_url=arxiv_ids.abs_url(arxiv_id),
        pdf_url=arxiv_ids.pdf_url(arxiv_id),
        code_url=code_url if _is_web_url(code_url) else "",
        hf_url=hf_url(arxiv_id),
        upvotes=upvotes if isinstance(upvotes, int) and upvotes >= 0 else None,
        # The day of Hugging Face's list ("2026-08-03T00:00:00.000Z"): its days are UTC dates.
        announced_on=listed_on,
        hf_daily_on=listed_on,
        hf_submitter=_name(item.get("submittedBy") or paper.get("submittedOnDailyBy")),
        hf_organization=_name(item.get("organization") or paper.get("organization")),
        thumbnail_url=thumbnail if _is_thumbnail(thumbnail) else "",
    )


def _name(who: object) -> str:
    """A Hugging Face user or organisation as people know it: the full name, else the handle."""
    if not isinstance(who, dict):
        return ""
    name = clean_text(who.get("fullname")) or clean_text(who.get("name"))
    return name[:MAX_NAME_CHARS]


def _is_thumbnail(value: object) -> bool:
    if not _is_web_url(value) or len(str(value)) > 1000:
        return False
    try:
        parts = urlsplit(str(value))
        host = parts.hostname
    except ValueError:  # "https://[not-an-address]/": not a URL, not a reason to lose the entry
        return False
    return parts.scheme == "https" and host == settings.PAPER_THUMBNAIL_HOST


def _is_web_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("https://", "http://")) and " " not in value


def read_json_list(content: bytes) -> tuple[list[Any], EntryError | None]:
    """The items of a JSON list, one by one, so that a truncated download still yields the
    items before the break, plus an error that says where it broke."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], EntryError("document", f"not UTF-8 text ({exc.reason} at byte {exc.start})")
    items: list[Any] = []

    def fail(position: int, message: str) -> tuple[list[Any], EntryError]:
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
        read = f"{len(items)} complete entries before it were read"
        return items, EntryError(f"line {line}, column {column}", f"{message}; {read}")

    position = _skip_space(text, 0)
    if position >= len(text) or text[position] != "[":
        return fail(position, "expected a JSON list of daily papers")
    position = _skip_space(text, position + 1)
    if text.startswith("]", position):
        position += 1
    else:
        while True:
            try:
                item, position = JSON.raw_decode(text, position)
            except json.JSONDecodeError as exc:
                if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
                    return fail(exc.pos, f"the document ends early ({exc.msg})")
                return fail(exc.pos, f"the JSON is broken ({exc.msg})")
            except RecursionError:
                # Arrays in arrays 200,000 deep: Python's JSON reader gives up; so do we.
                return fail(position, "the JSON is nested too deeply to read")
            items.append(item)
            position = _skip_space(text, position)
            if text.startswith(",", position):
                position = _skip_space(text, position + 1)
                continue
            if text.startswith("]", position):
                position += 1
                break
            if position >= len(text):
                return fail(position, "the document ends early (the list is not closed)")
            return fail(position, "the JSON is broken (expected ',' or ']')")
    position = _skip_space(text, position)
    if position < len(text):
        return fail(position, "unexpected data after the list")
    return items, None


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position
