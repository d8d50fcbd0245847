"""Reading feed XML safely and incrementally.

Feeds come from the network: they can be truncated mid-transfer or hostile. ``read_entries``
parses with defusedxml (no entity expansion, no external references) and incrementally, so the
entries that closed before a break are returned together with an error that says where the
document broke.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pyexpat import ErrorString

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from .records import EntryError

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
DC = "{http://purl.org/dc/elements/1.1/}"
RSS1 = "{http://purl.org/rss/1.0/}"

# Expat errors that mean "the document stopped before it was complete": what a cut-off
# download looks like, as opposed to a syntax error in the middle.
_TRUNCATION_CODES = frozenset({3, 5, 6, 20})  # no element found, unclosed token, partial
# character, unclosed CDATA section


_CHARACTER_REFERENCE = re.compile(rb"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));")


def _xml_char(code: int) -> bool:
    """XML 1.0's ``Char``: what a character reference may name."""
    return (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )


def _replace_reference(match: re.Match[bytes]) -> bytes:
    hexadecimal, decimal = match.groups()
    digits = (hexadecimal or decimal).lstrip(b"0") or b"0"
    # Length first: int() of a 5,000-digit number is refused (and slow).
    code = int(digits, 16 if hexadecimal else 10) if len(digits) <= 8 else -1
    return match.group(0) if _xml_char(code) else b"&#xFFFD;"


def replace_invalid_references(content: bytes) -> bytes:
    """``&#xD800;`` (a lone surrogate), ``&#0;``, ``&#x1;``... name no XML character, and expat
    stops the whole document at the first one, losing every entry after it. Each becomes
    ``&#xFFFD;`` (U+FFFD, the replacement character), as a decoder treats a broken sequence:
    the entry keeps its text with the one bad character marked."""
    if b"&#" not in content:
        return content
    return _CHARACTER_REFERENCE.sub(_replace_reference, content)


@dataclass
class XmlEntries:
    root_tag: str = ""
    entries: list[ET.Element] = field(default_factory=list)
    error: EntryError | None = None
    reason: str = ""  # expat's words for a syntax error ("no element found")
    truncated: bool = False


def read_entries(content: bytes, entry_tags: frozenset[str]) -> XmlEntries:
    """Every element whose tag is in ``entry_tags``, in document order, until the end or the
    first error."""
    result = XmlEntries()
    content = replace_invalid_references(content)
    try:
        for event, element in SafeET.iterparse(io.BytesIO(content), events=("start", "end")):
            if event == "start":
                if not result.root_tag:
                    result.root_tag = element.tag
            elif element.tag in entry_tags:
                result.entries.append(element)
    except ET.ParseError as exc:
        line, column = exc.position
        result.reason = ErrorString(exc.code) if exc.code else str(exc)
        result.truncated = exc.code in _TRUNCATION_CODES
        what = "the document ends early" if result.truncated else "the XML is malformed"
        result.error = EntryError(
            f"line {line}, column {column + 1}",
            f"{what} ({result.reason}); {len(result.entries)} complete entries before it were read",
        )
    except LookupError as exc:
        # <?xml version="1.0" encoding="x-unknown"?>: expat asks Python for the codec.
        result.error = EntryError(
            "document", f"the XML declares a character encoding that cannot be read ({exc})"
        )
    except DefusedXmlException as exc:
        result.error = EntryError(
            "document", f"refused: the XML declares entities or external references ({exc})"
        )
    return result


def text_of(element: ET.Element | None) -> str:
    """All the text inside ``element``, child elements included (a title with ``<i>``)."""
    if element is None:
        return ""
    return "".join(element.itertext())


def child_text(parent: ET.Element, tag: str) -> str:
    return text_of(parent.find(tag))
