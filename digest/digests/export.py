"""Export my data: everything Paperboy keeps about a subscriber, as one JSON document."""

from __future__ import annotations

import datetime as dt
from typing import Any

from allauth.account.models import EmailAddress
from django.utils import timezone

from accounts.models import User
from digest.digests.models import Delivery, DigestItem
from subscriptions.models import Feedback, Match, Subscription

EXPORT_FORMAT = "paperboy-export/1"


def _when(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _paper(paper) -> dict[str, Any]:
    return {
        "key": paper.key,
        "arxiv_id": paper.arxiv_id,
        "title": paper.title,
        "url": paper.abs_url or paper.hf_url or paper.pdf_url,
    }


def export_user_data(user: User) -> dict[str, Any]:
    subscriptions = Subscription.objects.filter(owner=user).order_by("id")
    match_counts: dict[int, int] = {}
    for subscription_id in Match.objects.filter(owner=user).values_list(
        "subscription_id", flat=True
    ):
        match_counts[subscription_id] = match_counts.get(subscription_id, 0) + 1
    items_by_digest: dict[int, list[DigestItem]] = {}
    for item in DigestItem.objects.filter(user=user).select_related("paper").order_by("rank"):
        items_by_digest.setdefault(item.digest_id, []).append(item)
    deliveries = (
        Delivery.objects.filter(digest__user=user).select_related("digest").order_by("created_at")
    )
    return {
        "format": EXPORT_FORMAT,
        "exported_at": timezone.now().isoformat(),
        "account": {
            "email": user.email,
            "email_addresses": [
                {"email": a.email, "verified": a.verified, "primary": a.primary}
                for a in EmailAddress.objects.filter(user=user).order_by("id")
            ],
            "date_joined": _when(user.date_joined),
            "last_login": _when(user.last_login),
            "timezone": user.timezone,
            "frequency": user.frequency,
            "weekday": user.weekday,
            "delivery_hour": user.delivery_hour,
            "skip_empty": user.skip_empty,
            "papers_per_digest": user.papers_per_digest,
            "unsubscribed_at": _when(user.unsubscribed_at),
        },
        "subscriptions": [
            {
                "name": s.name,
                "query": s.query,
                "enabled": s.enabled,
                "created_at": _when(s.created_at),
                "updated_at": _when(s.updated_at),
                "papers_matched": match_counts.get(s.pk, 0),
            }
            for s in subscriptions
        ],
        "deliveries": [
            {
                "digest_date": _when(d.digest.date),
                "period_start": _when(d.digest.period_start),
                "period_end": _when(d.digest.period_end),
                "to": d.to_email,
                "status": d.status,
                "message_id": d.message_id,
                "attempts": d.attempts,
                "sent_at": _when(d.sent_at),
                "papers": [
                    {
                        **_paper(item.paper),
                        "rank": item.rank,
                        "section": item.section,
                        "in_email": item.in_email,
                        "why": item.hits,
                    }
                    for item in items_by_digest.get(d.digest_id, [])
                ],
            }
            for d in deliveries
        ],
        "feedback": [
            {**_paper(f.paper), "kind": f.kind, "at": _when(f.created_at)}
            for f in Feedback.objects.filter(user=user).select_related("paper").order_by("id")
        ],
    }
