"""Real titles and abstracts from tests/fixtures/hf_papers_pages.jsonl, as Paper rows."""

from __future__ import annotations

import functools
import json
from pathlib import Path

from tests.factories import PaperFactory

CORPUS = Path(__file__).parent / "fixtures" / "hf_papers_pages.jsonl"


@functools.cache
def real_rows() -> tuple[dict, ...]:
    """The distinct papers of the recording (some pages list a paper twice)."""
    rows: dict[str, dict] = {}
    with open(CORPUS, encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            rows.setdefault(row["title"], row)
    return tuple(rows.values())


def real_row(title_start: str) -> dict:
    matches = [row for row in real_rows() if row["title"].startswith(title_start)]
    assert len(matches) == 1, f"{title_start!r} names {len(matches)} recorded papers"
    return matches[0]


def real_paper(title_start: str, **fields):
    """A Paper with the recorded title and abstract of the paper whose title starts so."""
    row = real_row(title_start)
    return PaperFactory(title=row["title"], abstract=row["abstract"], **fields)
