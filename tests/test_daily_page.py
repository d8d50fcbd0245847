"""The public daily page is what Hugging Face's is: the day's papers ranked by upvotes, with
titles that lead to the paper's page, authors, submitter, organisation and thumbnail, day by
day. Hugging Face papers reach it on the day Hugging Face listed them."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from digest.papers.ingest.run import ingest_content
from digest.papers.models import Paper, Source
from tests.factories import PaperFactory, SourceFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_cache")]

HF_DAY = dt.date(2026, 8, 3)  # submittedOnDailyAt of the recorded daily papers


def day_page(client, day: dt.date) -> str:
    response = client.get(reverse("papers_day", args=[day.isoformat()]))
    assert response.status_code == 200
    return response.content.decode()


def cards(page: str) -> list[str]:
    return re.findall(r'<li class="paper">.*?</li>\s*(?=<li class="paper">|</ol>)', page, re.S)


@pytest.fixture
def hugging_face_day(fixture_path):
    source = SourceFactory(name="HF daily", kind=Source.Kind.HF_DAILY)
    content = fixture_path("hf_daily_papers_2026.json").read_bytes()
    assert ingest_content(source, content).status == Source.Status.OK


def test_hugging_faces_papers_are_on_the_day_it_listed_them_ranked_by_upvotes(
    client, hugging_face_day
):
    page = day_page(client, HF_DAY)
    titles = [
        "EMBL AI Librarian: Life-Sciences Knowledge Layer for AI Agents",  # 4 upvotes
        "Constitutional Midtraining: Content Presence Drives Alignment Gains",  # 3
    ]
    assert page.index(html.escape(titles[0])) < page.index(html.escape(titles[1]))
    first = cards(page)[0]
    assert re.search(r'class="votes"[^>]*>4<span>upvotes</span>', first)
    paper = Paper.objects.get(arxiv_id="2607.28229")
    assert f'<a href="{paper.get_absolute_url()}">{html.escape(paper.title)}</a>' in first
    assert "Luigi Sigillo" in first  # authors
    assert "Submitted by Luigi Sigillo" in first
    assert "European Molecular Biology Laboratory" in first
    assert (
        '<img class="thumbnail" src="https://cdn-thumbnails.huggingface.co/social-thumbnails/'
        'papers/2607.28229.png" alt=""' in first
    )
    assert "3 papers" in page


def test_a_paper_arxiv_announced_earlier_is_also_on_hugging_faces_day(client):
    thursday = timezone.localdate() - dt.timedelta(days=4)
    monday = timezone.localdate()
    PaperFactory(
        title="Announced Thursday, upvoted Monday",
        announced_on=thursday,
        hf_daily_on=monday,
        hf_url="https://huggingface.co/papers/2601.00001",
        upvotes=12,
    )
    PaperFactory(title="Announced Monday", announced_on=monday)
    today = client.get(reverse("papers_today")).content.decode()
    assert today.index("Announced Thursday, upvoted Monday") < today.index("Announced Monday")
    assert "Announced Thursday, upvoted Monday" in day_page(client, thursday)


def test_days_only_hugging_face_listed_are_browsable(client):
    today = timezone.localdate()
    arxiv_day, hf_day = today - dt.timedelta(days=5), today - dt.timedelta(days=2)
    PaperFactory(title="On the arXiv day", announced_on=arxiv_day)
    PaperFactory(title="On the Hugging Face day", announced_on=None, hf_daily_on=hf_day)
    latest = client.get(reverse("papers_today")).content.decode()
    assert "On the Hugging Face day" in latest  # the latest day with papers is Hugging Face's
    assert reverse("papers_day", args=[arxiv_day.isoformat()]) in latest  # previous day
    older = day_page(client, arxiv_day)
    assert reverse("papers_day", args=[hf_day.isoformat()]) in older  # next day


def test_papers_hugging_face_does_not_list_show_no_upvote_count(client):
    PaperFactory(title="Only on arXiv", upvotes=0, hf_url="")
    PaperFactory(title="On Hugging Face, no votes yet", upvotes=0, hf_url="https://hf.co/p/1")
    page = client.get(reverse("papers_today")).content.decode()
    arxiv_only, hugging_face = sorted(cards(page), key=lambda card: "Only on arXiv" in card)[::-1]
    assert "upvote" not in arxiv_only
    assert "0<span>upvotes</span>" in hugging_face
