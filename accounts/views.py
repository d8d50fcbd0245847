"""The subscriber's settings: digest schedule. Thin; writes are in accounts.services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts import services
from accounts.forms import DigestSettingsForm


@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = DigestSettingsForm(request.POST, instance=request.user)
        if form.is_valid():
            services.update_digest_settings(request.user, **form.cleaned_data)
            messages.success(request, "Digest settings saved.")
            return redirect("accounts:settings")
    else:
        form = DigestSettingsForm(instance=request.user)
    return render(request, "accounts/settings.html", {"form": form})
