"""Telling people, when they sign in, why their digests stopped.

A suppressed address (hard bounce, spam complaint, 5xx from their server) silently getting no
mail would look like a broken product; so each login says why and what to do. The web pages
may show ``digest.digests.delivery.suppression_for(user)`` in more detail; this message works
on every page that shows Django messages.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.signals import user_logged_in

from digest.digests.delivery import suppression_for

REASON_TEXT = {
    "bounce": "your mail server reported the address as undeliverable",
    "complaint": "a message we sent was marked as spam",
    "rejected": "your mail server rejected our last digest",
    "manual": "an administrator stopped mail to it",
}


def suppression_message(suppression) -> str:
    why = REASON_TEXT.get(suppression.reason, suppression.get_reason_display())
    return (
        f"We are not sending digests to {suppression.email}: {why} "
        f"(since {suppression.created_at:%d %b %Y}). Fix the address or contact us to resume."
    )


def warn_suppressed_on_login(sender, request, user, **kwargs) -> None:
    suppression = suppression_for(user)
    if suppression is not None and request is not None and hasattr(request, "_messages"):
        messages.warning(request, suppression_message(suppression))


def connect_signals() -> None:
    user_logged_in.connect(warn_suppressed_on_login, dispatch_uid="digest.digests.notices")
