"""Absolute, signed links that go into emails and work without logging in: view in browser,
feedback under each paper, manage subscriptions, unsubscribe.

The tokens are ``django.core.signing`` signatures with a purpose-specific salt, so a token made
for one purpose is useless for another. They do not expire: an email read a month later must
still open.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

from digest.models import Digest, Feedback, Paper
from digest.unsubscribe import make_token

VIEW_SALT = "paperboy.digest-view"
FEEDBACK_SALT = "paperboy.feedback"


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
    """The email's "view in browser" link; empty for a digest that is only being previewed."""
    if digest.pk is None:
        return ""
    return absolute(reverse("digest_web", kwargs={"token": digest_view_token(digest)}))


def manage_url() -> str:
    return absolute(reverse("subscriptions:list"))


def unsubscribe_url(user) -> str:
    return absolute(reverse("unsubscribe", kwargs={"token": make_token(user)}))


def resubscribe_url(user) -> str:
    return absolute(reverse("resubscribe", kwargs={"token": make_token(user)}))


def unsubscribe_mailto(user) -> str:
    """``mailto:`` target for List-Unsubscribe, when an address that processes them is set."""
    if not settings.UNSUBSCRIBE_MAILTO:
        return ""
    return f"mailto:{settings.UNSUBSCRIBE_MAILTO}?subject=unsubscribe%20{make_token(user)}"


def feedback_token(user_id: int, paper_id: int, kind: str) -> str:
    # No timestamp (Signer, not signing.dumps): the same link every time, so a preview is
    # byte-for-byte the email that will be sent, and the tokens stay short.
    return signing.Signer(salt=FEEDBACK_SALT).sign_object({"u": user_id, "p": paper_id, "k": kind})


def feedback_url(user, paper: Paper, kind: str) -> str:
    """A "more like this" (``kind="more"``) or "not relevant" (``"less"``) link for the email.
    GET shows a confirm page; POST records the feedback."""
    if kind not in Feedback.Kind.values:
        raise ValueError(f"feedback kind must be one of {Feedback.Kind.values}, not {kind!r}")
    return absolute(reverse("feedback", args=[feedback_token(user.pk, paper.pk, kind)]))


def feedback_from_token(token: str) -> tuple[int, int, str] | None:
    """``(user_id, paper_id, kind)`` from a feedback token, or None if it is not valid."""
    try:
        data = signing.Signer(salt=FEEDBACK_SALT).unsign_object(token)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("k") not in Feedback.Kind.values:
        return None
    try:
        return int(data["u"]), int(data["p"]), str(data["k"])
    except (KeyError, TypeError, ValueError):
        return None
