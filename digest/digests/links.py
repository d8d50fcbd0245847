"""Absolute, signed links that go into emails and work without logging in: view in browser,
feedback under each paper, manage subscriptions, unsubscribe.

The tokens are ``django.core.signing`` signatures with a purpose-specific salt, so a token made
for one purpose is useless for another. They do not expire: an email read a month later must
still open.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac

from django.conf import settings
from django.core import signing
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.crypto import constant_time_compare, salted_hmac

from digest.digests.models import Digest
from digest.digests.unsubscribe import make_token, resubscribe_token
from digest.papers.models import Paper
from subscriptions.models import Feedback

VIEW_SALT = "paperboy.digest-view"
FEEDBACK_SALT = "paperboy.feedback"


def absolute(path: str) -> str:
    return settings.SITE_URL + path


TOKEN_SLOT = "TOKEN-SLOT"


@functools.lru_cache(maxsize=64)
def _path(name: str, slotted: bool, script_prefix: str, urlconf: str) -> str:
    return reverse(name, kwargs={"token": TOKEN_SLOT} if slotted else None, urlconf=urlconf)


def cached_path(name: str) -> str:
    """``reverse(name)``, resolved once per process (and URL configuration): every digest
    carries several links, and ``reverse`` costs a tenth of a millisecond each."""
    return _path(name, False, get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)


def token_url(name: str, token: str) -> str:
    """``absolute(reverse(name, kwargs={"token": token}))`` for our ``<str:token>`` routes,
    resolved once per process like ``cached_path``. Our tokens are URL-safe (base64 and
    ``.-``), so putting one in needs no quoting."""
    path = _path(name, True, get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)
    return absolute(path.replace(TOKEN_SLOT, token))


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
    """The email's "view in browser" link; empty for a digest that is only being previewed."""
    if digest.pk is None:
        return ""
    return token_url("digest_web", digest_view_token(digest))


def manage_url() -> str:
    return absolute(cached_path("subscriptions:list"))


def unsubscribe_url(user) -> str:
    return token_url("unsubscribe", make_token(user))


def resubscribe_url(user) -> str:
    """Only for the page shown right after unsubscribing (see ``digest.digests.unsubscribe``);
    never put it in an email."""
    return token_url("resubscribe", resubscribe_token(user))


def unsubscribe_mailto(user) -> str:
    """``mailto:`` target for List-Unsubscribe, when an address that processes them is set."""
    if not settings.UNSUBSCRIBE_MAILTO:
        return ""
    return f"mailto:{settings.UNSUBSCRIBE_MAILTO}?subject=unsubscribe%20{make_token(user)}"


@functools.cache
def _feedback_key(secret: str) -> bytes:
    return salted_hmac(FEEDBACK_SALT, "key", secret).digest()


def _feedback_signature(value: str) -> str:
    """Keyed BLAKE2b (RFC 7693's MAC mode), 144 bits: a digest email carries fifty of these, and
    one costs a fifth of an HMAC-SHA256 (a new ``hmac`` object per call)."""
    key = _feedback_key(settings.SECRET_KEY)
    mac = hashlib.blake2b(value.encode(), key=key, digest_size=18, person=b"pb-feedback")
    return base64.urlsafe_b64encode(mac.digest()).decode()


def _hmac_feedback_signature(value: str) -> str:
    """What links sent before November 2026 were signed with (HMAC-SHA256): they keep working."""
    mac = hmac.digest(_feedback_key(settings.SECRET_KEY), value.encode(), "sha256")
    return base64.urlsafe_b64encode(mac[:18]).decode()


def feedback_token(user_id: int, paper_id: int, kind: str) -> str:
    """``<user>-<paper>-<kind>.<signature>``: no timestamp, so the same link every time (a
    preview is byte for byte the email that will be sent), and cheap — a digest email carries
    two per paper, for every recipient. A 144-bit MAC with a purpose-derived key."""
    value = f"{user_id}-{paper_id}-{kind}"
    return f"{value}.{_feedback_signature(value)}"


def feedback_url(user, paper: Paper, kind: str) -> str:
    """A "more like this" (``kind="more"``) or "not relevant" (``"less"``) link for the email.
    GET shows a confirm page; POST records the feedback."""
    if kind not in Feedback.Kind.values:
        raise ValueError(f"feedback kind must be one of {Feedback.Kind.values}, not {kind!r}")
    return token_url("feedback", feedback_token(user.pk, paper.pk, kind))


def feedback_from_token(token: str) -> tuple[int, int, str] | None:
    """``(user_id, paper_id, kind)`` from a feedback token, or None if it is not valid."""
    value, _, signature = token.rpartition(".")
    if not value or not (
        constant_time_compare(signature, _feedback_signature(value))
        or constant_time_compare(signature, _hmac_feedback_signature(value))
    ):
        return None
    try:
        user_id, paper_id, kind = value.split("-")
        parsed = int(user_id), int(paper_id), kind
    except ValueError:
        return None
    return parsed if kind in Feedback.Kind.values else None
