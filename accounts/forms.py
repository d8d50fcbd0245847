"""Forms for sign-up and the subscriber's own settings."""

from __future__ import annotations

import zoneinfo

from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.contrib.auth.hashers import make_password
from django.http import HttpRequest

from accounts.models import User

VALID_TIMEZONES = frozenset(zoneinfo.available_timezones())

# Shown without JavaScript, when the weekday field is always there; static/js/schedule.js
# hides the field unless "Once a week" is chosen.
WEEKDAY_HELP = "Only for weekly digests."


def clean_timezone_name(value: str | None) -> str:
    """A browser-reported zone name, or UTC when it is missing or unknown."""
    value = (value or "").strip()
    return value if value in VALID_TIMEZONES else "UTC"


class LoginForm(AllauthLoginForm):
    """allauth's log-in form without the reset link in the password's help text: the page
    has its own "Forgot your password?" beside the button, and one is enough."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["password"].help_text = ""


class SignupForm(AllauthSignupForm):
    """allauth's sign-up form plus the browser's time zone (a hidden field filled by
    ``static/js/timezone.js``; without JavaScript it stays UTC and onboarding asks)."""

    timezone = forms.CharField(required=False, widget=forms.HiddenInput, initial="UTC")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs.update({"autocomplete": "email"})
        self.fields["email"].label = "Email address"
        self.fields["email"].widget.attrs.pop("placeholder", None)
        for name in ("password1", "password2"):
            if name in self.fields:
                self.fields[name].widget.attrs.pop("placeholder", None)
        self.fields["timezone"].widget.attrs["data-detect-timezone"] = "1"

    def clean_timezone(self) -> str:
        return clean_timezone_name(self.cleaned_data.get("timezone"))

    def try_save(self, request: HttpRequest):
        # With ACCOUNT_PREVENT_ENUMERATION a taken address gets the same page as a new one and
        # its owner a "you already have an account" mail, but allauth skips the password hash
        # there, which is most of a sign-up's time: hash it anyway (and throw it away), so the
        # time taken does not tell a prober the address is registered. Both paths then send
        # one mail through the same adapter.
        if self.account_already_exists:
            make_password(self.cleaned_data.get("password1"))
        return super().try_save(request)


class DigestSettingsForm(forms.ModelForm):
    """When and how often the digest comes."""

    delivery_hour = forms.TypedChoiceField(
        label="Delivery hour",
        coerce=int,
        choices=[(hour, f"{hour:02d}:00") for hour in range(24)],
        help_text="In your time zone.",
    )

    class Meta:
        model = User
        fields = [
            "timezone",
            "frequency",
            "weekday",
            "delivery_hour",
            "papers_per_digest",
            "skip_empty",
        ]
        labels = {
            "timezone": "Time zone",
            "frequency": "How often",
            "weekday": "Day of the week",
            "papers_per_digest": "Papers per email at most",
            "skip_empty": "Send nothing on days when no paper matched",
        }
        help_texts = {"weekday": WEEKDAY_HELP, "skip_empty": ""}
        widgets = {
            "frequency": forms.Select(attrs={"data-frequency": "1"}),
            "weekday": forms.Select(attrs={"data-weekday": "1"}),
        }

    def clean_papers_per_digest(self) -> int:
        value = self.cleaned_data["papers_per_digest"]
        if not 1 <= value <= 100:
            raise forms.ValidationError("Choose between 1 and 100 papers.")
        return value


class ResumeForm(forms.Form):
    frequency = forms.ChoiceField(
        label="Resume",
        choices=[(User.Frequency.DAILY, "Every day"), (User.Frequency.WEEKLY, "Once a week")],
        initial=User.Frequency.DAILY,
    )


class DeleteAccountForm(forms.Form):
    """Deleting is final: the person types their address to confirm (works without a password,
    for people who only log in with emailed codes)."""

    confirm_email = forms.CharField(
        label="Type your email address to confirm",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_confirm_email(self) -> str:
        typed = self.cleaned_data["confirm_email"].strip()
        if typed.lower() != self.user.email.lower():
            raise forms.ValidationError(
                "That is not your email address; the account was not deleted."
            )
        return typed
