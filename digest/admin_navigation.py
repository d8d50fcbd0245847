"""The admin sidebar, grouped the way a curator's morning goes: look, fix, check the send.

``UNFOLD["SIDEBAR"]["navigation"]`` names ``sidebar_navigation``; unfold calls it per request
and hides the items whose ``permission`` callback says no.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest
from django.urls import reverse


def can(*permissions: str) -> Callable[[HttpRequest], bool]:
    def check(request: HttpRequest) -> bool:
        return request.user.has_perms(permissions)

    return check


def item(title: str, icon: str, url_name: str, *permissions: str) -> dict:
    return {
        "title": title,
        "icon": icon,
        "link": reverse(url_name),
        "permission": can(*permissions),
    }


def sidebar_navigation(request: HttpRequest) -> list[dict]:
    return [
        {
            "title": "Curation",
            "separator": True,
            "items": [
                {"title": "Dashboard", "icon": "dashboard", "link": reverse("admin:index")},
                item(
                    "Today's issue",
                    "today",
                    "admin:digest_today",
                    "digest.view_paper",
                    "accounts.view_user",
                ),
                item("Papers", "article", "admin:digest_paper_changelist", "digest.view_paper"),
                item("Sources", "rss_feed", "admin:digest_source_changelist", "digest.view_source"),
            ],
        },
        {
            "title": "Subscribers",
            "separator": True,
            "items": [
                item(
                    "Subscribers", "group", "admin:accounts_user_changelist", "accounts.view_user"
                ),
                item(
                    "Subscriptions",
                    "manage_search",
                    "admin:subscriptions_subscription_changelist",
                    "subscriptions.view_subscription",
                ),
                item(
                    "Matches",
                    "join_inner",
                    "admin:subscriptions_match_changelist",
                    "subscriptions.view_match",
                ),
                item(
                    "Feedback",
                    "thumbs_up_down",
                    "admin:digest_feedback_changelist",
                    "digest.view_feedback",
                ),
            ],
        },
        {
            "title": "Sending",
            "separator": True,
            "items": [
                item(
                    "Deliveries",
                    "outbox",
                    "admin:digest_delivery_changelist",
                    "digest.view_delivery",
                ),
                item("Digests", "mail", "admin:digest_digest_changelist", "digest.view_digest"),
                item(
                    "Holds",
                    "pause_circle",
                    "admin:digest_deliveryhold_changelist",
                    "digest.view_deliveryhold",
                ),
                item(
                    "Suppressions",
                    "block",
                    "admin:digest_suppression_changelist",
                    "digest.view_suppression",
                ),
            ],
        },
        {
            "title": "Access",
            "separator": True,
            "items": [
                item("Groups", "shield_person", "admin:auth_group_changelist", "auth.view_group"),
                item(
                    "Email addresses",
                    "alternate_email",
                    "admin:account_emailaddress_changelist",
                    "account.view_emailaddress",
                ),
            ],
        },
    ]
