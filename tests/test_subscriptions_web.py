"""My subscriptions: list, add, edit, delete, with validation, scoped to the owner."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from subscriptions.models import Match, Subscription
from tests.factories import PaperFactory, SubscriptionFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_cache")]


@pytest.fixture
def reader(client):
    user = UserFactory()
    client.force_login(user)
    return user


def test_my_subscriptions_needs_login(client):
    response = client.get(reverse("subscriptions:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_empty_list_invites_to_add_a_subscription(client, reader):
    page = client.get(reverse("subscriptions:list")).content.decode()
    assert "You don't follow anything yet" in page
    assert reverse("subscriptions:add") in page


def test_add_a_subscription(client, reader):
    response = client.post(
        reverse("subscriptions:add"), {"name": "Zero-shot", "query": " zero-shot ", "enabled": "on"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("subscriptions:list")
    subscription = Subscription.objects.get(owner=reader)
    assert (subscription.name, subscription.query, subscription.enabled) == (
        "Zero-shot",
        "zero-shot",
        True,
    )
    page = client.get(reverse("subscriptions:list")).content.decode()
    assert "Subscription “Zero-shot” added." in page and "<code>zero-shot</code>" in page


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"name": "x", "query": "   "}, "Write what to look for."),
        ({"name": "long", "query": "a" * 1001}, "under 1000 characters"),
    ],
)
def test_invalid_subscription_is_refused_with_a_clear_error(client, reader, data, error):
    response = client.post(reverse("subscriptions:add"), data)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Subscription.objects.exists()


def test_edit_a_subscription(client, reader):
    subscription = SubscriptionFactory(owner=reader, name="Old", query="clip")
    response = client.post(
        reverse("subscriptions:edit", args=[subscription.pk]),
        {"name": "New", "query": "diffusion"},
    )
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert (subscription.name, subscription.query, subscription.enabled) == (
        "New",
        "diffusion",
        False,
    )


def test_delete_asks_first_then_deletes(client, reader):
    subscription = SubscriptionFactory(owner=reader, name="Bye")
    confirm = client.get(reverse("subscriptions:delete", args=[subscription.pk]))
    assert confirm.status_code == 200 and "Delete “Bye”?" in confirm.content.decode()
    assert Subscription.objects.filter(pk=subscription.pk).exists()
    response = client.post(reverse("subscriptions:delete", args=[subscription.pk]))
    assert response.status_code == 302
    assert not Subscription.objects.filter(pk=subscription.pk).exists()


@pytest.mark.parametrize("view", ["subscriptions:edit", "subscriptions:delete"])
def test_someone_elses_subscription_is_not_found(client, reader, view):
    other = SubscriptionFactory()
    assert client.get(reverse(view, args=[other.pk])).status_code == 404
    assert (
        client.post(reverse(view, args=[other.pk]), {"name": "x", "query": "y"}).status_code == 404
    )
    assert Subscription.objects.filter(pk=other.pk, name=other.name).exists()


def test_hostile_text_renders_as_text(client, reader):
    SubscriptionFactory(
        owner=reader, name="<script>alert(1)</script>", query='"><img src=x onerror=alert(1)>'
    )
    page = client.get(reverse("subscriptions:list")).content.decode()
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_list_shows_each_subscriptions_matches_of_the_last_seven_days(client, reader):
    subscription = SubscriptionFactory(owner=reader, name="Zero-shot")
    recent = PaperFactory(title="Recent zero-shot paper")
    old = PaperFactory(
        title="Old zero-shot paper", created_at=timezone.now() - dt.timedelta(days=9)
    )
    hidden = PaperFactory(title="Hidden zero-shot paper", hidden=True)
    for paper in (recent, old, hidden):
        Match.objects.create(
            subscription=subscription,
            paper=paper,
            owner=reader,
            hits=[{"term": "zero-shot", "field": "title"}],
            score=1,
        )
    page = client.get(reverse("subscriptions:list")).content.decode()
    assert "Recent zero-shot paper" in page
    assert "Old zero-shot paper" not in page and "Hidden zero-shot paper" not in page
    assert "1 paper matched in the last 7 days" in page


def test_send_now_button_is_for_staff_only(client, reader):
    page = client.get(reverse("subscriptions:list")).content.decode()
    assert "Send today's digest now" not in page
    response = client.post(reverse("subscriptions:send_now"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_staff_can_send_todays_digest_now(client, smtp_sink):
    staff = UserFactory(email="editor@example.org", is_staff=True)
    subscription = SubscriptionFactory(owner=staff, query="zero-shot")
    paper = PaperFactory(title="Zero-shot, now")
    Match.objects.create(
        subscription=subscription,
        paper=paper,
        owner=staff,
        hits=[{"term": "zero-shot", "field": "title"}],
    )
    client.force_login(staff)
    assert "Send today's digest now" in client.get(reverse("subscriptions:list")).content.decode()
    response = client.post(reverse("subscriptions:send_now"), follow=True)
    assert "Today&#x27;s digest was sent to editor@example.org." in response.content.decode()
    [message] = smtp_sink.messages
    assert message["To"] == "editor@example.org"
    assert "Zero-shot, now" in message.get_body(("plain",)).get_content()
    again = client.post(reverse("subscriptions:send_now"), follow=True)
    assert "already sent" in again.content.decode()
    assert len(smtp_sink.messages) == 1


def test_send_now_with_nothing_matched_says_so(client, smtp_sink):
    client.force_login(UserFactory(is_staff=True))
    response = client.post(reverse("subscriptions:send_now"), follow=True)
    assert "Nothing to send" in response.content.decode()
    assert smtp_sink.messages == []


def test_edit_page_previews_the_current_query(client, reader):
    PaperFactory(title="Diffusion everywhere")
    subscription = SubscriptionFactory(owner=reader, query="diffusion")
    page = client.get(reverse("subscriptions:edit", args=[subscription.pk])).content.decode()
    assert "Diffusion everywhere" in page and 'data-preview-total="1"' in page


def test_preview_button_shows_matches_and_saves_nothing(client, reader):
    PaperFactory(title="Contrastive CLIP pretraining")
    subscription = SubscriptionFactory(owner=reader, name="Old", query="diffusion")
    page = client.post(
        reverse("subscriptions:edit", args=[subscription.pk]),
        {"name": "New", "query": "CLIP", "action": "preview"},
    ).content.decode()
    assert "Contrastive CLIP pretraining" in page
    subscription.refresh_from_db()
    assert (subscription.name, subscription.query) == ("Old", "diffusion")


def test_a_query_the_parser_rejects_is_refused(client, reader):
    response = client.post(reverse("subscriptions:add"), {"name": "Bad", "query": "(zero-shot"})
    assert response.status_code == 200
    assert response.context["form"].errors["query"]
    assert not Subscription.objects.exists()


def test_saving_a_subscription_matches_recent_papers_at_once(client, reader):
    paper = PaperFactory(title="Zero-shot detection", matched_at=timezone.now())
    client.post(reverse("subscriptions:add"), {"name": "Z", "query": "zero-shot", "enabled": "on"})
    assert Match.objects.filter(owner=reader, paper=paper).exists()


def test_a_subscription_without_a_name_is_named_after_its_query(client, reader):
    response = client.post(
        reverse("subscriptions:add"), {"name": "  ", "query": '"vision transformer"'}
    )
    assert response.status_code == 302
    assert Subscription.objects.get(owner=reader).name == '"vision transformer"'
    page = client.get(reverse("subscriptions:add")).content.decode()
    assert "(optional)" in page.split('for="id_name"')[1].split("</label>")[0]


def test_after_a_failed_save_the_preview_shows_the_query_as_submitted(client, reader):
    PaperFactory(title="Contrastive CLIP pretraining")
    page = client.post(
        reverse("subscriptions:add"), {"name": "x" * 101, "query": "CLIP", "action": "save"}
    ).content.decode()
    assert not Subscription.objects.exists()
    assert "Contrastive CLIP pretraining" in page and 'data-preview-total="1"' in page
