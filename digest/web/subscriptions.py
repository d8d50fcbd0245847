"""My subscriptions: list, add, edit, delete. Thin: forms validate, services write."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from digest.digests.send_now import send_digest_now as send
from digest.web.forms import SubscriptionForm
from digest.web.queries import preview_of
from digest.web.ratelimit import consume_or_429
from subscriptions import selectors, services
from subscriptions.models import Subscription
from subscriptions.preview import run_preview


@login_required
def subscription_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "subscriptions/list.html",
        {
            "items": selectors.subscriptions_with_recent_matches(request.user),
            "recent_days": selectors.RECENT_DAYS,
        },
    )


def _save(request: HttpRequest, form: SubscriptionForm, subscription: Subscription | None):
    data = form.cleaned_data
    try:
        fields = {name: data[name] for name in services.EDITABLE if name in data}
        if subscription is None:
            return services.create_subscription(
                owner=request.user, examples=data["examples"], **fields
            )
        return services.update_subscription(subscription, examples=data["examples"], **fields)
    except ValidationError as error:
        form.add_error(None, error)
        return None


def _edit(request: HttpRequest, subscription: Subscription | None) -> HttpResponse:
    preview = None
    if request.method == "POST":
        if (limited := consume_or_429(request, "subscriptions")) is not None:
            return limited
        form = SubscriptionForm(request.POST, instance=subscription, owner=request.user)
        if (
            request.POST.get("action") != "preview"
            and form.is_valid()
            and (saved := _save(request, form, subscription)) is not None
        ):
            verb = "added" if subscription is None else "saved"
            messages.success(request, f"Subscription “{saved.name}” {verb}.")
            return redirect("subscriptions:list")
        # The no-JavaScript preview, and after a failed save: what the form as submitted
        # would match (the pane must not fall back to its idle text).
        preview = preview_of(request.POST)
    else:
        form = SubscriptionForm(
            instance=subscription,
            owner=request.user,
            initial={"enabled": True} if subscription is None else None,
        )
    if preview is None and subscription is not None and request.method == "GET":
        preview = run_preview(
            subscription.query,
            categories=subscription.categories,
            interest=subscription.interest,
            examples=[p.arxiv_id for p in subscription.examples.all() if p.arxiv_id],
            strictness=subscription.strictness,
        )
    return render(
        request,
        "subscriptions/form.html",
        {"form": form, "subscription": subscription, "preview": preview},
    )


@login_required
def subscription_add(request: HttpRequest) -> HttpResponse:
    return _edit(request, None)


@login_required
def subscription_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _edit(request, get_object_or_404(Subscription, pk=pk, owner=request.user))


@login_required
def subscription_delete(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = get_object_or_404(Subscription, pk=pk, owner=request.user)
    if request.method == "POST":
        services.delete_subscription(subscription)
        messages.success(request, f"Subscription “{subscription.name}” deleted.")
        return redirect("subscriptions:list")
    return render(request, "subscriptions/confirm_delete.html", {"subscription": subscription})


@require_POST
@staff_member_required
def send_digest_now(request: HttpRequest) -> HttpResponse:
    outcome = send(request.user)
    (messages.success if outcome.sent else messages.info)(request, outcome.message)
    return redirect("subscriptions:list")


@login_required
def preview_fragment(request: HttpRequest) -> HttpResponse:
    """The preview as an HTML fragment, fetched by static/js/preview.js as the person types
    (the same template the no-JavaScript form post renders)."""
    if (limited := consume_or_429(request, "preview")) is not None:
        return limited
    return render(request, "subscriptions/_preview.html", {"preview": preview_of(request.GET)})
