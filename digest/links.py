"""Absolute links that go into emails: view in browser, manage subscriptions, unsubscribe.

The "view in browser" page (URL name ``digest_web``, owned by the web pages) takes a signed token
for the digest, made and checked here, so the page needs no login: the link in the email is the
key, as for unsubscribing.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import NoReverseMatch, reverse

from digest.models import Digest
from digest.unsubscribe import make_token

VIEW_SALT = "paperboy.digest-view"


def absolute(path: str) -> str:
    return settings.SITE_URL + path


def _view_signer() -> signing.Signer:
    return signing.Signer(salt=VIEW_SALT, sep=".")


def digest_view_token(digest: Digest) -> str:
    return _view_signer().sign(f"{digest.pk}-{digest.user_id}")


def digest_for_view_token(token: str) -> Digest | None:
    """The digest a "view in browser" token was made for; None if forged or the digest is gone."""
    try:
        digest_id, user_id = _view_signer().unsign(token).split("-", 1)
        return Digest.objects.select_related("user").get(pk=int(digest_id), user_id=int(user_id))
    except (signing.BadSignature, ValueError, Digest.DoesNotExist):
        return None


def digest_view_url(digest: Digest) -> str:
    """The signed archive URL of ``digest``; empty until the web pages provide ``digest_web``."""
    if digest.pk is None:
        return ""
    try:
        return absolute(reverse("digest_web", kwargs={"token": digest_view_token(digest)}))
    except NoReverseMatch:
        return ""


def manage_url() -> str:
    try:
        return absolute(reverse("subscriptions:list"))
    except NoReverseMatch:
        # Until the subscriptions pages land: where digest/urls.py mounts them.
        return absolute("/subscriptions/")


def unsubscribe_url(user) -> str:
    return absolute(reverse("unsubscribe", kwargs={"token": make_token(user)}))


def resubscribe_url(user) -> str:
    return absolute(reverse("resubscribe", kwargs={"token": make_token(user)}))


def unsubscribe_mailto(user) -> str:
    """``mailto:`` target for List-Unsubscribe, when an address that processes them is set."""
    if not settings.UNSUBSCRIBE_MAILTO:
        return ""
    return f"mailto:{settings.UNSUBSCRIBE_MAILTO}?subject=unsubscribe%20{make_token(user)}"
