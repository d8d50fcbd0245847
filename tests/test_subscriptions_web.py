"""My subscriptions: list, add, edit, delete, with validation, scoped to the owner."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from subscriptions import arxiv_categories, services
from subscriptions.models import Match, Subscription
from tests.factories import PaperFactory, SubscriptionFactory, UserFactory
from tests.realpapers import real_rows

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
        (
            {"name": "x", "query": "   "},
            "Say what to follow: a query, your interest in words, example papers or categories.",
        ),
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


# --- Categories, an interest, example papers and how strict --------------------------------------

INTEREST = "test-time adaptation of vision-language models"
NOTHING = "Say what to follow: a query, your interest in words, example papers or categories."


ARXIV_IDS = {
    "Test-Time Adaptation with CLIP Reward": "2310.18328",
    "MMRL: Multi-Modal Representation Learning": "2503.08497",
    "CosyVoice: A Scalable": "2407.05407",
}


@pytest.fixture
def recorded():
    """60 real papers of the recording, first seen today (a few about the interest, most not),
    three with their arXiv ids, one in cs.CV."""
    papers = {}
    for number, row in enumerate(real_rows()[:60]):
        known = next(
            (ids for start, ids in ARXIV_IDS.items() if row["title"].startswith(start)), None
        )
        paper = PaperFactory(
            title=row["title"],
            abstract=row["abstract"],
            arxiv_id=known or f"2601.{number:05d}",
            categories=["cs.CV"] if number == 10 else ["cs.LG"],
        )
        papers[known or number] = paper
    return {
        "clip_tta": papers["2310.18328"],
        "mmrl": papers["2503.08497"],
        "cosyvoice": papers["2407.05407"],
    }


def add(client, **data):
    return client.post(reverse("subscriptions:add"), {"enabled": "on", **data})


def test_an_interest_alone_is_a_subscription(client, reader):
    response = add(client, interest=f"  {INTEREST}  ")
    assert response.status_code == 302
    subscription = Subscription.objects.get(owner=reader)
    assert (subscription.query, subscription.interest, subscription.name) == (
        "",
        INTEREST,
        INTEREST,
    )
    assert subscription.has_interest and subscription.interest_vector is not None


def test_example_papers_alone_are_a_subscription_written_as_ids_or_addresses(
    client, reader, recorded
):
    response = add(
        client,
        examples="https://arxiv.org/abs/2310.18328v2,\n arXiv:2503.08497  2310.18328",
    )
    assert response.status_code == 302
    subscription = Subscription.objects.get(owner=reader)
    assert set(subscription.examples.all()) == {recorded["clip_tta"], recorded["mmrl"]}
    assert subscription.name.startswith("Like Test-Time Adaptation with CLIP Reward")


def test_categories_alone_are_a_subscription(client, reader):
    response = add(client, categories=["cs.CV", "cs.LG"])
    assert response.status_code == 302
    subscription = Subscription.objects.get(owner=reader)
    assert subscription.categories == ["cs.CV", "cs.LG"] and subscription.query == ""
    assert subscription.name == "New in cs.CV, cs.LG"


def test_nothing_to_follow_is_refused_with_a_clear_message(client, reader):
    response = add(client, name="Empty", query=" ", interest=" ", examples=" ")
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [NOTHING]
    assert NOTHING in response.content.decode()
    assert not Subscription.objects.exists()


def test_unknown_and_unreadable_example_papers_are_named_in_the_error(client, reader, recorded):
    response = add(client, examples="2310.18328 2501.99999v3")
    assert response.context["form"].errors["examples"] == [
        "We have no paper with arXiv id 2501.99999: an example must be a paper Paperboy has"
        " collected."
    ]
    response = add(client, examples="2310.18328, not-an-id")
    assert response.context["form"].errors["examples"] == [
        "Not an arXiv id: not-an-id. Write ids like 2407.05407, or arxiv.org/abs/ addresses."
    ]
    many = " ".join(f"2602.{number:05d}" for number in range(21))
    response = add(client, examples=many)
    assert response.context["form"].errors["examples"] == [
        "Give at most 20 example papers (you gave 21)."
    ]
    assert not Subscription.objects.exists()


def test_categories_and_interest_have_limits(client, reader):
    codes = [code for _, options in arxiv_categories.choices() for code, _ in options][:11]
    response = add(client, query="x", categories=codes, interest="a" * 1001)
    errors = response.context["form"].errors
    assert errors["categories"] == ["Choose at most 10 categories (you chose 11)."]
    assert errors["interest"] == ["Keep your interest under 1000 characters (it has 1001)."]


def test_hostile_interest_is_escaped_in_the_preview_and_the_list(client, reader):
    hostile = '<script>alert(1)</script> "><img src=x onerror=alert(1)> test-time adaptation'
    PaperFactory(title="Test-time adaptation for everyone", abstract="Adapting at test time.")
    preview = client.get(
        reverse("subscriptions:preview_fragment"), {"interest": hostile, "strictness": "1"}
    ).content.decode()
    assert 'data-preview-state="hits"' in preview
    assert "<script>alert(1)" not in preview and "<img src=x" not in preview
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in preview  # quoted in the reason
    assert add(client, name="<script>x</script>", interest=hostile).status_code == 302
    page = client.get(reverse("subscriptions:list")).content.decode()
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_live_preview_reads_every_field_and_strictness_changes_it(client, reader, recorded):
    def total(**params) -> int:
        page = client.get(reverse("subscriptions:preview_fragment"), params).content.decode()
        found = re.search(r'data-preview-total="(\d+)"', page)
        return int(found[1]) if found else 0

    loose, strict = (
        total(interest=INTEREST, strictness="1"),
        total(interest=INTEREST, strictness="5"),
    )
    assert loose > strict
    assert total(interest=INTEREST, strictness="nonsense") == total(interest=INTEREST)
    assert total(categories="cs.CV") == 1
    assert total(examples="2310.18328", strictness="1") >= 1
    page = client.get(
        reverse("subscriptions:preview_fragment"), {"interest": INTEREST, "strictness": "1"}
    ).content.decode()
    assert f"{loose} papers in the last 7 days" in page
    assert f"Close in meaning to your interest “{INTEREST}”" in page
    assert "strictness 1 of 5" in page
    unknown = client.get(
        reverse("subscriptions:preview_fragment"), {"examples": "2501.99999"}
    ).content.decode()
    assert 'data-preview-state="problem"' in unknown and "2501.99999" in unknown


def test_the_no_javascript_preview_reads_every_field(client, reader, recorded):
    page = client.post(
        reverse("subscriptions:add"),
        {"interest": INTEREST, "strictness": "1", "action": "preview"},
    ).content.decode()
    assert "Test-Time Adaptation with CLIP Reward" in page and "strictness 1 of 5" in page
    assert not Subscription.objects.exists()


def test_editing_shows_what_the_subscription_follows_and_categories_can_be_removed(
    client, reader, recorded
):
    subscription = services.create_subscription(
        owner=reader,
        name="TTA",
        query="adaptation",
        categories=["cs.CV", "cs.LG"],
        interest=INTEREST,
        examples=[recorded["clip_tta"]],
        strictness=4,
    )
    response = client.get(reverse("subscriptions:edit", args=[subscription.pk]))
    form = response.context["form"]
    assert form["categories"].value() == ["cs.CV", "cs.LG"]
    assert form["interest"].value() == INTEREST
    assert form["examples"].value() == "2310.18328"
    assert str(form["strictness"].value()) == "4"
    page = response.content.decode()
    assert 'value="cs.CV" checked' in page and 'value="cs.LG" checked' in page
    assert 'value="4" data-strictness="1" id="id_strictness_4" checked' in page
    assert "Chosen: <span data-categories-chosen-list>cs.CV, cs.LG</span>" in page

    response = client.post(
        reverse("subscriptions:edit", args=[subscription.pk]),
        {"name": "TTA", "query": "adaptation", "interest": INTEREST, "examples": "2310.18328"},
    )
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.categories == [] and subscription.strictness is None
    assert list(subscription.examples.all()) == [recorded["clip_tta"]]
    client.post(
        reverse("subscriptions:edit", args=[subscription.pk]),
        {"name": "TTA", "query": "adaptation", "examples": ""},
    )
    subscription.refresh_from_db()
    assert subscription.interest == "" and not subscription.examples.exists()


def test_a_new_subscription_shows_the_default_strictness(client, reader):
    page = client.get(reverse("subscriptions:add")).content.decode()
    assert "Default (3; 2 for example papers alone)" in page
    assert 'value="" data-strictness="1" id="id_strictness_0" checked' in page


def test_the_list_shows_what_each_subscription_follows(client, reader, recorded):
    services.create_subscription(
        owner=reader,
        name="Everything",
        query="zero-shot",
        categories=["cs.CV"],
        interest=INTEREST,
        examples=[recorded["clip_tta"], recorded["mmrl"]],
        strictness=2,
    )
    page = client.get(reverse("subscriptions:list")).content.decode()
    assert "<code>zero-shot</code>" in page
    assert f"“{INTEREST}”" in page
    assert "2 example papers" in page
    assert '<span class="tag">cs.CV</span>' in page
    assert "2 of 5" in page
