"""Digests and their deliveries: compose writes ``Digest`` + ``DigestItem`` + ``Delivery`` in one
transaction; deliver moves a ``Delivery`` from pending to sent. ``Suppression`` and
``DeliveryHold`` stop mail.

The tables keep the names they had when these models lived in the ``digest`` app.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from digest.papers.models import Paper


class Digest(models.Model):
    """One email's worth of papers for one person: those first seen in
    ``(period_start, period_end]``. At most one per user and local date."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digests"
    )
    date = models.DateField(help_text="The subscriber's local date the digest is for.")
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    papers_total = models.PositiveIntegerField(
        default=0, help_text="Papers that matched, including those over the per-digest cap."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "digest_digest"
        ordering = ["-date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "date"], name="one_digest_per_user_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.date}"


class DigestItem(models.Model):
    class Section(models.TextChoices):
        FEATURED = "featured", "Featured"
        MATCHED = "matched", "Matched"
        # Papers no subscription matched, close to what the reader liked (their own model).
        SUGGESTED = "suggested", "You might also like"

    digest = models.ForeignKey(Digest, on_delete=models.CASCADE, related_name="items")
    # Copied from the digest so the database itself refuses to send a paper twice to a person.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="digest_items")
    rank = models.PositiveIntegerField()
    section = models.CharField(max_length=10, choices=Section.choices, default=Section.MATCHED)
    hits = models.JSONField(default=list, blank=True)
    score = models.FloatField(default=0)
    in_email = models.BooleanField(default=True, help_text="False when over the per-digest cap.")

    class Meta:
        db_table = "digest_digestitem"
        ordering = ["digest_id", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["user", "paper"], name="paper_sent_once_per_user")
        ]

    def __str__(self) -> str:
        return f"#{self.rank} {self.paper_id} in digest {self.digest_id}"


class Delivery(models.Model):
    """The outbox row for one digest email."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        RETRYING = "retrying", "Retrying"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SUPPRESSED = "suppressed", "Suppressed"
        CANCELLED = "cancelled", "Cancelled"

    digest = models.OneToOneField(Digest, on_delete=models.CASCADE, related_name="delivery")
    to_email = models.EmailField()
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    message_id = models.CharField(max_length=255, blank=True, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    claimed_by = models.CharField(max_length=200, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "digest_delivery"
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        permissions = [("resend_delivery", "Can resend a failed delivery")]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_due",
                condition=Q(status__in=["pending", "retrying", "sending"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.to_email} {self.status}"


class Suppression(models.Model):
    """An address Paperboy must not mail: hard bounce, complaint, or an operator's decision."""

    class Reason(models.TextChoices):
        BOUNCE = "bounce", "Hard bounce"
        COMPLAINT = "complaint", "Spam complaint"
        REJECTED = "rejected", "Rejected by the mail server"
        MANUAL = "manual", "Suppressed by an operator"

    email = models.EmailField(unique=True)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "digest_suppression"

    def __str__(self) -> str:
        return f"{self.email} ({self.reason})"


class DeliveryHold(models.Model):
    """While a hold exists for a date, deliveries of that date's digests wait. Releasing deletes
    the hold and the waiting deliveries go out; nothing is lost."""

    date = models.DateField(unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "digest_deliveryhold"
        ordering = ["-date"]
        permissions = [("hold_send", "Can hold and release a day's send")]

    def __str__(self) -> str:
        return f"hold {self.date}"
