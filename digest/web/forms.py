"""The subscription form. The query's syntax is checked by the model (``Subscription.clean``
parses it with ``subscriptions.query``); the form adds the limits a person can see."""

from __future__ import annotations

from django import forms

from subscriptions.models import Subscription

QUERY_MAX_LENGTH = 1000


class SubscriptionForm(forms.ModelForm):
    class Meta:
        model = Subscription
        fields = ["name", "query", "enabled"]
        labels = {"name": "Name", "query": "Query", "enabled": "Active"}
        help_texts = {
            "name": "For you: it heads this subscription's papers in the email.",
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
        self.fields["name"].error_messages["required"] = "Give the subscription a name."
        self.fields["query"].error_messages["required"] = "Write what to look for."

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Give the subscription a name.")
        return name

    def clean_query(self) -> str:
        query = self.cleaned_data["query"].strip()
        if not query:
            raise forms.ValidationError("Write what to look for.")
        if len(query) > QUERY_MAX_LENGTH:
            raise forms.ValidationError(
                f"Keep the query under {QUERY_MAX_LENGTH} characters (it has {len(query)})."
            )
        return query
