"""Staff's "Send today's digest now": build the digest for one user and deliver it at once,
through the same two steps the daily run uses (``build_digest`` then ``send_delivery``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from accounts.models import User
from digest.digests.compose import build_digest
from digest.digests.delivery import send_delivery
from digest.digests.models import Delivery, Digest


@dataclass
class SendNowOutcome:
    sent: bool
    message: str
    digest: Digest | None = None


def send_digest_now(user: User, *, now: dt.datetime | None = None) -> SendNowOutcome:
    now = now or timezone.now()
    today = now.astimezone(user.tzinfo).date()
    digest = Digest.objects.filter(user=user, date=today).select_related("delivery").first()
    if digest is None:
        digest = build_digest(user, now=now)
        if digest is None:
            return SendNowOutcome(
                False, "Nothing to send: no new paper matched your subscriptions."
            )
    delivery = Delivery.objects.filter(digest=digest).first()
    if delivery is None:
        return SendNowOutcome(False, "Today's digest has no email to send.", digest)
    if delivery.status == Delivery.Status.SENT:
        return SendNowOutcome(False, "Today's digest was already sent.", digest)
    send_delivery(delivery.id)
    delivery.refresh_from_db()
    if delivery.status == Delivery.Status.SENT:
        return SendNowOutcome(True, f"Today's digest was sent to {delivery.to_email}.", digest)
    return SendNowOutcome(
        False, f"The digest could not be sent ({delivery.get_status_display()}).", digest
    )
