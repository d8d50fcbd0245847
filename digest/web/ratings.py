"""The reader's ratings page: every "more like this" / "not relevant" they gave, newest first,
each one to undo or to switch. Thin: ``subscriptions.feedback`` reads and writes, and keeps
each reader to their own ratings."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from digest.papers.models import Paper
from digest.web.ratelimit import consume_or_429
from subscriptions.feedback import ratings_of, record_feedback, switch_rating, undo_rating
from subscriptions.models import Feedback

RATINGS_PER_PAGE = 50


def _title(rating: Feedback) -> str:
    # A hidden paper is never shown, its title included (see ratings.html).
    return "a paper no longer shown here" if rating.paper.hidden else f"“{rating.paper.title}”"


def _back(request: HttpRequest) -> HttpResponse:
    """Back to the page of the list the button was on (a number, or the first page)."""
    page = request.POST.get("page", "")
    url = reverse("accounts:ratings")
    if page.isdigit() and 1 < int(page) < 100_000:
        url += f"?page={int(page)}"
    return redirect(url)


@login_required
def ratings(request: HttpRequest) -> HttpResponse:
    page = Paginator(ratings_of(request.user), RATINGS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "accounts/ratings.html", {"page": page})


@require_POST
@login_required
def undo(request: HttpRequest, pk: int) -> HttpResponse:
    if (limited := consume_or_429(request, "feedback")) is not None:
        return limited
    rating = undo_rating(request.user, pk)
    if rating is None:
        raise Http404("No such rating")
    messages.success(
        request, f"Rating removed: {_title(rating)}. Your next digests are ranked without it."
    )
    return _back(request)


@require_POST
@login_required
def switch(request: HttpRequest, pk: int) -> HttpResponse:
    if (limited := consume_or_429(request, "feedback")) is not None:
        return limited
    rating = switch_rating(request.user, pk)
    if rating is None:
        raise Http404("No such rating")
    messages.success(request, f"Now rated “{rating.get_kind_display()}”: {_title(rating)}.")
    return _back(request)


@require_POST
@login_required
def rate_paper(request: HttpRequest, paper_id: int, kind: str) -> HttpResponse:
    """The paper page's "More like this" / "Not relevant" buttons: the same rating as the
    email's links, for a reader who is logged in; back to the paper with what was recorded."""
    if kind not in Feedback.Kind.values:
        raise Http404("No such rating")
    paper = Paper.objects.visible().filter(pk=paper_id).first()
    if paper is None:
        raise Http404("No such paper")
    if (limited := consume_or_429(request, "feedback")) is not None:
        return limited
    record_feedback(user_id=request.user.pk, paper_id=paper.pk, kind=kind)
    messages.success(
        request,
        f"Rated “{Feedback.Kind(kind).label}”. Your next digests are ranked with it; "
        "see and undo your ratings on the ratings page.",
    )
    return redirect("paper", key=paper.key)
