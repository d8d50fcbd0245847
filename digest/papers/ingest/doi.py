"""DOIs as feeds write them: bare, ``doi:``-prefixed, as doi.org links, several in one field."""

from __future__ import annotations

import re

_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>]+)", re.IGNORECASE)


def normalize_doi(text: str | None) -> str:
    """The first DOI in ``text``, without prefix or link: ``https://doi.org/10.1093/x`` and
    ``doi:10.1093/x`` → ``10.1093/x``. arXiv separates several DOIs with spaces; the first is
    the main article. ``""`` when there is none."""
    match = _DOI.search(text or "")
    if match is None:
        return ""
    doi = match.group(1).rstrip(".,;")
    # "(see 10.1000/xyz)": a closing parenthesis belongs to the DOI only when it opened there.
    while doi.endswith(")") and doi.count(")") > doi.count("("):
        doi = doi[:-1].rstrip(".,;")
    return doi
