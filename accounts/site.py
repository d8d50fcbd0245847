"""The ``django.contrib.sites`` row follows settings.SITE_URL / SITE_NAME.

allauth and the admin read the current Site; Paperboy's own idea of its address is SITE_URL.
Syncing on every ``migrate`` keeps them equal even when SITE_URL changes after the first
deployment (a one-off data migration would not)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sites.models import Site


def sync_site_from_settings(using: str = "default", **kwargs) -> None:
    parts = urlsplit(settings.SITE_URL)
    domain = parts.netloc or "localhost"
    Site.objects.using(using).update_or_create(
        pk=settings.SITE_ID, defaults={"domain": domain, "name": settings.SITE_NAME}
    )
    Site.objects.clear_cache()
