"""``{{ reason|reason_html }}``: a ranking reason (``subscriptions.hybrid.reasons``) as HTML.

Reasons mark a matched term with backticks (``matched `zero-shot` in title``) and a paper's
title with asterisks (``close to *Title*, which you liked``), as the plain-text email
shows them; on a page they become ``<code>`` and ``<em>``. The text is escaped first: a title or
an interest is whatever someone wrote."""

from __future__ import annotations

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

TERM = re.compile(r"`([^`]+)`")
TITLE = re.compile(r"(?<![\w*])\*([^*]+)\*(?![\w*])")


@register.filter
def reason_html(reason: str) -> SafeString:
    html = TERM.sub(r"<code>\1</code>", escape(reason))
    return mark_safe(TITLE.sub(r"<em>\1</em>", html))  # noqa: S308 (escaped above)
