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
                    "papers.view_paper",
                    "accounts.view_user",
                ),
                item("Papers", "article", "admin:papers_paper_changelist", "papers.view_paper"),
                item("Sources", "rss_feed", "admin:papers_source_changelist", "papers.view_source"),
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
                    "admin:subscriptions_feedback_changelist",
                    "subscriptions.view_feedback",
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
                    "admin:digests_delivery_changelist",
                    "digests.view_delivery",
                ),
                item("Digests", "mail", "admin:digests_digest_changelist", "digests.view_digest"),
                item(
                    "Holds",
                    "pause_circle",
                    "admin:digests_deliveryhold_changelist",
                    "digests.view_deliveryhold",
                ),
                item(
                    "Suppressions",
                    "block",
                    "admin:digests_suppression_changelist",
                    "digests.view_suppression",
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
