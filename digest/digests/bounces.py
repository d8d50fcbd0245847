"""Bounces and complaints reported by the mail provider (django-anymail webhooks).

They feed the same suppression list as 5xx replies at send time, so one rule holds everywhere:
an address that bounced hard or complained gets no more mail. A provider-side unsubscribe
unsubscribes the account. Soft bounces and deferrals are ignored: the provider retries those.
"""

from __future__ import annotations

import functools
import logging

from anymail import urls as anymail_urls
from anymail.signals import EventType, RejectReason, tracking
from django.conf import settings
from django.http import Http404
from django.urls import URLPattern
from django.views.decorators.csrf import csrf_exempt

from accounts.models import User
from digest.digests.delivery import suppress
from digest.digests.models import Suppression
from digest.digests.unsubscribe import unsubscribe

log = logging.getLogger(__name__)

# Reject reasons that say the address itself is bad (rather than "try later").
PERMANENT_REASONS = {
    RejectReason.INVALID,
    RejectReason.BOUNCED,
    RejectReason.BLOCKED,
    RejectReason.SPAM,
    None,
}


def handle_tracking_event(sender, event, esp_name: str, **kwargs) -> None:
    recipient = (event.recipient or "").strip()
    if not recipient:
        return
    detail = " ".join(
        part for part in (esp_name, event.description or "", event.mta_response or "") if part
    )
    if event.event_type == EventType.COMPLAINED:
        suppress(recipient, Suppression.Reason.COMPLAINT, detail)
    elif event.event_type in (EventType.BOUNCED, EventType.REJECTED):
        if _is_soft_bounce(event):
            return
        if event.reject_reason in PERMANENT_REASONS:
            suppress(recipient, Suppression.Reason.BOUNCE, detail)
    elif event.event_type == EventType.UNSUBSCRIBED:
        for user in User.objects.filter(email__iexact=recipient):
            unsubscribe(user)
    else:
        return
    log.info("%s webhook: %s for %s", esp_name, event.event_type, recipient)


def _is_soft_bounce(event) -> bool:
    """Providers that map soft bounces to "bounced" still say so in their raw event."""
    raw = event.esp_event if isinstance(event.esp_event, dict) else {}
    kind = str(raw.get("Type") or raw.get("bounce_type") or raw.get("bounceType") or "")
    return kind.lower() in ("softbounce", "transient", "soft")


def connect_signals() -> None:
    tracking.connect(handle_tracking_event, dispatch_uid="digest.digests.bounces")


def _require_webhook_secret(view):
    """Anymail accepts unauthenticated webhooks (with a warning) when no secret is set; we do
    not: anyone could suppress any address. Without ANYMAIL_WEBHOOK_SECRET the URLs are 404."""

    @functools.wraps(view)
    def guarded(request, *args, **kwargs):
        if not settings.ANYMAIL.get("WEBHOOK_SECRET"):
            raise Http404("webhooks are off: ANYMAIL_WEBHOOK_SECRET is not set")
        return view(request, *args, **kwargs)

    return csrf_exempt(guarded)


def webhook_urlpatterns() -> list[URLPattern]:
    return [
        URLPattern(p.pattern, _require_webhook_secret(p.callback), p.default_args, p.name)
        for p in anymail_urls.urlpatterns
    ]
