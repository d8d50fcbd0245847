"""Users sign in with their email address; their digest schedule lives on the user row so the
scheduler can find everyone who is due with one indexed query."""

from __future__ import annotations

import secrets
import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models


class EmailUserManager(UserManager):
    """Creates users keyed by email; there is no username."""

    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):  # type: ignore[override]
        if not email:
            raise ValueError("An email address is required")
        email = self.normalize_email(email)
        user = self.model(email=email, **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email=None, password=None, **extra_fields):  # type: ignore[override]
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email=None, password=None, **extra_fields):  # type: ignore[override]
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


def new_feed_token() -> str:
    return secrets.token_urlsafe(24)


def default_delivery_hour() -> int:
    return settings.DIGEST_DEFAULT_HOUR


def default_papers_per_digest() -> int:
    return settings.DIGEST_DEFAULT_MAX_PAPERS


TIMEZONE_CHOICES = sorted((name, name) for name in zoneinfo.available_timezones())


class User(AbstractUser):
    class Frequency(models.TextChoices):
        DAILY = "daily", "Every day"
        WEEKLY = "weekly", "Once a week"
        PAUSED = "paused", "Paused"

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    username = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)

    # Digest schedule, in the subscriber's own time zone.
    timezone = models.CharField(max_length=64, default="UTC", choices=TIMEZONE_CHOICES)
    frequency = models.CharField(max_length=10, choices=Frequency.choices, default=Frequency.DAILY)
    weekday = models.PositiveSmallIntegerField(
        choices=Weekday.choices, default=Weekday.MONDAY, help_text="Used by weekly digests."
    )
    delivery_hour = models.PositiveSmallIntegerField(
        default=default_delivery_hour, help_text="Local hour (0-23) at which the digest is sent."
    )
    skip_empty = models.BooleanField(
        default=True, help_text="Send nothing on days when no paper matched."
    )
    papers_per_digest = models.PositiveSmallIntegerField(default=default_papers_per_digest)
    # The next moment (UTC) this user's digest is due; the scheduler claims rows by it.
    next_digest_at = models.DateTimeField(null=True, blank=True, db_index=True)

    # A secret for the private Atom feed; rotating it revokes old feed URLs.
    feed_token = models.CharField(max_length=64, unique=True, default=new_feed_token)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = EmailUserManager()

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        try:
            return zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return zoneinfo.ZoneInfo("UTC")
