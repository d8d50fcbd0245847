"""Dates as feeds write them: ISO 8601 (Atom, JSON) and RFC 822 (RSS).

A date that cannot be read is ``None``, not an error: a paper with an odd date is still a paper.
So is a date that cannot be stored (before year 1 or after 9999 once in UTC). Datetimes without
a zone are taken as UTC.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time

from dateutil import parser as dateutil_parser


def _aware(value: dt.datetime) -> dt.datetime:
    value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    # Stored in UTC: "0001-01-01T00:00:00+14:00" is a day before year 1 there, which no
    # datetime (and no database) holds. Such a date cannot be used; OverflowError says so.
    value.astimezone(dt.UTC)
    return value


def parse_datetime(text: str | None) -> dt.datetime | None:
    """``2004-08-18T23:13:32Z``, ``2026-07-29T00:00:00.000Z``, ``Thu, 24 Sep 2026 00:00:00
    -0400`` → an aware datetime, keeping the offset it was written with."""
    value = (text or "").strip()
    if not value:
        return None
    try:
        return _aware(dt.datetime.fromisoformat(value))
    except (ValueError, OverflowError):
        pass
    try:
        return _aware(email.utils.parsedate_to_datetime(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        pass
    try:
        return _aware(dateutil_parser.parse(value))
    except (ValueError, OverflowError):
        return None


def local_date(text: str | None) -> dt.date | None:
    """The calendar day as the feed wrote it: arXiv announces ``Thu, 24 Sep 2026 00:00:00
    -0400``, which is the 24th in New York even though it is already 04:00 UTC."""
    value = parse_datetime(text)
    return value.date() if value else None


def from_struct_time(value: time.struct_time | None) -> dt.datetime | None:
    """feedparser's ``*_parsed`` fields are UTC ``struct_time``s."""
    if not value:
        return None
    try:
        return dt.datetime(*value[:6], tzinfo=dt.UTC)
    except (TypeError, ValueError):
        return None
