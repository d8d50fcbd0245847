"""Text cleaning shared by every parser.

Feeds hand us titles and abstracts hard-wrapped at 80 columns, with HTML entities, sometimes
with HTML markup and, from hostile or broken feeds, with ``<script>``. Paperboy stores plain
text only: entities decoded, markup removed (never interpreted), LaTeX rendered as readable
text (``latex.py``), whitespace collapsed.

Tags are removed only when they name a real HTML element. Abstracts are full of LaTeX such as
``$a<b$ and $c>d$``; a generic "anything between < and >" stripper would eat the mathematics.
"""

from __future__ import annotations

import html
import re
import unicodedata

from digest.papers.ingest.latex import latex_to_text

# Elements whose content is code, not text: dropped together with their content.
_CODE_ELEMENTS = re.compile(
    r"<(script|style)\b(?:[^<>\"']|\"[^\"]*\"|'[^']*')*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL
)
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)

# Inline elements vanish without a trace (``H<sub>2</sub>O`` → ``H2O``); every other element
# becomes a space so that ``<p>one</p><p>two</p>`` does not glue words together.
# fmt: off
_INLINE = frozenset((
    "a", "abbr", "b", "bdi", "bdo", "big", "cite", "code", "data", "del", "dfn", "em", "font",
    "i", "ins", "kbd", "mark", "q", "s", "samp", "small", "span", "strike", "strong", "sub",
    "sup", "time", "tt", "u", "var", "wbr",
))
_BLOCK = frozenset((
    "address", "article", "aside", "audio", "base", "blockquote", "body", "br", "button",
    "canvas", "caption", "center", "col", "colgroup", "dd", "details", "dialog", "div", "dl",
    "dt", "embed", "fieldset", "figcaption", "figure", "footer", "form", "frame", "frameset",
    "h1", "h2", "h3", "h4", "h5", "h6", "head", "header", "hr", "html", "iframe", "img",
    "input", "label", "legend", "li", "link", "main", "math", "meta", "nav", "noscript",
    "object", "ol", "option", "p", "picture", "pre", "script", "section", "select", "source",
    "style", "summary", "svg", "table", "tbody", "td", "template", "textarea", "tfoot", "th",
    "thead", "title", "tr", "track", "ul", "video",
))
# fmt: on
_TAG = re.compile(
    r"</?(?P<name>[a-zA-Z][a-zA-Z0-9]*)(?=[\s/>])(?:[^<>\"']|\"[^\"]*\"|'[^']*')*>",
)
# C0 controls except tab/newline/carriage return, DEL, the C1 block and the two noncharacters
# XML 1.0 forbids (U+FFFE, U+FFFF). PostgreSQL refuses NUL in text, XML (a reader's Atom feed)
# refuses every C0 control; all of them only ever come from broken encodings or typing mishaps.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
# A UTF-16 surrogate on its own ("\ud800" in JSON) is not a character: no database, no UTF-8
# and no XML can hold it. It becomes U+FFFD, as in any decoder that meets a broken sequence.
_SURROGATE = re.compile("[\ud800-\udfff]")
_WHITESPACE = re.compile(r"\s+")
# Raw characters cleaned at most. The store keeps 20,000 characters of the longest text (an
# abstract, see store.CAPS); markup and entities never shrink text fivefold, so what lies past
# this could never be kept, and cleaning it would cost memory (a 60 MB abstract took 1.9 GB).
MAX_RAW_CHARS = 100_000
_LIST_COMMA = re.compile(r",(?![^()]*\))")


def _replace_tag(match: re.Match[str]) -> str:
    name = match.group("name").lower()
    if name in _INLINE:
        return ""
    if name in _BLOCK:
        return " "
    return match.group(0)  # not HTML: "<m$ and $m>" in an abstract is mathematics


def strip_tags(text: str) -> str:
    text = _CODE_ELEMENTS.sub(" ", text)
    text = _COMMENT.sub(" ", text)
    return _TAG.sub(_replace_tag, text)


def storable(text: str) -> str:
    """``text`` with only characters that a database, UTF-8 and XML 1.0 all accept; nothing
    else changes (for messages, which must keep their ``<`` and spacing)."""
    return _CONTROL.sub(" ", _SURROGATE.sub("\ufffd", text))


def clean_text(value: object, *, keep_lines: bool = False) -> str:
    """Plain one-line text: entities decoded, HTML removed, whitespace and hard wraps collapsed,
    and only characters that a database, UTF-8 and XML 1.0 all accept. Feeds and curators'
    edits in the admin go through this one function, so what is stored is always valid text.

    Entities are decoded *before* tags are removed, so markup smuggled in as ``&lt;script&gt;``
    is removed too. Decoding happens once: ``&amp;lt;`` stays the literal text ``&lt;``.
    ``keep_lines`` keeps line breaks (a curator's note has paragraphs), collapsing the rest.
    """
    if value is None:
        return ""
    text = storable(unicodedata.normalize("NFC", html.unescape(str(value)[:MAX_RAW_CHARS])))
    if "<" in text:  # most titles and abstracts have no markup at all
        text = strip_tags(text)
    # After the tags: "$a<b$" is mathematics to keep, "<em>x</em>" markup to drop first.
    text = latex_to_text(text)
    if keep_lines:
        lines = (_WHITESPACE.sub(" ", line).strip() for line in text.splitlines())
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return _WHITESPACE.sub(" ", text).strip()


def split_authors(value: object, *, guess_surname_first: bool = False) -> list[str]:
    """``"Ada Lovelace, Alan Turing, and Grace Hopper"`` → three names, in byline order.

    arXiv's ``dc:creator`` is always a comma-separated list. Generic feeds sometimes write one
    name surname first (``"Lovelace, Ada"``); with ``guess_surname_first`` such a string stays
    one name unless every comma-separated part looks like a full name (two words or more).
    """
    text = clean_text(value)
    if not text:
        return []
    # Commas inside parentheses belong to an affiliation: "A. One (MIT, USA), B. Two".
    parts = [re.sub(r"^and\s+", "", part.strip()) for part in _LIST_COMMA.split(text)]
    parts = [part for part in parts if part]
    if guess_surname_first and len(parts) > 1 and not all(" " in part for part in parts):
        return [text]
    return parts


def clean_names(values: list[object]) -> list[str]:
    return [name for name in (clean_text(value) for value in values) if name]
