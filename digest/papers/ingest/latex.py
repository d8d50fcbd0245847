"""LaTeX left in titles and abstracts (``models~(VLMs)``, ``$\\alpha$``, ``\\emph{x}``) turned
into readable text, at ingest, so the web, the email, feeds and matching all see the same words.

Only the spans that are clearly LaTeX are converted, each on its own, by ``pylatexenc``:
inline mathematics between dollars (pandoc's rule: no space inside either dollar and no digit
right after the closing one, so ``$5 million and $3`` stays as it is), ``\\(…\\)``, commands
with their arguments (``\\textit{x}``, ``{\\it x}``, ``\\"o``), escapes (``\\%``) and a tie
(``~``) between two words. Everything else (``C++``, ``50%``, URLs with ``~user``) is never
handed to the parser, where ``%`` would start a comment and eat the rest of the abstract.

A macro the parser does not know (an author's own ``\\codestar`` or ``\\etc``) keeps its name,
rather than vanishing and taking a word of the sentence with it. ``leq 256px``, whose
backslash was lost before the text reached us, cannot be told from English and stays.
"""

from __future__ import annotations

import re

from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db
from pylatexenc.latexwalker import LatexWalkerError

_context = get_default_latex_context_db().filter_context()
# Font switches ({\it x}) say nothing; references point into a paper the reader does not have.
_SILENT = ("it", "bf", "em", "rm", "sf", "tt", "sc", "sl", "normalfont", "cite", "citep")
_SILENT += ("citet", "ref", "eqref", "label")
_context.add_context_category(
    "paperboy",
    prepend=True,
    macros=[MacroTextSpec("deg", "°")] + [MacroTextSpec(name, "") for name in _SILENT],
)
_context.set_unknown_macro_spec(MacroTextSpec("", simplify_repl=lambda node, *_: node.macroname))
_CONVERTER = LatexNodes2Text(latex_context=_context, math_mode="text", strict_latex_spaces=False)

_BRACED = r"\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\}"  # {…} with one level of nesting
_SPAN = re.compile(
    "|".join(
        (
            r"\$\\[a-zA-Z]+\$",  # $\sim$3x
            r"(?<![\\$\w])\$(?=[^\s$])[^$\n]{1,300}?(?<=[^\s\\$])\$(?!\d)",  # $x$
            r"\\\(.{1,300}?\\\)",  # \(x\)
            r"\{\\[a-zA-Z]+\b[^{}]*\}",  # {\it x}, {\deg}
            r"\\[a-zA-Z]+\*?(?:" + _BRACED + r")*",  # \emph{x}, \LaTeX
            r"\\['\"^`~=.](?:[a-zA-Z]|\{[a-zA-Z]\})",  # \"o, \'{e}
            r"\\[%&$#_{}]",  # \%
        )
    ),
    re.DOTALL,
)
# A tie between two words or before a parenthesis, "models~(VLMs)", "e.g.,~SVD". A tilde
# between digits is a range ("10~30%"), one after a space or "(" means "about" ("(~2%)"), and a
# URL's "/~user" has no letter before it: all stay.
_TIE = re.compile(r"(?:(?<=[^\W\d_])|(?<=[.,)]))~(?=[^\W\d_]|\()")
_URL = re.compile(r"\S*(?:://|www\.)\S*")
_LIKELY = re.compile(r"[\\$~]")


def _convert(match: re.Match[str]) -> str:
    span = match.group(0)
    # A bare % inside a span is a percent sign to the author, a comment to LaTeX.
    span = re.sub(r"(?<!\\)%", r"\\%", span)
    try:
        return _CONVERTER.latex_to_text(span)
    except LatexWalkerError:  # the parser is tolerant; if it still gives up, keep the text
        return match.group(0)


def _convert_outside_urls(text: str) -> str:
    return _TIE.sub(" ", _SPAN.sub(_convert, text))


def latex_to_text(text: str) -> str:
    """``text`` with its LaTeX spans rendered as plain Unicode text; URLs left alone."""
    if not _LIKELY.search(text):
        return text
    pieces, start = [], 0
    for url in _URL.finditer(text):
        pieces += [_convert_outside_urls(text[start : url.start()]), url.group(0)]
        start = url.end()
    pieces.append(_convert_outside_urls(text[start:]))
    return "".join(pieces)
