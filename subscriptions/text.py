"""The one tokenizer and normalizer: queries and papers both go through ``split``, so they never
disagree.

Text is folded first — Unicode NFKD, combining marks removed, case-folded (``Schrödinger`` →
``schrodinger``), every kind of hyphen made ``-``, apostrophes inside words dropped (``model's``
→ ``models``). A *word* is then a run of letters and digits; words joined by hyphens form a
*compound* (``zero-shot``). Each word is stemmed with the Snowball English stemmer (``models`` →
``model``); one rule runs first: an all-consonant acronym loses its plural ``s`` (``LLMs`` →
``llm``), which Snowball leaves alone because it looks for a vowel.

The words of a compound are kept as separate, adjacent words — so the phrase ``"zero shot"``
matches ``zero-shot`` — and the joined form (``zeroshot``) is indexed as well, so a query for
``zero-shot`` also finds a paper that writes ``zeroshot``.

Author names are split the same way but not stemmed; categories are lower-cased.
"""

from __future__ import annotations

import bisect
import functools
import re
import sys
import unicodedata
from dataclasses import dataclass

import snowballstemmer

# A compound: words of letters/digits joined by hyphens (after folding, every hyphen is "-").
COMPOUND_RE = re.compile(r"[^\W_]+(?:-[^\W_]+)*")
_WORD_RE = re.compile(r"[^\W_]+")
_HYPHENATED_RE = re.compile(r"[^\W_]+(?:-[^\W_]+)+")
# The same on ASCII text (most abstracts), where the Unicode classes are needlessly slow. The
# words of folded ASCII text are also its runs of [a-z0-9]: every other byte made a space, then
# split (twice as fast as the regular expression).
_ASCII_WORD_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789")
_NOT_WORD_ASCII = bytes(c if c in _ASCII_WORD_BYTES else ord(" ") for c in range(256))
_NOT_COMPOUND_ASCII = bytes(
    c if c in _ASCII_WORD_BYTES or c == ord("-") else ord(" ") for c in range(256)
)
# The same, on unfolded text, keeping apostrophes inside words (for highlighting spans).
_SPAN_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*(?:-[^\W_]+(?:['’][^\W_]+)*)*")
_RAW_WORD_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_APOSTROPHE_RE = re.compile(r"(?<=[^\W_])['’](?=[^\W_])")
_HYPHENS = {ord("‐"): "-", ord("‑"): "-"}  # U+2010 hyphen, U+2011 non-breaking hyphen
# Every combining mark, deleted by str.translate (much faster than testing each character).
_COMBINING = {code: None for code in range(sys.maxunicode + 1) if unicodedata.combining(chr(code))}
_VOWELS = frozenset("aeiouy")

_stemmer = snowballstemmer.stemmer("english")
_stem_cache: dict[str, str] = {}
_STEM_CACHE_LIMIT = 500_000


def fold(text: str) -> str:
    """Lower-case, accent-free text with one kind of hyphen and no apostrophes inside words."""
    if text.isascii():
        folded = text.lower()
    else:
        folded = unicodedata.normalize("NFKD", text).translate(_COMBINING).casefold()
        folded = folded.translate(_HYPHENS)
    if "'" in folded or "’" in folded:
        folded = _APOSTROPHE_RE.sub("", folded)
    return folded


def split(text: str) -> list[str]:
    """The compounds of ``text``, folded: ``"Zero-shot LLMs"`` → ``["zero-shot", "llms"]``.
    A compound without a hyphen is a single word."""
    return COMPOUND_RE.findall(fold(text))


def stem(word: str) -> str:
    """Stem of a folded word; cached because the vocabulary is small and Snowball is slow."""
    cached = _stem_cache.get(word)
    if cached is not None:
        return cached
    base = word
    if len(base) > 2 and base[-1] == "s" and base.isalpha() and not (_VOWELS & set(base[:-1])):
        base = base[:-1]  # LLMs → llm, CNNs → cnn
    # Interned: the same few thousand stems repeat across every paper and every query.
    result = sys.intern(_stemmer.stemWord(base))
    if len(_stem_cache) >= _STEM_CACHE_LIMIT:
        _stem_cache.clear()
    _stem_cache[word] = result
    return result


class FieldText:
    """A title or an abstract, analysed once.

    ``stems`` in reading order (phrases are checked against it); ``joined`` = stems of the
    joined compounds (``zeroshot``); ``present`` = the set of both, for membership; ``words`` =
    the distinct folded, unstemmed words and joined compounds, sorted, so a trailing wildcard is
    one binary search.
    """

    __slots__ = ("stems", "joined", "words", "present")

    def __init__(
        self,
        stems: tuple[str, ...],
        joined: tuple[str, ...],
        words: tuple[str, ...],
        present: frozenset[str] | None = None,
    ):
        self.stems = stems
        self.joined = joined
        self.words = words
        self.present = frozenset(stems).union(joined) if present is None else present

    def __repr__(self) -> str:
        return f"FieldText(stems={self.stems!r}, joined={self.joined!r})"

    def has_prefix(self, prefix: str) -> bool:
        words = self.words
        index = bisect.bisect_left(words, prefix)
        return index < len(words) and words[index].startswith(prefix)


def analyze(text: str) -> FieldText:
    # Equivalent to expanding ``split(text)`` (tests check it), in fewer Python steps: this runs
    # for every paper.
    folded = fold(text)
    ascii_only = folded.isascii()
    if ascii_only:
        words = folded.encode().translate(_NOT_WORD_ASCII).decode().split()
    else:
        words = _WORD_RE.findall(folded)
    cache = _stem_cache
    stems = tuple([cache.get(word) or stem(word) for word in words])
    present = frozenset(stems)
    joined_stems: tuple[str, ...] = ()
    if "-" in folded:
        if ascii_only:
            joined = _joined_ascii_compounds(folded)
        else:
            joined = [compound.replace("-", "") for compound in _HYPHENATED_RE.findall(folded)]
        if joined:
            words.extend(joined)
            # Joined stems are not in reading order: they only answer "is this word here".
            joined_stems = tuple([cache.get(word) or stem(word) for word in joined])
            present = present.union(joined_stems)
    # Interned: the recent papers kept in memory hold thousands of copies of the same words.
    distinct_words = tuple(sorted(map(sys.intern, set(words))))
    return FieldText(stems, joined_stems, distinct_words, present)


def _joined_ascii_compounds(folded: str) -> list[str]:
    """The hyphenated compounds of folded ASCII text, joined (``zero-shot`` → ``zeroshot``):
    what ``_HYPHENATED_RE`` finds, without its backtracking at every word (a third of the time
    of analysing a paper). A compound is a run of words each joined to the next by one hyphen."""
    joined = []
    tokens = folded.encode().translate(_NOT_COMPOUND_ASCII).decode().split()
    for token in tokens:
        if "-" not in token:
            continue
        run: list[str] = []
        for part in token.split("-"):  # "a--b-c" → a, "", b, c: the empty part ends a run
            if part:
                run.append(part)
                continue
            if len(run) > 1:
                joined.append("".join(run))
            run = []
        if len(run) > 1:
            joined.append("".join(run))
    return joined


@functools.lru_cache(maxsize=100_000)
def name_tokens(name: str) -> tuple[str, ...]:
    """Folded parts of a person's name, in order: ``"LeCun, Yann"`` → ``("lecun", "yann")``.
    Hyphenated given names split (``Jean-Pierre`` → ``jean``, ``pierre``); nothing is stemmed.
    Remembered: prolific authors are on many papers of a day."""
    return tuple(part for compound in split(name) for part in compound.split("-"))


def fold_category(category: str) -> str:
    return category.strip().lower()


@dataclass(frozen=True, slots=True)
class Span:
    """One word of a text, for highlighting: where it is, folded, and which hyphen-joined
    compound it belongs to (words of ``zero-shot`` share one ``compound`` number)."""

    start: int
    end: int
    word: str
    compound: int


def spans(text: str) -> list[Span]:
    """The words of ``text`` (which should be NFC-normalized) with their offsets in it."""
    result: list[Span] = []
    for number, match in enumerate(_SPAN_RE.finditer(text.translate(_HYPHENS))):
        offset = match.start()
        for part in _RAW_WORD_RE.finditer(match.group()):
            word = "".join(_WORD_RE.findall(fold(part.group())))
            if word:
                result.append(Span(offset + part.start(), offset + part.end(), word, number))
    return result
