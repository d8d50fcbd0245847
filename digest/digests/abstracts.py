"""Making a paper fit in an email: abstracts cut at a sentence, author lists cut to a byline.

Abstracts are cut where a sentence ends, not mid-word, so the excerpt reads as text. Periods that
do not end a sentence (``e.g.``, ``et al.``, ``Fig. 3``, initials, ``3.5``) are not boundaries.
"""

from __future__ import annotations

import re

ABSTRACT_LIMIT = 400

# Words after which a period does not end the sentence. Lower-cased, without the period.
_ABBREVIATIONS = frozenset(
    ["e.g", "i.e", "et", "al", "etc", "vs", "cf", "fig", "figs", "eq", "eqs", "sec", "ref"]
    + ["refs", "no", "nos", "approx", "resp", "dr", "prof", "mr", "ms", "st", "vol", "pp", "ch"]
    + ["tab", "ca"]
)
# A candidate boundary: sentence punctuation, optional closing quotes/brackets, whitespace,
# then something that can start a sentence.
_BOUNDARY = re.compile(r"[.!?][\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9])")
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)$")


def _ends_sentence(text: str, end: int) -> bool:
    """``text[end-1]`` is sentence punctuation; decide whether it really ends a sentence."""
    punctuation_at = end - 1
    while text[punctuation_at] not in ".!?":
        punctuation_at -= 1
    if text[punctuation_at] != ".":
        return True
    # Only the last word matters; searching a short tail keeps this linear in the text.
    word = _WORD_BEFORE.search(text[max(0, punctuation_at - 40) : punctuation_at])
    if word is None:
        return True
    token = word.group(1).lower().rstrip(".")
    if token in _ABBREVIATIONS or token.split(".")[-1] in _ABBREVIATIONS:
        return False
    # A single capital letter is an initial ("J. Smith"), not a sentence.
    return not (len(word.group(1)) == 1 and word.group(1).isupper())


def sentence_ends(text: str) -> list[int]:
    """Offsets just after each sentence-ending punctuation mark (and its closing quotes)."""
    return [m.end() for m in _BOUNDARY.finditer(text) if _ends_sentence(text, m.end())]


def trim_at_sentence(text: str, limit: int = ABSTRACT_LIMIT) -> str:
    """``text`` shortened to about ``limit`` characters, ending where a sentence ends.

    Prefers the last sentence end within ``limit``; if that would keep less than half of it,
    allows the next sentence end up to 1.5×``limit``; failing both, cuts at a word and adds "…".
    """
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    ends = sentence_ends(text)
    within = [end for end in ends if end <= limit]
    if within and within[-1] >= limit // 2:
        return text[: within[-1]]
    beyond = [end for end in ends if limit < end <= limit * 3 // 2]
    if beyond:
        return text[: beyond[0]]
    if within:
        return text[: within[-1]]
    cut = text.rfind(" ", 0, limit)
    if cut < limit // 2:
        cut = limit
    return text[:cut].rstrip(" ,;:-") + "…"


def short_authors(authors: list[str], shown: int = 3) -> str:
    """``"Ada Lovelace, Alan Turing, Grace Hopper et al."`` for long author lists."""
    names = [name for name in (str(author).strip() for author in authors) if name]
    if len(names) <= shown + 1:
        return ", ".join(names)
    return ", ".join(names[:shown]) + " et al."
