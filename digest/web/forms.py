"""Forms of the subscription pages and of onboarding. The query's syntax is checked by the model
(``Subscription.clean`` parses it with ``subscriptions.query``); the forms add the limits a
person can see."""

from __future__ import annotations

from collections.abc import Sequence

from django import forms

from accounts.forms import VALID_TIMEZONES, WEEKDAY_HELP
from accounts.models import User
from digest.papers.models import Paper
from subscriptions import arxiv_categories
from subscriptions.models import Subscription
from subscriptions.onboarding import default_subscription_name

QUERY_MAX_LENGTH = 1000


class SubscriptionForm(forms.ModelForm):
    class Meta:
        model = Subscription
        fields = ["name", "query", "enabled"]
        labels = {"name": "Name", "query": "Query", "enabled": "Active"}
        help_texts = {
            "name": "Optional; we'll use the query if you leave it empty. "
            "It heads this subscription's papers in the email.",
            "query": "Words or phrases to look for in new papers, e.g. "
            '<code>zero-shot</code> or <code>"vision transformer" AND segmentation</code>.',
            "enabled": "Untick to keep the subscription but stop matching it.",
        }
        widgets = {
            "name": forms.TextInput(attrs={"autocomplete": "off", "maxlength": 100}),
            "query": forms.Textarea(
                attrs={
                    "rows": 3,
                    "maxlength": QUERY_MAX_LENGTH,
                    "spellcheck": "false",
                    "autocomplete": "off",
                    "data-query-input": "1",
                }
            ),
        }

    def __init__(self, *args, owner=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The model's clean() needs an owner only for cross-row checks; give it one early.
        if owner is not None:
            self.instance.owner = owner
        # A view-only admin page (curators) builds this form with no fields at all.
        if "name" in self.fields:
            # Optional, as in onboarding: an unnamed subscription is named after its query.
            self.fields["name"].required = False
        if "query" in self.fields:
            self.fields["query"].error_messages["required"] = "Write what to look for."

    def clean_name(self) -> str:
        return " ".join((self.cleaned_data.get("name") or "").split())

    def clean(self) -> dict:
        cleaned = super().clean()
        if "name" in self.fields and not cleaned.get("name") and cleaned.get("query"):
            cleaned["name"] = default_subscription_name(cleaned["query"])
        return cleaned

    def clean_query(self) -> str:
        query = self.cleaned_data["query"].strip()
        if not query:
            raise forms.ValidationError("Write what to look for.")
        if len(query) > QUERY_MAX_LENGTH:
            raise forms.ValidationError(
                f"Keep the query under {QUERY_MAX_LENGTH} characters (it has {len(query)})."
            )
        return query


class OnboardingForm(forms.Form):
    """The first subscription and the digest schedule, on one page after sign-up, and the
    recent papers the reader ticks as liked (``papers_to_like``: the papers on offer; an id
    not among them is refused, so a tampered form cannot rate an arbitrary or hidden paper)."""

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
        widget=forms.RadioSelect(attrs={"data-frequency": "1"}),
    )
    weekday = forms.TypedChoiceField(
        label="On",
        coerce=int,
        required=False,
        empty_value=User.Weekday.MONDAY,
        choices=User.Weekday.choices,
        initial=User.Weekday.MONDAY,
        help_text=WEEKDAY_HELP,
        widget=forms.Select(attrs={"data-weekday": "1"}),
    )
    liked_papers = forms.TypedMultipleChoiceField(
        label="Papers you like",
        required=False,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "invalid_choice": "One of the ticked papers is no longer on offer. "
            "Tick the ones you like from the list below."
        },
    )

    MAX_CATEGORIES = 10

    def __init__(self, *args, papers_to_like: Sequence[Paper] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.papers_to_like = list(papers_to_like)
        self.fields["liked_papers"].choices = [(p.pk, p.title) for p in self.papers_to_like]
        self.fields["categories"].choices = arxiv_categories.choices()
        self.fields["timezone"].choices = [(name, name) for name in sorted(VALID_TIMEZONES)]
        # Without JavaScript the user picks; with it, the browser's zone is preselected
        # unless sign-up already stored one.
        self.fields["timezone"].widget.attrs["data-detect-timezone"] = "if-utc"

    def clean_categories(self) -> list[str]:
        categories = self.cleaned_data["categories"]
        if len(categories) > self.MAX_CATEGORIES:
            raise forms.ValidationError(f"Choose at most {self.MAX_CATEGORIES} categories.")
        return categories

    def clean_liked_papers(self) -> list[int]:
        return list(dict.fromkeys(self.cleaned_data["liked_papers"]))

    def clean(self) -> dict:
        cleaned = super().clean()
        if not (cleaned.get("query") or "").strip() and not cleaned.get("categories"):
            self.add_error("query", "Write what to look for, or choose at least one category.")
        return cleaned
