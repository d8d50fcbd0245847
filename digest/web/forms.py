"""Forms of the subscription pages and of onboarding. The query's syntax is checked by the model
(``Subscription.clean`` parses it with ``subscriptions.query``); the forms add the limits a
person can see."""

from __future__ import annotations

from collections.abc import Sequence

from django import forms

from accounts.forms import VALID_TIMEZONES, WEEKDAY_HELP
from accounts.models import User
from digest.papers.models import Paper
from subscriptions import arxiv_categories, semantic
from subscriptions.models import Subscription
from subscriptions.onboarding import default_subscription_name
from subscriptions.preview import (
    INTEREST_MAX_LENGTH,
    not_arxiv_ids_message,
    too_many_examples_message,
    unknown_examples_message,
)
from subscriptions.recommendations import (
    UnknownPapers,
    arxiv_ids_in,
    example_papers,
    is_arxiv_id,
)
from subscriptions.services import MAX_EXAMPLES, NOTHING_TO_FOLLOW

QUERY_MAX_LENGTH = 1000
MAX_CATEGORIES = 10
# Room for MAX_EXAMPLES arxiv.org addresses; a longer text is refused before it is read.
EXAMPLES_MAX_LENGTH = 2000
STRICTNESS_CHOICES = [
    ("", "Default"),
    (1, "1 — loose"),
    (2, "2"),
    (3, "3"),
    (4, "4"),
    (5, "5 — strict"),
]


def categories_field(help_text: str) -> forms.MultipleChoiceField:
    """The arXiv categories as checkboxes (their choices are set when a form is made)."""
    return forms.MultipleChoiceField(
        label="arXiv categories",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=help_text,
    )


class SubscriptionForm(forms.ModelForm):
    """What to follow, in any combination — a query, arXiv categories, an interest in words,
    example papers — and how strict matching by meaning is. ``cleaned_data["examples"]`` is
    the example papers (``Paper`` objects), for ``subscriptions.services``."""

    categories = categories_field(
        "Only papers in one of these categories. Alone, every new paper in them."
    )
    interest = forms.CharField(
        label="Your interest, in your own words",
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 3, "maxlength": INTEREST_MAX_LENGTH, "data-preview-input": "1"}
        ),
        help_text="Matched by meaning, not by exact words, e.g. "
        "<em>test-time adaptation of vision-language models</em>.",
    )
    examples = forms.CharField(
        label="Papers like these",
        required=False,
        widget=forms.Textarea(
            attrs={
                "rows": 2,
                "spellcheck": "false",
                "autocomplete": "off",
                "data-preview-input": "1",
            }
        ),
        help_text=f"Up to {MAX_EXAMPLES} arXiv ids or arxiv.org addresses, separated by spaces,"
        " commas or new lines, e.g. <code>2407.05407</code>. Matched by meaning.",
    )
    strictness = forms.TypedChoiceField(
        label="How strict",
        required=False,
        coerce=int,
        empty_value=None,
        choices=STRICTNESS_CHOICES,
        widget=forms.RadioSelect(attrs={"data-strictness": "1"}),
        help_text="How close in meaning a paper must be to your interest or example papers:"
        " loose finds more, strict fewer. A query alone is matched exactly, whatever this says.",
    )

    class Meta:
        model = Subscription
        fields = ["name", "query", "interest", "categories", "strictness", "enabled"]
        labels = {"name": "Name", "query": "Query", "enabled": "Active"}
        help_texts = {
            "name": "Optional; we'll name it after what it follows if you leave it empty. "
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

    field_order = ["query", "interest", "examples", "categories", "strictness", "name", "enabled"]

    def __init__(self, *args, owner=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The model's clean() needs an owner only for cross-row checks; give it one early.
        if owner is not None:
            self.instance.owner = owner
        # A view-only admin page (curators) builds this form with no fields at all.
        if "name" in self.fields:
            # Optional, as in onboarding: an unnamed subscription is named after what it follows.
            self.fields["name"].required = False
        if "query" in self.fields:
            self.fields["query"].required = False
        if "categories" in self.fields:
            self.fields["categories"].choices = arxiv_categories.choices()
        if "strictness" in self.fields:
            self.fields["strictness"].choices = [
                ("", f"Default ({default_strictness_text()})"),
                *STRICTNESS_CHOICES[1:],
            ]
        if self.instance.pk and "examples" in self.fields and not self.is_bound:
            self.initial["examples"] = "\n".join(
                paper.arxiv_id or paper.key for paper in self.instance.examples.all()
            )

    def clean_name(self) -> str:
        return " ".join((self.cleaned_data.get("name") or "").split())

    def clean_query(self) -> str:
        query = (self.cleaned_data.get("query") or "").strip()
        if len(query) > QUERY_MAX_LENGTH:
            raise forms.ValidationError(
                f"Keep the query under {QUERY_MAX_LENGTH} characters (it has {len(query)})."
            )
        return query

    def clean_interest(self) -> str:
        interest = " ".join((self.cleaned_data.get("interest") or "").split())
        if len(interest) > INTEREST_MAX_LENGTH:
            raise forms.ValidationError(
                f"Keep your interest under {INTEREST_MAX_LENGTH} characters"
                f" (it has {len(interest)})."
            )
        return interest

    def clean_categories(self) -> list[str]:
        categories = self.cleaned_data["categories"]
        if len(categories) > MAX_CATEGORIES:
            raise forms.ValidationError(
                f"Choose at most {MAX_CATEGORIES} categories (you chose {len(categories)})."
            )
        return categories

    def clean_examples(self) -> list[Paper]:
        text = self.cleaned_data.get("examples") or ""
        if len(text) > EXAMPLES_MAX_LENGTH:
            raise forms.ValidationError(
                f"That is too long for {MAX_EXAMPLES} example papers: give their arXiv ids."
            )
        ids = arxiv_ids_in(text)
        unreadable = [entry for entry in ids if not is_arxiv_id(entry)]
        if unreadable:
            raise forms.ValidationError(not_arxiv_ids_message(unreadable))
        if len(ids) > MAX_EXAMPLES:
            raise forms.ValidationError(too_many_examples_message(len(ids)))
        try:
            return example_papers(ids)
        except UnknownPapers as unknown:
            raise forms.ValidationError(unknown_examples_message(unknown.missing)) from unknown

    def clean(self) -> dict:
        cleaned = super().clean()
        if "query" not in self.fields:
            return cleaned
        follows = (
            cleaned.get("query")
            or cleaned.get("interest")
            or cleaned.get("examples")
            or cleaned.get("categories")
        )
        # Only when the parts were read: a part with its own error already says what is wrong.
        parts = ("query", "interest", "examples", "categories")
        if not follows and not any(part in self.errors for part in parts):
            raise forms.ValidationError(NOTHING_TO_FOLLOW, code="nothing_to_follow")
        if "name" in self.fields and not cleaned.get("name") and follows:
            cleaned["name"] = _default_name(cleaned)
        return cleaned

    def preview_examples(self) -> list[str]:
        """The example papers as written in the form, as arXiv ids: what the preview shows."""
        return arxiv_ids_in(self["examples"].value() or "")


def default_strictness_text() -> str:
    """The default strictness per kind of interest, as the form shows it."""
    by_kind = semantic.DEFAULT_STRICTNESS_BY_KIND
    words, papers = by_kind[semantic.Kind.TEXT], by_kind[semantic.Kind.PAPERS]
    if words == papers:
        return str(words)
    return f"{words}; {papers} for example papers alone"


def _default_name(cleaned: dict) -> str:
    """An unnamed subscription's name: its query, else its interest, else its first example
    paper, else its categories (``default_subscription_name`` shortens the text)."""
    if cleaned.get("query") or cleaned.get("interest"):
        return default_subscription_name(cleaned.get("query") or cleaned["interest"])
    if cleaned.get("examples"):
        return default_subscription_name("Like " + " ".join(cleaned["examples"][0].title.split()))
    return default_subscription_name("", cleaned.get("categories") or [])


class OnboardingForm(forms.Form):
    """The first subscription and the digest schedule, on one page after sign-up, and the
    recent papers the reader ticks as liked (``papers_to_like``: the papers on offer; an id
    not among them is refused, so a tampered form cannot rate an arbitrary or hidden paper)."""

    categories = categories_field(
        "Optional: only papers in these categories. Leave empty for all of arXiv."
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
