"""Forms for sign-up and the subscriber's own settings."""

from __future__ import annotations

import zoneinfo

from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms

from accounts.models import User

VALID_TIMEZONES = frozenset(zoneinfo.available_timezones())


def clean_timezone_name(value: str | None) -> str:
    """A browser-reported zone name, or UTC when it is missing or unknown."""
    value = (value or "").strip()
    return value if value in VALID_TIMEZONES else "UTC"


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
            "weekday": "Day of the week (weekly digests)",
            "papers_per_digest": "Papers per email at most",
            "skip_empty": "Send nothing on days when no paper matched",
        }
        help_texts = {"weekday": "", "skip_empty": ""}

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


class OnboardingForm(forms.Form):
    """The first subscription and the digest schedule, on one page after sign-up."""

    categories = forms.MultipleChoiceField(
        label="arXiv categories",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Optional: only papers in these categories. Leave empty for all of arXiv.",
    )
    query = forms.CharField(
        label="What do you want to follow?",
        required=False,
        max_length=1000,
        widget=forms.Textarea(
            attrs={"rows": 2, "spellcheck": "false", "autocomplete": "off", "data-query-input": "1"}
        ),
    )
    name = forms.CharField(
        label="Name this subscription",
        required=False,
        max_length=100,
        help_text="Optional; we'll use the query if you leave it empty.",
    )
    timezone = forms.ChoiceField(label="Your time zone")
    delivery_hour = forms.TypedChoiceField(
        label="Send my digest at",
        coerce=int,
        choices=[(hour, f"{hour:02d}:00") for hour in range(24)],
    )
    frequency = forms.ChoiceField(
        label="How often",
        choices=[(User.Frequency.DAILY, "Every day"), (User.Frequency.WEEKLY, "Once a week")],
        widget=forms.RadioSelect,
    )

    MAX_CATEGORIES = 10

    def __init__(self, *args, **kwargs) -> None:
        from subscriptions.arxiv_categories import choices

        super().__init__(*args, **kwargs)
        self.fields["categories"].choices = choices()
        self.fields["timezone"].choices = [(name, name) for name in sorted(VALID_TIMEZONES)]
        # Without JavaScript the user picks; with it, the browser's zone is preselected
        # unless sign-up already stored one.
        self.fields["timezone"].widget.attrs["data-detect-timezone"] = "if-utc"

    def clean_categories(self) -> list[str]:
        categories = self.cleaned_data["categories"]
        if len(categories) > self.MAX_CATEGORIES:
            raise forms.ValidationError(f"Choose at most {self.MAX_CATEGORIES} categories.")
        return categories

    def clean(self) -> dict:
        cleaned = super().clean()
        if not (cleaned.get("query") or "").strip() and not cleaned.get("categories"):
            self.add_error("query", "Write what to look for, or choose at least one category.")
        return cleaned
