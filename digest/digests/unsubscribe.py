"""Unsubscribe links that work without logging in, and what unsubscribing does.

The token is signed with ``SECRET_KEY`` (salted for this purpose only) and carries the user id
and a keyed hash of the address the mail went to: changing the account's email address
invalidates old links, and the address itself never appears in a URL. It does not expire — an
unsubscribe link in a years-old email must still work (Gmail/Yahoo bulk-sender rules).

Resubscribing has its own token (another salt), because the unsubscribe token travels in every
forwarded digest and must not undo the reader's choice. It is handed out only in the answer to
the POST that did the unsubscribing, is bound to that unsubscribe (its time), so it works once,
and lapses after ``RESUBSCRIBE_WINDOW``. After that the reader logs in (a password or a code
mailed to them) and resumes on the settings page: nobody gets stuck unsubscribed.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts.models import User
from digest.digests.models import Delivery
from digest.digests.schedule import next_digest_at

SALT = "paperboy.unsubscribe"
RESUBSCRIBE_SALT = "paperboy.resubscribe"
# Long enough to change one's mind on the page, short enough that a stray copy soon goes stale.
RESUBSCRIBE_WINDOW = dt.timedelta(hours=1)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _address_tag(email: str) -> str:
    return salted_hmac(SALT + ".address", email.strip().lower()).hexdigest()[:16]


def _signer() -> signing.Signer:
    return signing.Signer(salt=SALT, sep=".")


def make_token(user: User) -> str:
    """URL-safe token: ``<id>-<address tag>.<signature>``."""
    return _signer().sign(f"{user.pk}-{_address_tag(user.email)}")


def user_for_token(token: str) -> User | None:
    """The user the token was made for, or None if it is forged, mangled or outdated."""
    try:
        value = _signer().unsign(token)
        user_id, tag = value.split("-", 1)
        user = get_user_model().objects.get(pk=int(user_id))
    except (signing.BadSignature, ValueError, get_user_model().DoesNotExist):
        return None
    if _address_tag(user.email) != tag:
        return None
    return user


def _resubscribe_signer() -> signing.Signer:
    return signing.Signer(salt=RESUBSCRIBE_SALT, sep=".")


def _unsubscribed_stamp(user: User) -> int:
    """``unsubscribed_at`` in whole microseconds: names one unsubscribe, exactly."""
    return (user.unsubscribed_at - _EPOCH) // dt.timedelta(microseconds=1)


def resubscribe_token(user: User) -> str:
    """The "changed my mind" token for ``user``'s current unsubscribe (they must be
    unsubscribed): ``<id>-<address tag>-<unsubscribed at>.<signature>``."""
    if user.unsubscribed_at is None:
        raise ValueError("only an unsubscribed user gets a resubscribe token")
    return _resubscribe_signer().sign(
        f"{user.pk}-{_address_tag(user.email)}-{_unsubscribed_stamp(user)}"
    )


def user_for_resubscribe_token(token: str, *, now=None) -> User | None:
    """The user who may resubscribe with ``token``; None if it is forged, made for another
    unsubscribe (so already used), or older than ``RESUBSCRIBE_WINDOW``."""
    now = now or timezone.now()
    try:
        user_id, tag, stamp = _resubscribe_signer().unsign(token).split("-", 2)
        user = get_user_model().objects.get(pk=int(user_id))
    except (signing.BadSignature, ValueError, get_user_model().DoesNotExist):
        return None
    if (
        user.unsubscribed_at is None
        or _address_tag(user.email) != tag
        or str(_unsubscribed_stamp(user)) != stamp
        or now - user.unsubscribed_at > RESUBSCRIBE_WINDOW
    ):
        return None
    return user


@transaction.atomic
def unsubscribe(user: User, *, now=None) -> bool:
    """Stop every digest for ``user`` now, including ones already queued.

    Idempotent: unsubscribing twice keeps the first time. The schedule itself (frequency, hour)
    is kept so resubscribing restores it. True if this call did the unsubscribing (only then
    may the caller offer ``resubscribe_token``).
    """
    now = now or timezone.now()
    changed = (
        get_user_model()
        .objects.filter(pk=user.pk, unsubscribed_at__isnull=True)
        .update(unsubscribed_at=now, next_digest_at=None)
    )
    Delivery.objects.filter(
        digest__user=user,
        status__in=[Delivery.Status.PENDING, Delivery.Status.RETRYING],
    ).update(status=Delivery.Status.CANCELLED, last_error="Unsubscribed", lease_until=None)
    user.refresh_from_db(fields=["unsubscribed_at", "next_digest_at"])
    return bool(changed)


@transaction.atomic
def resubscribe(user: User, *, now=None) -> None:
    now = now or timezone.now()
    user.unsubscribed_at = None
    user.next_digest_at = next_digest_at(user, after=now)
    get_user_model().objects.filter(pk=user.pk).update(
        unsubscribed_at=None, next_digest_at=user.next_digest_at
    )
