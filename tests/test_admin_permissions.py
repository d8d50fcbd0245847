"""Who may do what in the admin: the Curator group, superusers, anonymous visitors."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from accounts.models import User
from digest.digests.models import DeliveryHold
from digest.papers.models import Paper
from tests.admin_support import (
    CURATOR_PERMISSIONS,
    PASSWORD,
    curator_group,
    make_curator,
    make_superuser,
)
from tests.factories import PaperFactory, SourceFactory, SubscriptionFactory, UserFactory

pytestmark = pytest.mark.django_db


def group_permissions(group: Group) -> set[str]:
    return {
        f"{permission.content_type.app_label}.{permission.codename}"
        for permission in group.permissions.select_related("content_type")
    }


def test_the_migration_creates_a_curator_group_with_only_what_curators_need():
    made_by_the_migrations = Group.objects.get(name="Curator")
    assert group_permissions(made_by_the_migrations) == CURATOR_PERMISSIONS


def test_a_curator_has_no_right_to_change_users_groups_or_the_outbox():
    curator = make_curator()
    for permission in (
        "accounts.change_user",
        "accounts.add_user",
        "accounts.delete_user",
        "auth.change_group",
        "papers.delete_paper",
        "digests.change_delivery",
        "papers.delete_source",
        "subscriptions.change_subscription",
    ):
        assert not curator.has_perm(permission), permission


ADMIN_PAGES = [
    ("admin:index", []),
    ("admin:digest_today", []),
    ("admin:papers_paper_changelist", []),
    ("admin:papers_source_changelist", []),
    ("admin:digests_delivery_changelist", []),
    ("admin:accounts_user_changelist", []),
    ("admin:subscriptions_subscription_changelist", []),
]


@pytest.mark.parametrize(("name", "args"), ADMIN_PAGES)
def test_anonymous_visitors_get_the_login_page(client, name, args):
    url = reverse(name, args=args)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    login = client.get(response["Location"])
    assert login.status_code == 200
    assert b'name="password"' in login.content


def test_anonymous_cannot_preview_an_email_or_hold_the_send(client):
    subscriber = UserFactory()
    preview = client.get(reverse("admin:digest_today_preview", args=[subscriber.pk]))
    assert preview.status_code == 302
    assert preview["Location"].startswith(reverse("admin:login"))
    hold = client.post(reverse("admin:digest_today_hold"), {"date": "2026-01-05"})
    assert hold.status_code == 302
    assert not DeliveryHold.objects.exists()


def test_a_subscriber_without_staff_status_gets_the_login_page(client):
    subscriber = UserFactory()
    client.force_login(subscriber)
    response = client.get(reverse("admin:papers_paper_changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_a_curator_cannot_change_a_users_password(client):
    subscriber = UserFactory(email="reader@example.org")
    client.force_login(make_curator())
    url = reverse("admin:auth_user_password_change", args=[subscriber.pk])
    assert client.get(url).status_code == 403
    response = client.post(url, {"password1": "n3w-Passw0rd!x", "password2": "n3w-Passw0rd!x"})
    assert response.status_code == 403
    subscriber.refresh_from_db()
    assert subscriber.check_password(PASSWORD)


def test_a_curator_sees_a_subscriber_but_cannot_change_their_settings(client):
    subscriber = UserFactory(email="reader@example.org", delivery_hour=7)
    client.force_login(make_curator())
    url = reverse("admin:accounts_user_change", args=[subscriber.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert b"reader@example.org" in page.content
    assert b'name="delivery_hour"' not in page.content  # read-only, no input
    response = client.post(
        url, {"email": "reader@example.org", "delivery_hour": 3, "frequency": "paused"}
    )
    assert response.status_code == 403
    subscriber.refresh_from_db()
    assert (subscriber.delivery_hour, subscriber.frequency) == (7, "daily")


def test_a_curator_cannot_add_users_or_edit_groups(client):
    client.force_login(make_curator())
    assert client.get(reverse("admin:accounts_user_add")).status_code == 403
    group = curator_group()
    assert client.get(reverse("admin:auth_group_changelist")).status_code == 403
    assert client.post(reverse("admin:auth_group_change", args=[group.pk]), {}).status_code == 403


def test_a_curator_can_edit_papers_and_add_sources(client):
    paper = PaperFactory()
    client.force_login(make_curator())
    assert client.get(reverse("admin:papers_paper_change", args=[paper.pk])).status_code == 200
    assert client.get(reverse("admin:papers_source_add")).status_code == 200
    assert client.get(reverse("admin:digest_today")).status_code == 200


def test_staff_outside_the_curator_group_cannot_open_the_curation_pages(client):
    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    assert client.get(reverse("admin:digest_today")).status_code == 403
    assert client.get(reverse("admin:papers_paper_changelist")).status_code == 403
    assert client.post(reverse("admin:digest_today_hold"), {}).status_code == 403
    assert not DeliveryHold.objects.exists()


def test_a_view_only_staff_member_cannot_hide_papers(client):
    paper = PaperFactory()
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_paper"))
    client.force_login(User.objects.get(pk=staff.pk))
    changelist = client.get(reverse("admin:papers_paper_changelist"))
    assert changelist.status_code == 200
    assert b'value="hide"' not in changelist.content
    client.post(
        reverse("admin:papers_paper_changelist"),
        {"action": "hide", "_selected_action": [paper.pk]},
    )
    assert Paper.objects.get(pk=paper.pk).hidden is False


def test_superusers_keep_everything(client):
    subscriber = UserFactory()
    SourceFactory()
    client.force_login(make_superuser())
    password_url = reverse("admin:auth_user_password_change", args=[subscriber.pk])
    assert client.get(password_url).status_code == 200
    assert client.get(reverse("admin:accounts_user_add")).status_code == 200
    assert client.get(reverse("admin:auth_group_changelist")).status_code == 200
    assert client.get(reverse("admin:digest_today")).status_code == 200


def test_a_superuser_edits_a_subscription_with_the_subscribers_own_rules(client):
    from subscriptions.models import Subscription
    from tests.factories import SubscriptionFactory

    subscription = SubscriptionFactory(name="Old", query="zero-shot")
    client.force_login(make_superuser())
    url = reverse("admin:subscriptions_subscription_change", args=[subscription.pk])
    too_long = client.post(
        url,
        {"owner": subscription.owner.pk, "name": "New", "query": "x" * 1001, "enabled": "on"},
    )
    assert too_long.status_code == 200
    assert "under 1000 characters" in too_long.content.decode()
    saved = client.post(
        url,
        {"owner": subscription.owner.pk, "name": "  New   name ", "query": "diffusion"},
    )
    assert saved.status_code == 302
    subscription = Subscription.objects.get(pk=subscription.pk)
    assert (subscription.name, subscription.query, subscription.enabled) == (
        "New name",
        "diffusion",
        False,
    )


def test_a_curator_can_view_a_subscription_read_only(client):
    subscription = SubscriptionFactory(name="Diffusion watch", query="diffusion")
    client.force_login(make_curator())
    url = reverse("admin:subscriptions_subscription_change", args=[subscription.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "Diffusion watch" in page.content.decode()
    assert b'name="query"' not in page.content  # view only: no input
    assert client.post(url, {"name": "Changed", "query": "x"}).status_code == 403


def test_a_superuser_edits_what_a_subscription_follows_by_meaning_and_categories(client):
    """Every part the subscriber's form has is saved from the admin too, through the same
    service: the interest is embedded with the example papers as edited."""
    from subscriptions import semantic
    from subscriptions.embeddings import stack, to_bytes
    from subscriptions.models import Subscription
    from tests.factories import PaperFactory, SubscriptionFactory

    example = PaperFactory(arxiv_id="2601.00077", title="Test-time adaptation of CLIP")
    subscription = SubscriptionFactory(name="Old", query="zero-shot")
    client.force_login(make_superuser())
    url = reverse("admin:subscriptions_subscription_change", args=[subscription.pk])
    saved = client.post(
        url,
        {
            "owner": subscription.owner.pk,
            "name": "By meaning",
            "query": "",
            "interest": "adapting models at test time",
            "examples": "2601.00077",
            "categories": ["cs.CV"],
            "strictness": "2",
            "enabled": "on",
        },
    )
    assert saved.status_code == 302, saved.content.decode()[:2000]
    subscription = Subscription.objects.get(pk=subscription.pk)
    assert (subscription.query, subscription.interest) == ("", "adapting models at test time")
    assert (subscription.categories, subscription.strictness) == (["cs.CV"], 2)
    assert list(subscription.examples.all()) == [example]
    example.refresh_from_db()
    with_example = semantic.interest_vector(
        "adapting models at test time", stack([example.embedding])
    )
    assert bytes(subscription.interest_vector) == to_bytes(with_example)
    listing = client.get(reverse("admin:subscriptions_subscription_changelist")).content.decode()
    assert "“adapting models at test time”" in listing
