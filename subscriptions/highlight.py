"""Marking the words that made a paper match, in HTML that is safe whatever the text contains.

``highlight(text, hits)`` re-reads each hit's term with the matcher's own tokenizer and stemmer,
so it marks exactly what matched: ``model`` marks "models", ``zero-shot`` marks "zero shot" and
"Zero-shot", ``diffus*`` marks "diffusion". Author and category hits mark nothing in a text.
Everything is escaped; the only markup is the ``<mark>`` tags added here.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from subscriptions.text import spans, split, stem

TEXT_FIELDS = {"title", "abstract", "text", ""}


@functools.lru_cache(maxsize=4096)
def _patterns(term: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """What a hit's term marks, as the matcher reads it: ("prefix", (folded word,)) or
    ("stems", stems in a row); a hyphenated term also marks its joined form."""
    term = term.strip().strip('"').strip()
    if term.endswith("*"):
        words = [part for compound in split(term[:-1]) for part in compound.split("-")]
        return (("prefix", (words[-1],)),) if words else ()
    compounds = split(term)
    words = [part for compound in compounds for part in compound.split("-")]
    if not words:
        return ()
    found = [("stems", tuple(stem(word) for word in words))]
    if len(compounds) == 1 and len(words) > 1:
        found.append(("stems", (stem("".join(words)),)))
    return tuple(found)


def highlight(text: str, hits: Iterable[Mapping[str, str]]) -> SafeString:
    """``text`` as HTML with the words of every title/abstract hit wrapped in ``<mark>``."""
    text = unicodedata.normalize("NFC", text or "")
    patterns = {
        pattern
        for hit in hits
        if str(hit.get("field", "")) in TEXT_FIELDS
        for pattern in _patterns(str(hit.get("term", "")))
    }
    marked = _marked_ranges(text, patterns) if patterns else []
    parts: list[str] = []
    position = 0
    for start, end in marked:
        parts.append(escape(text[position:start]))
        parts.append(f"<mark>{escape(text[start:end])}</mark>")
        position = end
    parts.append(escape(text[position:]))
    return mark_safe("".join(parts))  # noqa: S308 - every piece is escaped above


class _Analysed(NamedTuple):
    """A text's words, looked up by stem: marking a set of terms costs what they match, not a
    pass over the text per term (one abstract is highlighted for many different term sets)."""

    words: tuple
    stems: tuple[str, ...]
    by_stem: dict[str, list[int]]  # stem -> positions of the words with it
    # Hyphen-joined groups of two or more words, for their joined form ("zeroshot" marks
    # "zero-shot"): (start, end, joined word, stem of the joined word).
    groups: tuple[tuple[int, int, str, str], ...]


@functools.lru_cache(maxsize=4096)
def _analysed(text: str) -> _Analysed:
    words = tuple(spans(text))
    stems = tuple(stem(span.word) for span in words)
    by_stem: dict[str, list[int]] = {}
    for index, word_stem in enumerate(stems):
        by_stem.setdefault(word_stem, []).append(index)
    members: dict[int, list[int]] = {}
    for index, span in enumerate(words):
        members.setdefault(span.compound, []).append(index)
    groups = []
    for group in members.values():
        if len(group) > 1:
            joined = "".join(words[i].word for i in group)
            groups.append((words[group[0]].start, words[group[-1]].end, joined, stem(joined)))
    return _Analysed(words, stems, by_stem, tuple(groups))


def _marked_ranges(text: str, patterns: set) -> list[tuple[int, int]]:
    words, stems, by_stem, groups = _analysed(text)
    ranges: list[tuple[int, int]] = []
    for kind, value in patterns:
        if kind == "prefix":
            prefix = value[0]
            ranges.extend((s.start, s.end) for s in words if s.word.startswith(prefix))
            ranges.extend(
                (start, end) for start, end, joined, _ in groups if joined.startswith(prefix)
            )
            continue
        length = len(value)
        for index in by_stem.get(value[0], ()):
            if stems[index : index + length] == value:
                ranges.append((words[index].start, words[index + length - 1].end))
        if length == 1:
            ranges.extend((start, end) for start, end, _, joined in groups if joined == value[0])
    return _merge(ranges)


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
