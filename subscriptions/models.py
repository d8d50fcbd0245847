"""What people follow (subscriptions) and what matched (one row per subscription × paper)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Subscription(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions"
    )
    name = models.CharField(max_length=100)
    query = models.TextField(help_text="What to follow, e.g. zero-shot AND CLIP")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["owner_id", "name", "id"]
        indexes = [models.Index(fields=["enabled"])]

    def __str__(self) -> str:
        return f"{self.name}: {self.query}"


class Match(models.Model):
    """A paper matched a subscription. Written by the match step, read when digests are built.

    ``hits`` explains why, as a list of ``{"term": ..., "field": ...}`` dicts; ``score`` ranks
    the paper inside a digest. ``owner`` is copied from the subscription so a digest can be built
    from one indexed query per user.
    """

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="matches")
    paper = models.ForeignKey("digest.Paper", on_delete=models.CASCADE, related_name="matches")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="matches"
    )
    hits = models.JSONField(default=list)
    score = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscription", "paper"], name="match_once_per_paper")
        ]
        indexes = [models.Index(fields=["owner", "paper"])]
        verbose_name_plural = "matches"

    def __str__(self) -> str:
        return f"{self.subscription_id} ↔ {self.paper_id}"
