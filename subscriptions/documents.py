"""A paper as the matcher reads it (``PaperDoc``), the keys it is looked up by, and the text
forms stored in ``PaperAnalysis`` so that a paper is analysed once for every process.

**Keys.** The percolator and the recent papers look papers up by keys: each stem of the title
and the abstract, each pair of adjacent stems (``("zero", "shot")``, for phrases), author keys
(see ``author_keys``) and every prefix of every category (``cs.CV`` → ``c``, ``cs``, ``cs.``,
``cs.c``, ``cs.cv``). Marks keep the kinds apart in one set (stems never contain them); a
query's wildcard is a ``PREFIX_KEY`` condition, answered from the paper's words.

**Stored forms.** ``to_json`` is the whole analysis (``from_json`` reads it back without
analysing anything); ``stem_text``, ``name_text``, ``pair_text`` and ``word_text`` are the
paper's keys — its stems, its authors' and categories' keys, its pairs of adjacent stems, its
words — one per line, so that the papers holding a key, a pair or a word starting with a prefix
are found with a substring search over the texts of all the recent papers, without decoding any
of them (see ``subscriptions.recent``). Bump
``ANALYSIS_VERSION`` whenever the analysis (``subscriptions.text``) or these forms change: stored
analyses of another version are analysed again.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from subscriptions.text import FieldText, analyze, fold_category, name_tokens

ANALYSIS_VERSION = 1

AUTHOR_KEY = "\x01"
CATEGORY_KEY = "\x02"
PREFIX_KEY = "\x03"  # only in a query's conditions: a wildcard, answered from the words
SEPARATOR = "\n"  # between the lines of the stored texts


class PaperDoc:
    """A paper analysed for matching: title and abstract (stems in order, the set of stems,
    sorted folded words for wildcards), authors as (name, folded parts), categories as
    (folded, as written)."""

    __slots__ = ("title", "abstract", "authors", "categories")

    def __init__(
        self,
        title: str = "",
        abstract: str = "",
        authors: Sequence[str] = (),
        categories: Sequence[str] = (),
    ):
        self.title: FieldText = analyze(title or "")
        self.abstract: FieldText = analyze(abstract or "")
        self.authors = tuple((name, name_tokens(name)) for name in authors or () if name)
        self.categories = tuple(
            (fold_category(category), category) for category in categories or () if category
        )

    @classmethod
    def from_paper(cls, paper: Any) -> PaperDoc:
        return cls(paper.title, paper.abstract, paper.authors, paper.categories)

    def keys(self, *, pairs: bool = True) -> set[str | tuple[str, str]]:
        """The lookup keys: stems, adjacent stem pairs (unless ``pairs`` is false), author keys
        and category prefixes."""
        title, abstract = self.title, self.abstract
        keys: set[str | tuple[str, str]] = set(title.present)
        keys.update(abstract.present)
        if pairs:
            keys.update(bigrams(title.stems), bigrams(abstract.stems))
        for _, parts in self.authors:
            keys.update([AUTHOR_KEY + key for key in author_keys(parts)])
        for folded, _ in self.categories:
            keys.update([CATEGORY_KEY + folded[:end] for end in range(1, len(folded) + 1)])
        return keys

    def words(self) -> set[str]:
        return set(self.title.words).union(self.abstract.words)

    def to_json(self) -> str:
        fields = [
            [list(field.stems), list(field.joined), list(field.words)]
            for field in (self.title, self.abstract)
        ]
        authors = [[name, list(parts)] for name, parts in self.authors]
        categories = [list(category) for category in self.categories]
        return json.dumps([*fields, authors, categories], ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> PaperDoc:
        title, abstract, authors, categories = json.loads(text)
        doc = cls.__new__(cls)
        doc.title, doc.abstract = _field(*title), _field(*abstract)
        doc.authors = tuple((name, _interned(parts)) for name, parts in authors)
        doc.categories = tuple((folded, written) for folded, written in categories)
        return doc

    def stem_text(self) -> str:
        """``"\\nstem\\nstem\\n…"``: the stems of the title and the abstract, sorted;
        ``"\\n" + stem + "\\n"`` is in it exactly when the paper has the stem."""
        return _lines(self.title.present.union(self.abstract.present))

    def name_text(self) -> str:
        """The author and category keys, as ``stem_text`` has the stems. (A category with a line
        break in it cannot be looked up, so its keys are left out.)"""
        keys = self.keys(pairs=False).difference(self.title.present, self.abstract.present)
        return _lines(key for key in keys if SEPARATOR not in key)

    def pair_text(self) -> str:
        """``"\\nstem stem\\n…"``: the pairs of adjacent stems of the title and of the abstract,
        sorted; ``"\\n" + first + " " + second + "\\n"`` is in it exactly when the paper has
        the pair (stems never contain spaces)."""
        pairs = set(bigrams(self.title.stems)).union(bigrams(self.abstract.stems))
        return _lines(first + " " + second for first, second in pairs)

    def word_text(self) -> str:
        """``"\\nword\\nword\\n…"``: the words, sorted; ``"\\n" + prefix`` is in it exactly when
        the paper has a word starting with ``prefix``."""
        return _lines(self.words())


def _lines(keys: Iterable[str]) -> str:
    return SEPARATOR + SEPARATOR.join(sorted(keys)) + SEPARATOR


def _interned(strings: list[str]) -> tuple[str, ...]:
    # Interned: the papers kept in memory repeat the same few thousand words.
    return tuple(map(sys.intern, strings))


def _field(stems: list[str], joined: list[str], words: list[str]) -> FieldText:
    return FieldText(_interned(stems), _interned(joined), _interned(words))


def bigrams(stems: Sequence[str]) -> Iterator[tuple[str, str]]:
    """Adjacent stems as one key, ``("zero", "shot")``: a phrase's pairs are far rarer than its
    words. (Tuples: zip builds them without running Python code for each pair.)"""
    return zip(stems, stems[1:], strict=False)


def author_keys(parts: Sequence[str]) -> set[str]:
    """Keys of one author's name: each full part (``lecun``), and each full part followed by the
    initial of each other part (``lecun y``, ``yann l``). A query name of several parts needs
    one of its full parts exactly and every other part's initial, so it can be indexed by
    ``part + " " + initial of another part`` — far rarer than a bare given name."""
    keys: set[str] = set()
    for index, part in enumerate(parts):
        if len(part) > 1:
            keys.add(part)
            for other_index, other in enumerate(parts):
                if other_index != index:
                    keys.add(part + " " + other[0])
    return keys
