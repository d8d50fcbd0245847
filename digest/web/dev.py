"""``/dev/mailbox``: read the mail the local SMTP sink stored (DEBUG only, staff only: it
holds every sign-in code and confirmation link, and a DEBUG server may be reachable by others).

Each message opens with its headers, its plain-text part and its HTML part in a sandboxed
iframe (``srcdoc``; no scripts). Links in the HTML navigate the whole tab (``<base
target="_top">`` + ``allow-top-navigation-by-user-activation``) so the verification link of a
sign-up mail can be followed from here.
"""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_update
from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from digest.mailsink import read_mailbox

MESSAGE_NAME = re.compile(r"^[0-9]+-[0-9]+$")
SHOWN_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "List-Id",
    "Auto-Submitted",
)


def _part(message: EmailMessage, subtype: str) -> str:
    body = message.get_body((subtype,))
    return body.get_content() if body is not None else ""


def _with_top_target(html: str) -> str:
    base = '<base target="_top">'
    if re.search(r"<head[^>]*>", html, flags=re.I):
        return re.sub(r"(<head[^>]*>)", r"\1" + base, html, count=1, flags=re.I)
    return base + html


@staff_member_required
def mailbox(request: HttpRequest) -> HttpResponse:
    messages = [
        {"name": name, "subject": m["Subject"], "to": m["To"], "date": m["Date"]}
        for name, m in read_mailbox(settings.MAILBOX_DIR)
    ]
    return render(
        request, "dev/mailbox.html", {"mail": messages, "mailbox_dir": settings.MAILBOX_DIR}
    )


@staff_member_required
# The mail's HTML sits in a srcdoc iframe, which inherits this page's policy: let it look as it
# does in a mail program (inline styles, web fonts, remote images), still without any script.
@csp_update(
    {
        "style-src": [UNSAFE_INLINE, "https:"],
        "font-src": [SELF, "https:"],
        "img-src": [SELF, "https:"],
    }
)
def mailbox_message(request: HttpRequest, name: str) -> HttpResponse:
    if not MESSAGE_NAME.match(name):
        raise Http404("No such message")
    path = settings.MAILBOX_DIR / f"{name}.eml"
    if not path.is_file():
        raise Http404("No such message")
    found = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    html = _part(found, "html")
    return render(
        request,
        "dev/message.html",
        {
            "name": name,
            "message": found,
            "headers": [(h, found[h]) for h in SHOWN_HEADERS if found[h]],
            "all_headers": list(found.items()),
            "html": _with_top_target(html) if html else "",
            "text": _part(found, "plain"),
        },
    )
