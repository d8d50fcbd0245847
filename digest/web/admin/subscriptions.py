"""Subscriptions and their matches in the admin."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from unfold.admin import ModelAdmin
from unfold.decorators import display

from digest.web.admin.curation import short
from digest.web.forms import SubscriptionForm
from subscriptions.explain import explain
from subscriptions.models import Match, Subscription
from subscriptions.services import update_subscription


class SubscriptionAdminForm(SubscriptionForm):
    """The subscriber's own form (same limits and messages), plus the owner."""

    class Meta(SubscriptionForm.Meta):
        fields = ["owner", "name", "query", "enabled"]


@admin.register(Subscription)
class SubscriptionAdmin(ModelAdmin):
    form = SubscriptionAdminForm
    list_display = ("name", "owner", "query_text", "enabled", "match_count", "updated_at")
    list_filter = ("enabled", "created_at")
    search_fields = ("name", "query", "owner__email")
    list_select_related = ("owner",)
    raw_id_fields = ("owner",)
    readonly_fields = ("created_at", "updated_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Subscription]:
        return super().get_queryset(request).annotate(match_total=Count("matches"))

    def save_model(self, request, obj, form, change) -> None:
        # The same write as the subscriber's own form, so the matches follow the new query and
        # the interest is embedded with the example papers as edited here.
        update_subscription(obj, examples=form.cleaned_data.get("examples"))

    @display(description="Follows", ordering="query")
    def query_text(self, subscription: Subscription) -> str:
        parts = [
            subscription.query,
            f"“{subscription.interest}”" if subscription.interest else "",
            " ".join(subscription.categories or []),
        ]
        return short(" · ".join(part for part in parts if part), 80)

    @display(description="Matches", ordering="match_total")
    def match_count(self, subscription: Subscription) -> int:
        return subscription.match_total


@admin.register(Match)
class MatchAdmin(ModelAdmin):
    list_display = ("paper_title", "subscription", "owner", "why", "score", "created_at")
    list_filter = ("created_at",)
    search_fields = ("owner__email", "subscription__name", "paper__title", "paper__arxiv_id")
    list_select_related = ("paper", "subscription", "owner")
    raw_id_fields = ("subscription", "paper", "owner")
    readonly_fields = ("subscription", "paper", "owner", "hits", "score", "created_at")

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # matches are written by the match step

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @display(description="Paper", ordering="paper__title")
    def paper_title(self, match: Match) -> str:
        return short(match.paper.title, 80)

    @display(description="Why it matched")
    def why(self, match: Match) -> str:
        return explain(match.hits)
