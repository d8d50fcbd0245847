"""Public and subscriber pages of the site: landing, today's papers, the digest archive and
the signed "view in browser" page. Views are thin; reads live in small selector modules."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from accounts.forms import SignupForm
from accounts.models import User
from digest.digests import archive, links
from digest.digests.models import Digest
from digest.papers import daily as papers_today
from digest.papers.models import Paper
from digest.web.feeds import build_feed
from digest.web.ratelimit import consume_or_429
from subscriptions.feedback import record_feedback
from subscriptions.models import Feedback, Match
from subscriptions.similar import similar_papers

PAPERS_PER_PAGE = 50


def home(request: HttpRequest) -> HttpResponse:
    day = papers_today.latest_day()
    papers = papers_today.papers_for_day(day) if day else None
    return render(
        request,
        "digest/home.html",
        {
            "day": day,
            "today": timezone.localdate(),
            "papers": list(papers[:8]) if papers is not None else [],
            "page_total": papers.count() if papers is not None else 0,
            "form": SignupForm(),
        },
    )


def papers_day(request: HttpRequest, day: str | None = None) -> HttpResponse:
    if day is None:
        shown = papers_today.latest_day() or timezone.localdate()
    else:
        try:
            shown = dt.date.fromisoformat(day)
        except ValueError as exc:
            raise Http404("Not a date") from exc
    if request.GET.get("date"):  # the date picker (a plain GET form)
        try:
            picked = dt.date.fromisoformat(request.GET["date"])
        except ValueError:
            picked = None
        if picked:
            return redirect("papers_day", day=picked.isoformat())
    page = Paginator(papers_today.papers_for_day(shown), PAPERS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "digest/papers_day.html",
        {
            "day": shown,
            "page": page,
            "previous_day": papers_today.previous_day(shown),
            "next_day": papers_today.next_day(shown),
            "is_latest": day is None,
        },
    )


def paper(request: HttpRequest, key: str) -> HttpResponse:
    """A paper's own page: what it is, where to read it, which of my subscriptions matched it
    and the recent papers closest to it in meaning. Public; a hidden paper is not found."""
    shown = get_object_or_404(Paper.objects.visible(), key=key)
    my_matches = (
        Match.objects.filter(paper=shown, owner=request.user)
        .select_related("subscription")
        .order_by("subscription__name")
        if request.user.is_authenticated
        else Match.objects.none()
    )
    my_rating = (
        Feedback.objects.filter(paper=shown, user=request.user).first()
        if request.user.is_authenticated
        else None
    )
    return render(
        request,
        "digest/paper.html",
        {
            "paper": shown,
            "links": shown.links(),
            "my_matches": list(my_matches),
            "my_rating": my_rating,
            "rating_kinds": Feedback.Kind.choices,
            "similar": similar_papers(shown),
        },
    )


@login_required
def archive_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(archive.digests_of(request.user), 30).get_page(request.GET.get("page"))
    return render(request, "digest/archive.html", {"page": page})


@login_required
def archive_digest(request: HttpRequest, pk: int) -> HttpResponse:
    digest = get_object_or_404(Digest, pk=pk, user=request.user)
    return render(request, "digest/digest_page.html", archive.digest_page_context(digest))


def digest_web(request: HttpRequest, token: str) -> HttpResponse:
    """The email's "view in browser" link: a signed token instead of a login."""
    digest = links.digest_for_view_token(token)
    if digest is None:
        return render(request, "digest/invalid_link.html", status=404)
    response = render(
        request, "digest/digest_page.html", archive.digest_page_context(digest, signed=True)
    )
    # The URL is a bearer token: keep it out of Referer headers and shared caches.
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


# The signed token is the authority, not a session: like one-click unsubscribe, the POST must
# work from any mail client's browser, with or without cookies.
@csrf_exempt
def feedback(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a confirm page (mail scanners follow links; they must not vote). POST: record."""
    parsed = links.feedback_from_token(token)
    paper = Paper.objects.filter(pk=parsed[1]).first() if parsed else None
    if parsed is None or paper is None:
        return render(request, "digest/invalid_link.html", status=404)
    user_id, _, kind = parsed
    context = {"paper": paper, "kind": kind, "kind_label": Feedback.Kind(kind).label}
    if request.method == "POST":
        if (limited := consume_or_429(request, "feedback")) is not None:
            return limited
        recorded = record_feedback(user_id=user_id, paper_id=paper.pk, kind=kind)
        if recorded is None:
            return render(request, "digest/invalid_link.html", status=404)
        return render(request, "digest/feedback_done.html", context)
    response = render(request, "digest/feedback_confirm.html", context)
    response["Referrer-Policy"] = "no-referrer"
    return response


def feed(request: HttpRequest, token: str) -> HttpResponse:
    user = User.objects.filter(feed_token=token, is_active=True).first()
    if user is None:
        raise Http404("No such feed")
    response = HttpResponse(content_type="application/atom+xml; charset=utf-8")
    build_feed(user, token).write(response, "utf-8")
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response
