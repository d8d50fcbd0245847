"""A subscriber's state, as one word the admin can show, filter and sort by.

Computed in the database (one annotation), so the subscriber list can filter by it without
loading every user.
"""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.db import models
from django.db.models import Case, Exists, OuterRef, QuerySet, Value, When

from digest.digests.models import Suppression


class SubscriberState(models.TextChoices):
    # In order of precedence: the first that applies is the state.
    INACTIVE = "inactive", "Account disabled"
    SUPPRESSED = "suppressed", "Suppressed (address bounced or complained)"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
    UNVERIFIED = "unverified", "Email not verified"
    PAUSED = "paused", "Paused"
    ACTIVE = "active", "Active"


def with_state(users: QuerySet) -> QuerySet:
    """``users`` annotated with ``state`` (a SubscriberState value)."""
    verified = EmailAddress.objects.filter(user=OuterRef("pk"), verified=True)
    suppressed = Suppression.objects.filter(email__iexact=OuterRef("email"))
    return users.annotate(
        state=Case(
            When(is_active=False, then=Value(SubscriberState.INACTIVE.value)),
            When(Exists(suppressed), then=Value(SubscriberState.SUPPRESSED.value)),
            When(unsubscribed_at__isnull=False, then=Value(SubscriberState.UNSUBSCRIBED.value)),
            When(~Exists(verified), then=Value(SubscriberState.UNVERIFIED.value)),
            When(frequency="paused", then=Value(SubscriberState.PAUSED.value)),
            default=Value(SubscriberState.ACTIVE.value),
            output_field=models.CharField(),
        )
    )


def state_of(user) -> SubscriberState:
    """The state of one user (one query)."""
    return SubscriberState(with_state(type(user).objects.filter(pk=user.pk)).get().state)
