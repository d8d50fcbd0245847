"""Today's issue: what goes out today, the exact email any subscriber gets, a test send to
yourself, and the hold / release switch for the day's send.

The pages live under the Paper admin (``/admin/papers/paper/today/``) so they share the admin's
login, CSRF protection and permissions; the views only parse input and call
``digest.curation`` / ``digest.digests.reports``.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.http import urlencode
from django.views import View
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.generic import TemplateView
from unfold.views import UnfoldModelAdminViewMixin
from unfold.widgets import UnfoldAdminSingleDateWidget, UnfoldAdminTextInputWidget

from accounts.models import User
from digest import curation
from digest.digests import reports

# Looking at what subscribers will get means looking at papers and at subscribers.
TODAY_PERMISSIONS = ("papers.view_paper", "accounts.view_user")
HOLD_PERMISSION = "digests.hold_send"
PREVIEW_WIDTHS = (("Desktop", 1280), ("Phone", 375))
# The preview is our own composer's output, but it is built from feed text: it may show
# anything and run nothing.
PREVIEW_CSP = (
    "script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'self'"
)


def urls(model_admin) -> list[URLPattern]:
    site = model_admin.admin_site
    return [
        path(
            "today/",
            site.admin_view(TodayIssueView.as_view(model_admin=model_admin)),
            name="digest_today",
        ),
        path(
            "today/preview/<int:user_id>/",
            site.admin_view(preview_email_view),
            name="digest_today_preview",
        ),
        path("today/send-test/", site.admin_view(SendTestView.as_view()), name="digest_today_test"),
        path("today/hold/", site.admin_view(HoldView.as_view()), name="digest_today_hold"),
        path("today/release/", site.admin_view(ReleaseView.as_view()), name="digest_today_release"),
    ]


# Candidates listed when part of an address matches several subscribers.
MAX_CANDIDATES = 20


def today_url(subscriber: User | None = None) -> str:
    """Today's issue, previewing ``subscriber`` (by address: the box shows what was typed)."""
    url = reverse("admin:digest_today")
    if subscriber is not None:
        url += "?" + urlencode({"subscriber": subscriber.email})
    return url


def find_subscribers(text: str) -> list[User]:
    """Subscribers for what a curator typed: the one with that id or exactly that address
    (case-insensitive), else everyone whose address contains it, up to ``MAX_CANDIDATES``."""
    text = text.strip()
    if not text:
        return []
    exact = Q(email__iexact=text)
    if text.isdigit():
        exact |= Q(pk=int(text))
    found = list(User.objects.filter(exact).order_by("pk")[:1])
    if not found:
        found = list(User.objects.filter(email__icontains=text).order_by("email")[:MAX_CANDIDATES])
    return found


class SubscriberForm(forms.Form):
    subscriber = forms.CharField(
        max_length=254,
        label="Subscriber",
        widget=UnfoldAdminTextInputWidget(attrs={"placeholder": "email address", "list": "due"}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.candidates: list[User] = []

    def clean_subscriber(self) -> User:
        found = find_subscribers(self.cleaned_data["subscriber"])
        if not found:
            raise forms.ValidationError("No subscriber's email address contains that.")
        if len(found) > 1:
            self.candidates = found
            raise forms.ValidationError("Several subscribers match; choose one:")
        return found[0]


class HoldForm(forms.Form):
    date = forms.DateField(widget=UnfoldAdminSingleDateWidget, required=False)
    reason = forms.CharField(
        max_length=200, required=False, widget=UnfoldAdminTextInputWidget(attrs={"size": 40})
    )


class TodayIssueView(UnfoldModelAdminViewMixin, TemplateView):
    title = "Today's issue"
    permission_required = TODAY_PERMISSIONS
    template_name = "admin/digest/today.html"

    def get_context_data(self, **kwargs):
        now = timezone.now()
        issue = reports.todays_issue(now=now)
        context = super().get_context_data(**kwargs)
        context.update(
            issue=issue,
            hold_form=HoldForm(initial={"date": issue.date}),
            can_hold=self.request.user.has_perm(HOLD_PERMISSION),
            preview_widths=PREVIEW_WIDTHS,
        )
        form = SubscriberForm(self.request.GET or None)
        context["subscriber_form"] = form
        if form.is_bound and form.is_valid():
            subscriber = form.cleaned_data["subscriber"]
            message = curation.preview_email(subscriber, now=now)
            context.update(
                subscriber=subscriber,
                message=message,
                preview_url=reverse("admin:digest_today_preview", args=[subscriber.pk]),
            )
        return context


@xframe_options_sameorigin
def preview_email_view(request: HttpRequest, user_id: int) -> HttpResponse:
    """The HTML part (or ``?part=text``) of the email ``user_id`` would get today."""
    if not request.user.has_perms(TODAY_PERMISSIONS):
        raise PermissionDenied
    subscriber = User.objects.filter(pk=user_id).first()
    message = curation.preview_email(subscriber) if subscriber else None
    if message is None:
        body = "<p>Nothing would be sent to this subscriber today.</p>"
        response = HttpResponse(body, content_type="text/html; charset=utf-8")
    elif request.GET.get("part") == "text":
        response = HttpResponse(message.body, content_type="text/plain; charset=utf-8")
    else:
        html = curation.html_part(message)
        if html is None:
            html = f"<pre>{escape(message.body)}</pre>"
        response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = PREVIEW_CSP
    return response


class PostOnlyView(PermissionRequiredMixin, View):
    http_method_names = ["post"]


class SendTestView(PostOnlyView):
    permission_required = TODAY_PERMISSIONS

    def post(self, request: HttpRequest) -> HttpResponse:
        form = SubscriberForm(request.POST)
        if not form.is_valid():
            messages.error(
                request, " ".join(form.errors.get("subscriber", ["Choose a subscriber."]))
            )
            return HttpResponseRedirect(today_url())
        subscriber = form.cleaned_data["subscriber"]
        sent = curation.send_test_digest(subscriber, to=request.user.email)
        if sent is None:
            messages.warning(
                request, f"{subscriber.email} would get no email today, so no test was sent."
            )
        else:
            messages.success(
                request, f"Sent a test of {subscriber.email}'s digest to {request.user.email}."
            )
        return HttpResponseRedirect(today_url(subscriber))


class HoldView(PostOnlyView):
    permission_required = (HOLD_PERMISSION,)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = HoldForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Enter a valid date (YYYY-MM-DD).")
            return HttpResponseRedirect(today_url())
        date = form.cleaned_data["date"] or timezone.localdate()
        hold = curation.hold_send(date, by=request.user, reason=form.cleaned_data["reason"])
        messages.warning(
            request,
            f"The send of {hold.date:%Y-%m-%d} is held: deliveries wait until you release it.",
        )
        return HttpResponseRedirect(today_url())


class ReleaseView(PostOnlyView):
    permission_required = (HOLD_PERMISSION,)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = HoldForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Enter a valid date (YYYY-MM-DD).")
            return HttpResponseRedirect(today_url())
        date = form.cleaned_data["date"] or timezone.localdate()
        if curation.release_send(date):
            messages.success(request, f"Released the send of {date:%Y-%m-%d}: it goes out now.")
        else:
            messages.info(request, f"The send of {date:%Y-%m-%d} was not held.")
        return HttpResponseRedirect(today_url())
