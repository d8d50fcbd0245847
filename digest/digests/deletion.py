"""Delete my account: nothing of the subscriber remains, and no mail leaves afterwards.

Order matters:

1. Every delivery of theirs that could still go out (pending, retrying, or claimed by a worker
   and ``sending``) is marked ``cancelled`` and its claim dropped, in its own committed
   transaction, with the rows locked (``SELECT … FOR UPDATE``): a worker that holds a row lock
   while sending finishes first; any worker that checks its claim afterwards finds it gone
   (see ``digest.digests.delivery``: a claim is re-checked under a row lock right before sending).
2. Then, in one transaction, the user row goes and with it (CASCADE) subscriptions, matches,
   digests, digest items, deliveries, feedback, allauth's email addresses; suppressions of
   their addresses and their sessions are deleted explicitly (no foreign key reaches them).
"""

from __future__ import annotations

from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from digest.digests.models import Delivery, Suppression

IN_FLIGHT = (Delivery.Status.PENDING, Delivery.Status.RETRYING, Delivery.Status.SENDING)


@dataclass
class DeletionReport:
    email: str
    deliveries_cancelled: int


def cancel_deliveries(user: User) -> int:
    with transaction.atomic():
        in_flight = list(
            Delivery.objects.select_for_update(of=("self",))
            .filter(digest__user=user, status__in=IN_FLIGHT)
            .values_list("id", flat=True)
        )
        return Delivery.objects.filter(id__in=in_flight, status__in=IN_FLIGHT).update(
            status=Delivery.Status.CANCELLED,
            claimed_by="",
            lease_until=None,
            last_error="cancelled: the account was deleted",
        )


def _delete_sessions(user_id: int) -> None:
    key = str(user_id)
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get("_auth_user_id") == key:
            session.delete()


def delete_account(user: User) -> DeletionReport:
    email = user.email
    cancelled = cancel_deliveries(user)
    with transaction.atomic():
        known = EmailAddress.objects.filter(user=user).values_list("email", flat=True)
        addresses = {email.lower()} | {address.lower() for address in known}
        for address in addresses:
            Suppression.objects.filter(email__iexact=address).delete()
        _delete_sessions(user.pk)
        user.delete()
    return DeletionReport(email=email, deliveries_cancelled=cancelled)
