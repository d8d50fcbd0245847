"""The dashboard: sends, failures, unsubscribes, sign-ups per day and matches per paper, as
charts drawn from local files only."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from digest.digests.models import Delivery
from subscriptions.models import Match
from tests.admin_support import make_curator, make_superuser
from tests.factories import (
    DeliveryFactory,
    DigestFactory,
    PaperFactory,
    SubscriptionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def activity():
    now = timezone.now()
    yesterday = now - dt.timedelta(days=1)
    for _ in range(2):
        DeliveryFactory(status=Delivery.Status.SENT, sent_at=now)
    failed = DeliveryFactory(status=Delivery.Status.FAILED, last_error="550")
    Delivery.objects.filter(pk=failed.pk).update(updated_at=yesterday)
    UserFactory(date_joined=yesterday, unsubscribed_at=now)
    popular, quiet = PaperFactory(arxiv_id="2601.11111"), PaperFactory(arxiv_id="2601.22222")
    for _ in range(3):
        subscription = SubscriptionFactory()
        Match.objects.create(subscription=subscription, paper=popular, owner=subscription.owner)
    subscription = SubscriptionFactory()
    Match.objects.create(subscription=subscription, paper=quiet, owner=subscription.owner)


def charts_by_id(response) -> dict:
    return {chart.id: chart for chart in response.context["charts"]}


def test_the_dashboard_charts_sends_failures_signups_unsubscribes_and_matches(client, activity):
    client.force_login(make_curator())
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    charts = charts_by_id(response)
    assert set(charts) == {
        "sends-per-day",
        "subscribers-per-day",
        "papers-per-day",
        "matches-per-paper",
    }

    sends = json.loads(charts["sends-per-day"].data)
    by_label = {dataset["label"]: dataset["data"] for dataset in sends["datasets"]}
    assert len(sends["labels"]) == 30
    assert by_label["Sent"][-1] == 2
    assert by_label["Failed"][-2:] == [1, 0]

    people = json.loads(charts["subscribers-per-day"].data)
    by_label = {dataset["label"]: dataset["data"] for dataset in people["datasets"]}
    joined_today = User.objects.filter(date_joined__date=timezone.localdate()).count()
    assert by_label["Sign-ups"][-1] == joined_today
    assert by_label["Sign-ups"][-2] == 1
    assert by_label["Unsubscribes"][-1] == 1

    matches = json.loads(charts["matches-per-paper"].data)
    assert matches["labels"] == ["2601.11111", "2601.22222"]
    assert matches["datasets"][0]["data"] == [3, 1]


def test_each_chart_is_a_canvas_with_a_table_of_its_numbers(client, activity):
    client.force_login(make_curator())
    html = client.get(reverse("admin:index")).content.decode()
    assert html.count('<canvas class="chart"') == 4
    assert 'data-type="line"' in html and 'data-type="bar"' in html
    assert html.count("<summary>Numbers</summary>") == 4


def test_the_dashboard_loads_nothing_from_other_sites(client, activity):
    client.force_login(make_superuser())
    html = client.get(reverse("admin:index")).content.decode()
    sources = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="([^"]+)"', html)
    assert sources
    assert [url for url in sources if re.match(r"^(https?:)?//", url)] == []
    assert any("unfold/js/chart/chart.js" in url for url in sources)


def test_staff_without_permissions_see_no_charts(client, activity):
    client.force_login(UserFactory(is_staff=True))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert response.context["charts"] == []


def test_the_dashboard_shows_todays_run(client):
    DeliveryFactory(digest=DigestFactory(date=timezone.localdate()), status="sent")
    client.force_login(make_curator())
    response = client.get(reverse("admin:index"))
    assert response.context["run_today"]["sent"] == 1
    assert reverse("admin:digest_today") in response.content.decode()
