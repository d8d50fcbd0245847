"""The subscriber's settings: digest schedule, pause/resume, private feed, export, deletion,
and the onboarding page after sign-up. Thin: forms validate, services write."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts import services
from accounts.forms import DeleteAccountForm, DigestSettingsForm, ResumeForm
from digest.digests.deletion import delete_account
from digest.digests.export import export_user_data
from digest.web.forms import OnboardingForm
from digest.web.ratelimit import consume_or_429
from subscriptions.onboarding import complete_onboarding, papers_to_like
from subscriptions.preview import run_preview


def _next_or(request: HttpRequest, default: str) -> str:
    """A same-site ``next`` from the form, else ``default`` (never an open redirect)."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(default)


@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        if (limited := consume_or_429(request, "account")) is not None:
            return limited
        form = DigestSettingsForm(request.POST, instance=request.user)
        if form.is_valid():
            services.update_digest_settings(request.user, **form.cleaned_data)
            messages.success(request, "Digest settings saved.")
            return redirect("accounts:settings")
    else:
        form = DigestSettingsForm(instance=request.user)
    feed_url = request.build_absolute_uri(reverse("feed", args=[request.user.feed_token]))
    return render(
        request,
        "accounts/settings.html",
        {"form": form, "feed_url": feed_url, "resume_form": ResumeForm()},
    )


@require_POST
@login_required
def pause(request: HttpRequest) -> HttpResponse:
    if (limited := consume_or_429(request, "account")) is not None:
        return limited
    services.pause_digests(request.user)
    messages.success(request, "Digests paused. Nothing will be sent until you resume.")
    return redirect(_next_or(request, "subscriptions:list"))


@require_POST
@login_required
def resume(request: HttpRequest) -> HttpResponse:
    if (limited := consume_or_429(request, "account")) is not None:
        return limited
    form = ResumeForm(request.POST)
    frequency = form.cleaned_data["frequency"] if form.is_valid() else "daily"
    services.resume_digests(request.user, frequency)
    messages.success(request, "Digests resumed.")
    return redirect(_next_or(request, "subscriptions:list"))


@require_POST
@login_required
def rotate_feed(request: HttpRequest) -> HttpResponse:
    if (limited := consume_or_429(request, "account")) is not None:
        return limited
    services.rotate_feed_token(request.user)
    messages.success(request, "New feed address made. The old one no longer works.")
    return redirect(reverse("accounts:settings") + "#feed")


@login_required
def export(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return redirect(reverse("accounts:settings") + "#export")
    if (limited := consume_or_429(request, "export")) is not None:
        return limited
    data = export_user_data(request.user)
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json"
    )
    filename = f"paperboy-export-{timezone.localdate().isoformat()}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def delete(request: HttpRequest) -> HttpResponse:
    form = DeleteAccountForm(request.POST or None, user=request.user)
    if request.method == "POST":
        if (limited := consume_or_429(request, "account")) is not None:
            return limited
        if form.is_valid():
            user = request.user
            logout(request)
            report = delete_account(user)
            return render(request, "accounts/deleted.html", {"email": report.email})
    return render(request, "accounts/delete.html", {"form": form})


def _liked_note(count: int) -> str:
    if not count:
        return ""
    papers = "paper" if count == 1 else "papers"
    return (
        f" The {count} {papers} you like are saved as your first ratings:"
        " they help rank your digests."
    )


@login_required
def onboarding(request: HttpRequest) -> HttpResponse:
    """After sign-up: categories, a first query with a preview of last week's matches, a few
    of last week's papers to tick as liked, and the schedule. Without JavaScript, "Preview" is
    a plain form post that shows the preview."""
    user = request.user
    initial = {
        "timezone": user.timezone,
        "delivery_hour": user.delivery_hour,
        "frequency": user.frequency if user.frequency != user.Frequency.PAUSED else "daily",
        "weekday": user.weekday,
    }
    form = OnboardingForm(request.POST or None, initial=initial, papers_to_like=papers_to_like())
    preview = None
    if request.method == "POST":
        if (limited := consume_or_429(request, "subscriptions")) is not None:
            return limited
        if form.is_valid():
            data = form.cleaned_data
            if request.POST.get("action") == "preview":
                preview = run_preview(data["query"], categories=data["categories"])
            else:
                try:
                    complete_onboarding(user, **data)
                except ValidationError as error:
                    form.add_error("query", error.message_dict.get("query", error.messages))
                else:
                    messages.success(
                        request,
                        f"You're all set: your digest comes at {user.delivery_hour:02d}:00 "
                        f"({user.timezone}), when new papers match."
                        + _liked_note(len(data["liked_papers"])),
                    )
                    return redirect("subscriptions:list")
        if preview is None:
            # After a failed save the pane shows the query as submitted, not its idle text.
            preview = run_preview(
                request.POST.get("query", ""), categories=request.POST.getlist("categories")
            )
    return render(request, "accounts/onboarding.html", {"form": form, "preview": preview})
