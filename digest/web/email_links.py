"""Pages reached from links in emails. They need no login: the signed token is the key."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from digest.digests import links
from digest.digests.unsubscribe import (
    resubscribe,
    unsubscribe,
    user_for_resubscribe_token,
    user_for_token,
)


def _invalid_link(request: HttpRequest) -> HttpResponse:
    return render(request, "digest/invalid_link.html", status=404)


# csrf_exempt, deliberately and only here: RFC 8058 one-click unsubscribe means the mail provider
# (Gmail, Yahoo, ...) POSTs "List-Unsubscribe=One-Click" to this URL from its own servers, with
# no cookies and no CSRF token. The signed token in the URL is what authorises the request; a
# forged cross-site POST can only unsubscribe the person whose secret link the attacker already
# has. GET never changes anything, because mail scanners and link previews follow links.
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe_view(request: HttpRequest, token: str) -> HttpResponse:
    user = user_for_token(token)
    if user is None:
        return _invalid_link(request)
    if request.method == "POST":
        # The undo button only for whoever actually unsubscribed: a replayed link (a forwarded
        # digest) must not mint a way to resubscribe the reader.
        did_it = unsubscribe(user)
        return render(
            request,
            "digest/unsubscribed.html",
            {"email": user.email, "resubscribe_url": links.resubscribe_url(user) if did_it else ""},
        )
    return render(
        request,
        "digest/unsubscribe_confirm.html",
        {"email": user.email, "already": user.unsubscribed_at is not None},
    )


# Same reasoning as above: the page offering this button was reached without a session.
@csrf_exempt
@require_POST
def resubscribe_view(request: HttpRequest, token: str) -> HttpResponse:
    user = user_for_resubscribe_token(token)
    if user is None:
        return render(request, "digest/resubscribe_expired.html", status=404)
    resubscribe(user)
    return render(
        request,
        "digest/resubscribed.html",
        {"email": user.email, "unsubscribe_url": links.unsubscribe_url(user)},
    )
