"""Signed links that work without logging in: "view in browser" for a digest and the
feedback buttons under each paper of the email.

The tokens are ``django.core.signing`` signatures with a purpose-specific salt, so a token
made for one purpose is useless for another, and they carry ids only (no email address).
They do not expire: an email read a month later must still open.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

from digest.models import Digest, Feedback, Paper

VIEW_SALT = "paperboy.digest-view"
FEEDBACK_SALT = "paperboy.feedback"


def absolute(path: str) -> str:
    return settings.SITE_URL + path


# The "view in browser" token is the same as the mail helper's (branch mail, digest/links.py):
# keep them identical so either module can make and check it.
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
    """The email's "view in browser" link (absolute)."""
    return absolute(reverse("digest_web", kwargs={"token": digest_view_token(digest)}))


def feedback_token(user_id: int, paper_id: int, kind: str) -> str:
    return signing.dumps({"u": user_id, "p": paper_id, "k": kind}, salt=FEEDBACK_SALT)


def feedback_url(user, paper: Paper, kind: str) -> str:
    """A "more like this" (``kind="more"``) or "not relevant" (``"less"``) link for the
    email (absolute). GET shows a confirm page; POST records the feedback."""
    if kind not in Feedback.Kind.values:
        raise ValueError(f"feedback kind must be one of {Feedback.Kind.values}, not {kind!r}")
    return absolute(reverse("feedback", args=[feedback_token(user.pk, paper.pk, kind)]))


def feedback_from_token(token: str) -> tuple[int, int, str] | None:
    """``(user_id, paper_id, kind)`` from a feedback token, or None if it is not valid."""
    try:
        data = signing.loads(token, salt=FEEDBACK_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("k") not in Feedback.Kind.values:
        return None
    try:
        return int(data["u"]), int(data["p"]), str(data["k"])
    except (KeyError, TypeError, ValueError):
        return None
