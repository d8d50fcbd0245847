"""Subscribers in the admin: who they are, their state, their subscriptions and every delivery.

Curators only view users (the Curator group has ``view_user`` only), so passwords, schedules and
permissions stay with superusers.
"""

from __future__ import annotations

from allauth.account.admin import EmailAddressAdmin as AllauthEmailAddressAdmin
from allauth.account.models import EmailAddress
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action, display
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from accounts.models import User
from digest.digests.models import Delivery, Digest
from digest.digests.subscriber_state import SubscriberState, with_state
from digest.web.admin.curation import STATUS_LABELS, report_resends, short
from subscriptions.models import Subscription

STATE_LABELS = {
    "active": "success",
    "paused": "info",
    "unverified": "warning",
    "unsubscribed": "info",
    "suppressed": "danger",
    "inactive": "danger",
}


class SubscriberCreationForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("email",)


class SubscriberChangeForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return SubscriberState.choices

    def queryset(self, request, queryset):
        if self.value() in SubscriberState.values:
            return queryset.filter(state=self.value())
        return queryset


class SubscriptionInline(TabularInline):
    model = Subscription
    fk_name = "owner"
    extra = 0
    fields = ("name", "query", "enabled", "created_at")
    readonly_fields = ("created_at",)
    show_change_link = True
    tab = True


class DeliveryHistoryInline(TabularInline):
    """Every digest the subscriber got (or should have), newest first, with its delivery."""

    model = Digest
    fk_name = "user"
    verbose_name = "delivery"
    verbose_name_plural = "Delivery history"
    extra = 0
    can_delete = False
    per_page = 20
    tab = True
    fields = ("date", "papers_total", "status", "attempts", "sent_at", "failure", "delivery_link")
    readonly_fields = fields
    ordering = ("-date",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Digest]:
        return super().get_queryset(request).select_related("delivery")

    @staticmethod
    def _delivery(digest: Digest) -> Delivery | None:
        return getattr(digest, "delivery", None) if digest.pk else None

    @display(description="Status", label=STATUS_LABELS)
    def status(self, digest: Digest) -> str:
        delivery = self._delivery(digest)
        return delivery.status if delivery else "no delivery"

    @display(description="Attempts")
    def attempts(self, digest: Digest) -> int | str:
        delivery = self._delivery(digest)
        return delivery.attempts if delivery else "—"

    @display(description="Sent")
    def sent_at(self, digest: Digest):
        delivery = self._delivery(digest)
        return delivery.sent_at if delivery and delivery.sent_at else "—"

    @display(description="Failure reason")
    def failure(self, digest: Digest) -> str:
        delivery = self._delivery(digest)
        return short(delivery.last_error, 100) if delivery else ""

    @display(description="")
    def delivery_link(self, digest: Digest) -> str:
        delivery = self._delivery(digest)
        if delivery is None:
            return ""
        url = reverse("admin:digests_delivery_change", args=[delivery.pk])
        return format_html('<a href="{}">Open delivery</a>', url)


@admin.register(User)
class SubscriberAdmin(DjangoUserAdmin, ModelAdmin):
    form = SubscriberChangeForm
    add_form = SubscriberCreationForm
    change_password_form = AdminPasswordChangeForm
    list_display = (
        "email",
        "state_label",
        "frequency",
        "delivery_time",
        "subscription_count",
        "date_joined",
        "is_staff",
    )
    list_filter = (StateFilter, "frequency", "is_staff", "is_superuser", "groups", "date_joined")
    search_fields = ("email", "first_name", "last_name")
    search_help_text = "Email address or name"
    ordering = ("email",)
    inlines = [SubscriptionInline, DeliveryHistoryInline]
    actions = ["resend_failed"]
    readonly_fields = ("state_text", "last_login", "date_joined", "next_digest_at")
    fieldsets = (
        (None, {"fields": ("email", "password", "state_text")}),
        ("Name", {"fields": ("first_name", "last_name")}),
        (
            "Digest settings",
            {
                "fields": (
                    "frequency",
                    "weekday",
                    "delivery_hour",
                    "timezone",
                    "skip_empty",
                    "papers_per_digest",
                    "next_digest_at",
                    "unsubscribed_at",
                )
            },
        ),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "usable_password", "password1", "password2"),
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return with_state(super().get_queryset(request)).annotate(
            subscriptions_total=Count("subscriptions", distinct=True)
        )

    def has_resend_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm("digests.resend_delivery")

    @display(description="State", ordering="state", label=STATE_LABELS)
    def state_label(self, user: User) -> tuple[str, str]:
        return user.state, SubscriberState(user.state).label

    @display(description="State")
    def state_text(self, user: User) -> str:
        state = getattr(user, "state", None)
        return SubscriberState(state).label if state else "—"

    @display(description="Delivery time")
    def delivery_time(self, user: User) -> str:
        return f"{user.delivery_hour:02d}:00 {user.timezone}"

    @display(description="Subscriptions", ordering="subscriptions_total")
    def subscription_count(self, user: User) -> int:
        return user.subscriptions_total

    @action(description="Resend failed deliveries", permissions=["resend"])
    def resend_failed(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        failed = Delivery.objects.filter(
            digest__user__in=queryset, status=Delivery.Status.FAILED
        ).order_by("pk")
        if not failed:
            self.message_user(request, "The selected subscribers have no failed delivery.")
            return
        report_resends(self, request, failed)


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(DjangoGroupAdmin, ModelAdmin):
    pass


admin.site.unregister(EmailAddress)


@admin.register(EmailAddress)
class EmailAddressAdmin(AllauthEmailAddressAdmin, ModelAdmin):
    pass
