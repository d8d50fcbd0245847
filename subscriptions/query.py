"""The subscription query language: Lucene-style text parsed by luqum into a small AST of our own.

    diffusion model                 both words, anywhere in title or abstract (juxtaposition = AND)
    "graph neural network"          the words next to each other, in this order
    zero-shot                       same as "zero shot"; also finds the joined form "zeroshot"
    video OR audio                  either
    diffusion -survey               NOT / - exclude (a query must also look for something)
    (video OR audio) generation     parentheses group
    title:transformer abstract:...  fields; no field means title or abstract
    author:"Yann LeCun"             a name in any order ("LeCun, Yann"); initials match names
    cat:cs.CV  cat:cs.*  cat:cs     arXiv category, a category prefix, or a whole archive
    diffus*                         trailing wildcard (at least 3 letters before *)

Precedence (luqum's): ``AND`` binds tighter than ``OR``, and ``OR`` tighter than juxtaposition,
so ``deep learning OR networks`` means ``deep AND (learning OR networks)``. Only upper-case
``AND``/``OR``/``NOT`` are operators; ``and``/``or``/``not`` are ordinary words. Field aliases from
arXiv search are accepted: ``ti:``, ``abs:``, ``au:``, ``all:``.

Author names (decided here, documented on the help page): every part of the name in the query
must match a different part of one author's name, in any order; a part matches when it is equal,
or when one side is a single-letter initial of the other. At least one part of the query name
must be a full name (2+ letters) and match exactly: ``author:"Yann LeCun"`` matches "Yann
LeCun", "LeCun, Yann", "Y. LeCun" and "Yann A. LeCun"; ``author:"Y. LeCun"`` matches "Yann
LeCun"; ``author:"Y. L."`` is rejected.

``parse(text)`` returns a :class:`Query` or raises :class:`QueryError` with the character offset
where the query went wrong and what was expected there. Size limits: ``MAX_QUERY_LENGTH``
characters, ``MAX_TERMS`` words/phrases/authors/categories, ``MAX_DEPTH`` nested parentheses.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from luqum import tree as lq
from luqum.exceptions import IllegalCharacterError, ParseError
from luqum.parser import lexer as _luqum_lexer
from luqum.thread import parse as _luqum_parse

from subscriptions.arxiv_categories import CATEGORIES
from subscriptions.text import name_tokens, split

MAX_QUERY_LENGTH = 500
MAX_TERMS = 20
MAX_DEPTH = 4  # levels of parentheses
MAX_PHRASE_WORDS = 8
MAX_NAME_PARTS = 6
MIN_PREFIX = 3

FIELD_ALIASES = {
    "title": "title",
    "ti": "title",
    "abstract": "abstract",
    "abs": "abstract",
    "author": "author",
    "au": "author",
    "cat": "cat",
    "category": "cat",
    "all": "text",
}
FIELDS_EXPECTED = "title:, abstract:, author: or cat:"
OPERAND = 'a word, a "phrase" or "("'
# An arXiv category or archive: cs.CV, hep-th, q-bio.NC, cond-mat.stat-mech, stat.ML.
CATEGORY_RE = re.compile(r"[a-z][a-z0-9-]*(?:\.[a-z0-9-]+)?")
CATEGORY_PREFIX_RE = re.compile(r"[a-z][a-z0-9-]*(?:\.[a-z0-9-]*)?")


class QueryError(ValueError):
    """An invalid query: ``message`` says what is wrong, ``position`` is the character offset
    (0-based) where, ``expected`` what would have been valid there. ``str()`` is one sentence
    for people: ``Unbalanced parenthesis at column 12: expected ")"`` (columns count from 1)."""

    def __init__(self, message: str, position: int, expected: str):
        self.message = message
        self.position = position
        self.expected = expected
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.message} at column {self.position + 1}: expected {self.expected}"


# --- The AST ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Term:
    """Words in ``field`` ("text" = title or abstract, "title", "abstract"). One word, or a
    phrase (several words in a row). ``compound``: written with hyphens, so the joined word also
    matches. ``prefix``: the one word ends in ``*``. ``text`` is how the user wrote it."""

    words: tuple[str, ...]
    field: str = "text"
    prefix: bool = False
    compound: bool = False
    text: str = dataclasses.field(default="", compare=False)
    position: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Author:
    parts: tuple[str, ...]
    text: str = dataclasses.field(default="", compare=False)
    position: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Category:
    """``pattern`` is lower-case; with ``prefix`` it matches categories starting with it,
    without it the category itself or, for an archive (``cs``), every category in it."""

    pattern: str
    prefix: bool = False
    text: str = dataclasses.field(default="", compare=False)
    position: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]
    position: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]
    position: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Not:
    child: Node
    position: int = dataclasses.field(default=0, compare=False)


Node = Term | Author | Category | And | Or | Not
Leaf = Term | Author | Category


@dataclass(frozen=True, slots=True)
class Query:
    root: Node
    text: str = dataclasses.field(default="", compare=False)

    def leaves(self) -> Iterator[Leaf]:
        return iter_leaves(self.root)

    def to_text(self) -> str:
        return to_text(self.root)


def iter_leaves(node: Node) -> Iterator[Leaf]:
    if isinstance(node, And | Or):
        for child in node.children:
            yield from iter_leaves(child)
    elif isinstance(node, Not):
        yield from iter_leaves(node.child)
    else:
        yield node


def is_positive(node: Node) -> bool:
    """True when the node can only match a paper that contains something it looks for
    (a query of exclusions alone would match nearly every paper)."""
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(is_positive(child) for child in node.children)
    if isinstance(node, Or):
        return all(is_positive(child) for child in node.children)
    return True


# --- Parsing ----------------------------------------------------------------------------------


def parse(text: str) -> Query:
    """Parse and validate a subscription query; raise :class:`QueryError` if it is not valid."""
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(
            f"Query too long ({len(text)} characters)",
            MAX_QUERY_LENGTH,
            f"at most {MAX_QUERY_LENGTH} characters",
        )
    if not text.strip():
        raise QueryError("Empty query", 0, f'{OPERAND}, e.g. "zero-shot" diffusion')
    toks = _lex(text)
    _check_structure(toks, text)
    try:
        luqum_tree = _luqum_parse(text)
    except ParseError as exc:  # _check_structure catches what we know of; this is a backstop
        position = re.search(r"position (\d+)", str(exc))
        raise QueryError(
            "Syntax error", int(position.group(1)) if position else len(text), OPERAND
        ) from exc
    converter = _Converter()
    root = _normalize(converter.convert(luqum_tree, "text"))
    _check_positive(root)
    return Query(root=root, text=text)


_local = threading.local()


@dataclass(frozen=True, slots=True)
class _Tok:
    type: str
    value: str
    pos: int


def _lex(text: str) -> list[_Tok]:
    """luqum's own lexer (one clone per thread: PLY lexers are stateful)."""
    lexer = getattr(_local, "lexer", None)
    if lexer is None:
        lexer = _local.lexer = _luqum_lexer.clone()
    lexer.input(text)
    result: list[_Tok] = []
    try:
        for tok in lexer:
            kind = "TERM" if tok.type == "TO" else tok.type  # TO only means something in ranges
            result.append(_Tok(kind, str(tok.value), tok.lexpos))
    except IllegalCharacterError:
        _illegal_character(text, lexer.lexpos)
    return result


def _illegal_character(text: str, position: int) -> None:
    char = text[position]
    if char == '"':
        raise QueryError("Unclosed quote", position, 'a closing " to end the phrase')
    if char in "'‘’":
        raise QueryError("Single quotes are not supported", position, 'double quotes: "a phrase"')
    if char == "/":
        raise QueryError("Regular expressions are not supported", position, OPERAND)
    if char == "\\":
        raise QueryError("Backslash at the end of the query", position, "a character after \\")
    raise QueryError(f'Unexpected character "{char}"', position, OPERAND)


_UNSUPPORTED = {
    "BOOST": ("Boosting with ^ is not supported", "a word without ^"),
    "APPROX": ("Fuzzy and proximity search with ~ is not supported", "a word without ~"),
    "LBRACKET": ("Ranges are not supported", f"{OPERAND}; parentheses are ( )"),
    "RBRACKET": ("Ranges are not supported", f"{OPERAND}; parentheses are ( )"),
    "LESSTHAN": ("Comparisons with < are not supported", OPERAND),
    "GREATERTHAN": ("Comparisons with > are not supported", OPERAND),
    "REGEX": ("Regular expressions are not supported", OPERAND),
}
_STARTS_OPERAND = {"TERM", "PHRASE", "LPAREN", "NOT", "MINUS", "PLUS"}
_BINARY = {"AND_OP": "AND", "OR_OP": "OR"}
_PREFIX = {"NOT": "NOT", "MINUS": "-", "PLUS": "+"}


def _check_structure(toks: list[_Tok], text: str) -> None:
    """Walk luqum's tokens once and report the first structural mistake precisely: operators
    without operands, unbalanced or too deep parentheses, misplaced colons, unknown fields, and
    syntax the language does not support. luqum's own errors only say "unexpected token"."""
    need_operand = True  # at the start, after an operator, "(" or "field:"
    previous: _Tok | None = None
    # One entry per open "(": (position, inside a field group).
    open_parens: list[tuple[int, bool]] = []
    field_pending: _Tok | None = None  # the field name whose ":" was just read
    for index, tok in enumerate(toks):
        if tok.type in _UNSUPPORTED:
            message, expected = _UNSUPPORTED[tok.type]
            raise QueryError(message, tok.pos, expected)
        if tok.type == "FIELD_COLUMN":
            previous = tok
            continue
        in_field = field_pending is not None or any(group for _, group in open_parens)
        if tok.type == "COLUMN":
            raise QueryError(
                'Unexpected ":"', tok.pos, f"a field name such as {FIELDS_EXPECTED} before it"
            )
        if need_operand:
            if field_pending is not None and tok.type not in ("TERM", "PHRASE", "LPAREN"):
                raise _missing_after_field(field_pending)
            if tok.type in _BINARY:
                raise _misplaced_operator(tok, previous)
            if tok.type == "RPAREN":
                if previous is not None and previous.type == "LPAREN":
                    raise QueryError("Empty parentheses", previous.pos, f"{OPERAND} inside them")
                if previous is None or not open_parens:
                    raise QueryError("Unbalanced parenthesis", tok.pos, 'a "(" before this ")"')
                raise _missing_after(previous)
        if tok.type == "TERM" and index + 1 < len(toks) and toks[index + 1].type == "COLUMN":
            name = tok.value.lower()
            if name not in FIELD_ALIASES:
                raise QueryError(f'Unknown field "{tok.value}"', tok.pos, FIELDS_EXPECTED)
            if in_field:
                raise QueryError(
                    f'Field "{tok.value}:" inside another field',
                    tok.pos,
                    f"{OPERAND} inside the field's parentheses",
                )
            field_pending = tok
            toks[index + 1] = _Tok("FIELD_COLUMN", ":", toks[index + 1].pos)
            previous = tok
            need_operand = True
            continue
        if tok.type == "LPAREN":
            open_parens.append((tok.pos, field_pending is not None))
            if len(open_parens) > MAX_DEPTH:
                raise QueryError(
                    "Too deeply nested", tok.pos, f"at most {MAX_DEPTH} levels of parentheses"
                )
            field_pending = None
            need_operand = True
        elif tok.type == "RPAREN":
            if not open_parens:
                raise QueryError("Unbalanced parenthesis", tok.pos, 'a "(" before this ")"')
            open_parens.pop()
            need_operand = False
        elif tok.type in _BINARY or tok.type in _PREFIX:
            need_operand = True
        else:  # TERM or PHRASE
            field_pending = None
            need_operand = False
        previous = tok
    if need_operand and previous is not None:
        if field_pending is not None:
            raise _missing_after_field(field_pending)
        if previous.type != "LPAREN":
            raise _missing_after(previous)
    if open_parens:
        position, _ = open_parens[-1]
        raise QueryError(
            "Unbalanced parenthesis",
            len(text),
            f'")" to close the "(" at column {position + 1}',
        )


def _operator_name(tok: _Tok) -> str:
    return _BINARY.get(tok.type) or _PREFIX.get(tok.type) or tok.value


def _misplaced_operator(tok: _Tok, previous: _Tok | None) -> QueryError:
    name = _operator_name(tok)
    if previous is None:
        return QueryError(f"{name} at the start of the query", tok.pos, f"{OPERAND} before {name}")
    if previous.type == "LPAREN":
        return QueryError(f'{name} right after "("', tok.pos, f"{OPERAND} before {name}")
    return QueryError(
        f"{name} right after {_operator_name(previous)}", tok.pos, f"{OPERAND} between them"
    )


def _missing_after(tok: _Tok) -> QueryError:
    name = '"("' if tok.type == "LPAREN" else _operator_name(tok)
    return QueryError(f"Missing term after {name}", tok.pos, f"{OPERAND} after {name}")


def _missing_after_field(field_tok: _Tok) -> QueryError:
    return QueryError(
        f"Missing value after {field_tok.value}:",
        field_tok.pos,
        f'a word, a "phrase" or "(" right after {field_tok.value}:',
    )


class _Converter:
    """luqum tree → our AST, validating each leaf against its field."""

    def __init__(self) -> None:
        self.leaves = 0

    def convert(self, node: lq.Item, context: str) -> Node:
        position = node.pos or 0
        if isinstance(node, lq.SearchField):
            return self.convert(node.expr, FIELD_ALIASES[node.name.lower()])
        if isinstance(node, lq.Group | lq.FieldGroup):
            return self.convert(node.expr, context)
        if isinstance(node, lq.AndOperation | lq.UnknownOperation):
            children = tuple(self.convert(child, context) for child in node.children)
            return And(children, position)
        if isinstance(node, lq.OrOperation):
            return Or(tuple(self.convert(child, context) for child in node.children), position)
        if isinstance(node, lq.Not | lq.Prohibit):
            return Not(self.convert(node.a, context), position)
        if isinstance(node, lq.Plus):  # +word: required, which every word already is
            return self.convert(node.a, context)
        if isinstance(node, lq.Word | lq.Phrase):
            self.leaves += 1
            if self.leaves > MAX_TERMS:
                raise QueryError(
                    "Too many terms",
                    position,
                    f"at most {MAX_TERMS} words, phrases, authors or categories",
                )
            phrase = isinstance(node, lq.Phrase)
            raw = node.value[1:-1] if phrase else node.value
            # Where the text inside the quotes starts, for error columns.
            start = position + (1 if phrase else 0)
            if context == "author":
                return _author(raw, start, position)
            if context == "cat":
                return _category(raw, start, position)
            return _term(raw, phrase, context, start, position)
        raise QueryError("Unsupported syntax", position, OPERAND)  # pragma: no cover


def _unescape(raw: str, start: int) -> tuple[str, list[tuple[str, int]]]:
    """Remove backslash escapes; return the literal text and the unescaped wildcard characters
    with their positions in the query."""
    literal: list[str] = []
    wildcards: list[tuple[str, int]] = []
    index = 0
    while index < len(raw):
        char = raw[index]
        if char == "\\" and index + 1 < len(raw):
            literal.append(raw[index + 1])
            index += 2
            continue
        if char in "*?":
            wildcards.append((char, start + index))
        literal.append(char)
        index += 1
    return "".join(literal), wildcards


def _term(raw: str, phrase: bool, context: str, start: int, position: int) -> Term:
    literal, wildcards = _unescape(raw, start)
    display = literal.strip()
    for char, at in wildcards:
        if phrase:
            raise QueryError(
                'Wildcard inside a "phrase"', at, "* only at the end of a single word, unquoted"
            )
        if char == "?":
            raise QueryError('Unsupported wildcard "?"', at, "* at the end of a word")
        if at != start + len(raw) - 1:
            raise QueryError("Wildcard inside a word", at, "* only at the end of a word")
    prefix = bool(wildcards)
    compounds = split(literal[:-1] if prefix else literal)
    words = [part for compound in compounds for part in compound.split("-")]
    if not words:
        if phrase:
            raise QueryError('Empty "phrase"', position, "words between the quotes")
        if prefix:
            raise QueryError(
                "Wildcard without a word", position, f"at least {MIN_PREFIX} letters before *"
            )
        raise QueryError(f'No letters or digits in "{literal}"', position, "a word")
    if prefix:
        if len(words) > 1:
            raise QueryError(
                f'Wildcard on more than one word in "{literal}"',
                position,
                "a single word before * (no hyphens)",
            )
        if len(words[0]) < MIN_PREFIX:
            raise QueryError(
                f'Wildcard "{literal}" is too short',
                position,
                f"at least {MIN_PREFIX} letters before *",
            )
    if len(words) > MAX_PHRASE_WORDS:
        raise QueryError(
            f"Phrase too long ({len(words)} words)", position, f"at most {MAX_PHRASE_WORDS} words"
        )
    compound = not phrase and len(compounds) == 1 and len(words) > 1
    return Term(
        words=tuple(words),
        field=context,
        prefix=prefix,
        compound=compound,
        text=display,
        position=position,
    )


def _author(raw: str, start: int, position: int) -> Author:
    literal, wildcards = _unescape(raw, start)
    if wildcards:
        raise QueryError(
            "Wildcards are not supported in author:",
            wildcards[0][1],
            'a full name, e.g. author:"Yann LeCun"',
        )
    parts = name_tokens(literal)
    if not parts:
        raise QueryError("Missing author name", position, 'a name, e.g. author:"Yann LeCun"')
    if all(len(part) < 2 for part in parts):
        raise QueryError(
            f'Only initials in author:"{literal}"',
            position,
            'a family name, e.g. author:"Y. LeCun"',
        )
    if len(parts) > MAX_NAME_PARTS:
        raise QueryError("Author name too long", position, f"at most {MAX_NAME_PARTS} name parts")
    return Author(parts=parts, text=literal.strip(), position=position)


def _category(raw: str, start: int, position: int) -> Category:
    literal, wildcards = _unescape(raw, start)
    pattern = literal.strip().lower()
    prefix = pattern.endswith("*")
    base = pattern[:-1] if prefix else pattern
    valid_shape = CATEGORY_PREFIX_RE if prefix else CATEGORY_RE
    if (
        any(at != start + len(raw) - 1 or char == "?" for char, at in wildcards)
        or not valid_shape.fullmatch(base)
        or (prefix and len(base) < 2)
    ):
        raise QueryError(
            f'Invalid category "{literal}"',
            position,
            "an arXiv category such as cs.CV, an archive such as cs, or a prefix such as cs.*",
        )
    return Category(pattern=base, prefix=prefix, text=literal.strip(), position=position)


def _normalize(node: Node) -> Node:
    """Flatten nested AND/OR, drop double negation, collapse single children."""
    if isinstance(node, And | Or):
        kind = type(node)
        children: list[Node] = []
        for child in map(_normalize, node.children):
            if type(child) is kind:
                children.extend(child.children)  # type: ignore[union-attr]
            else:
                children.append(child)
        if len(children) == 1:
            return children[0]
        return kind(tuple(children), node.position)
    if isinstance(node, Not):
        child = _normalize(node.child)
        if isinstance(child, Not):
            return child.child
        return Not(child, node.position)
    return node


def _check_positive(root: Node) -> None:
    if is_positive(root):
        return
    if isinstance(root, Or):
        culprit = next(child for child in root.children if not is_positive(child))
        raise QueryError(
            "OR with only an exclusion on one side",
            culprit.position,
            "something to look for on each side of OR (that side matches almost every paper)",
        )
    first_not = next((child for child in _walk(root) if isinstance(child, Not)), root)
    raise QueryError(
        "Nothing to look for, only exclusions",
        first_not.position,
        'at least one word to look for, e.g. "diffusion -survey"',
    )


def _walk(node: Node) -> Iterator[Node]:
    yield node
    if isinstance(node, And | Or):
        for child in node.children:
            yield from _walk(child)


# --- Back to text -----------------------------------------------------------------------------

_FIELD_PREFIX = {"text": "", "title": "title:", "abstract": "abstract:"}


def to_text(node: Node) -> str:
    """A query text that parses back to ``node`` (used by the benchmark and the tests)."""
    if isinstance(node, Term):
        if node.prefix:
            body = node.words[0] + "*"
        elif node.compound:
            body = "-".join(node.words)
        elif len(node.words) > 1:
            body = '"' + " ".join(node.words) + '"'
        else:
            body = node.words[0]  # folded to lower case, so never read as AND/OR/NOT
        return _FIELD_PREFIX[node.field] + body
    if isinstance(node, Author):
        return 'author:"' + " ".join(node.parts) + '"'
    if isinstance(node, Category):
        return "cat:" + node.pattern + ("*" if node.prefix else "")
    if isinstance(node, Not):
        inner = to_text(node.child)
        return "-" + (f"({inner})" if isinstance(node.child, And | Or) else inner)
    if isinstance(node, And):
        return " ".join(
            f"({to_text(c)})" if isinstance(c, Or | And) else to_text(c) for c in node.children
        )
    return " OR ".join(
        f"({to_text(c)})" if isinstance(c, Or | And) else to_text(c) for c in node.children
    )


def compose_query(text: str, categories: list[str] | tuple[str, ...] = ()) -> str:
    """The subscription query for a text query restricted to arXiv categories (either may be
    empty): ``(zero-shot) AND (cat:cs.CV OR cat:cs.LG)``."""
    text = " ".join(text.split())
    known = [c for c in dict.fromkeys(categories) if c in CATEGORIES]
    in_categories = " OR ".join(f"cat:{code}" for code in known)
    if text and known:
        return f"({text}) AND ({in_categories})"
    return text or in_categories
