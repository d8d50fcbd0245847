"""The live preview: the papers a query would have matched in the last days, from the recent
papers held in memory and analysed once for every process; the JSON endpoint the forms can call;
the help page; HTML-safe highlighting."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from digest.papers.models import Paper
from digest.web.queries import EXAMPLES
from subscriptions import analyses, recent
from subscriptions.documents import ANALYSIS_VERSION, PaperDoc
from subscriptions.highlight import highlight
from subscriptions.models import PaperAnalysis
from subscriptions.preview import PREVIEW_LIMIT, run_preview
from tests.factories import PaperFactory
from tests.realpapers import real_paper

COSYVOICE = "CosyVoice: A Scalable"
METRIC3D = "Metric3D: Towards Zero-shot"


pytestmark = pytest.mark.usefixtures("isolated_cache")


def titles(query: str, **options) -> list[str]:
    return [hit.paper.title for hit in run_preview(query, **options).hits]


@pytest.mark.django_db
def test_preview_lists_the_matching_papers_best_first_with_their_hits():
    in_title = PaperFactory(title="Zero-shot parsing", abstract="Parsing.")
    in_abstract = PaperFactory(title="Parsing", abstract="A zero-shot parser.")
    featured = PaperFactory(title="Parsers", abstract="Zero-shot, again.", featured=True)
    PaperFactory(title="Unrelated", abstract="Nothing here.")
    result = run_preview("zero-shot")
    assert [hit.paper for hit in result.hits] == [featured, in_title, in_abstract]
    assert result.total == 3 and result.error is None
    assert result.hits[1].hits == [{"term": "zero-shot", "field": "title"}]
    assert result.hits[1].score > result.hits[2].score


@pytest.mark.django_db
def test_preview_shows_the_best_few_and_counts_them_all():
    for number in range(PREVIEW_LIMIT + 5):  # the same text: equally close in meaning
        PaperFactory(title="Zero-shot parsing", upvotes=number)
    result = run_preview("zero-shot")
    assert result.total == PREVIEW_LIMIT + 5
    assert len(result.hits) == PREVIEW_LIMIT
    assert result.hits[0].paper.upvotes == PREVIEW_LIMIT + 4  # upvotes break ties
    assert len(run_preview("zero-shot", limit=None).hits) == PREVIEW_LIMIT + 5


@pytest.mark.django_db
def test_an_invalid_query_is_reported_and_an_empty_one_previews_nothing():
    PaperFactory(title="Zero-shot parsing")
    result = run_preview("zero-shot AND")
    assert str(result.error) == (
        'Missing term after AND at column 11: expected a word, a "phrase" or "(" after AND'
    )
    assert result.error.position == 10
    assert (result.hits, result.total) == ([], 0)
    empty = run_preview("   ")
    assert empty.empty_query and empty.error is None and empty.total == 0


@pytest.mark.django_db
def test_preview_covers_the_last_days_only():
    PaperFactory(title="Zero-shot today")
    PaperFactory(title="Zero-shot of old", created_at=timezone.now() - dt.timedelta(days=10))
    assert titles("zero-shot", days=7) == ["Zero-shot today"]
    assert run_preview("zero-shot", days=14).total == 2


@pytest.mark.django_db
def test_the_recent_papers_notice_new_changed_and_hidden_papers():
    first = PaperFactory(title="Zero-shot one")
    assert run_preview("zero-shot").total == 1
    held = recent.recent_papers(7)
    assert recent.recent_papers(7) is held  # nothing changed: read once
    PaperFactory(title="Zero-shot two")
    assert run_preview("zero-shot").total == 2
    first.title = "Few-shot one"
    first.save()
    assert titles("zero-shot") == ["Zero-shot two"]
    Paper.objects.filter(title="Zero-shot two").update(hidden=True, modified_at=timezone.now())
    assert run_preview("zero-shot").total == 0


def forget_in_this_process():
    """What a process that has just started knows: only the database."""
    recent.clear_cache()


def analysed_papers(monkeypatch) -> list[int]:
    """The ids of the papers analysed from now on."""
    analysed: list[int] = []
    from_paper = PaperDoc.from_paper

    def counting(paper):
        analysed.append(paper.id)
        return from_paper(paper)

    monkeypatch.setattr(PaperDoc, "from_paper", counting)
    return analysed


@pytest.mark.django_db
def test_a_new_process_reads_the_analysed_papers_from_the_database(monkeypatch):
    PaperFactory(title="Zero-shot one")
    PaperFactory(title="Few-shot two")
    before = [(h.paper.title, h.hits, h.score) for h in run_preview("zero-shot OR few-shot").hits]
    assert PaperAnalysis.objects.count() == 2
    forget_in_this_process()
    analysed = analysed_papers(monkeypatch)
    after = [(h.paper.title, h.hits, h.score) for h in run_preview("zero-shot OR few-shot").hits]
    assert after == before
    assert analysed == []


@pytest.mark.django_db
def test_a_curator_fixing_a_title_is_seen_by_the_next_process_which_analyses_only_that_paper(
    monkeypatch,
):
    fixed = PaperFactory(title="Zero-shto parsing")
    PaperFactory(title="Zero-shot tagging")
    assert titles("zero-shot") == ["Zero-shot tagging"]
    fixed.title = "Zero-shot parsing"
    fixed.save()  # what the admin does: modified_at moves on
    forget_in_this_process()
    analysed = analysed_papers(monkeypatch)
    assert set(titles("zero-shot")) == {"Zero-shot parsing", "Zero-shot tagging"}
    assert analysed == [fixed.id]


@pytest.mark.django_db
def test_analyses_of_another_version_are_analysed_again_and_replaced(monkeypatch):
    paper = PaperFactory(title="Zero-shot one")
    run_preview("zero-shot")
    forget_in_this_process()
    monkeypatch.setattr(analyses, "ANALYSIS_VERSION", ANALYSIS_VERSION + 1)
    analysed = analysed_papers(monkeypatch)
    assert run_preview("zero-shot").total == 1
    assert analysed == [paper.id]
    assert list(PaperAnalysis.objects.values_list("paper_id", "version")) == [
        (paper.id, ANALYSIS_VERSION + 1)
    ]


@pytest.mark.django_db
def test_a_preview_reads_the_paper_of_each_hit_shown_in_one_query(django_assert_num_queries):
    for number in range(30):
        PaperFactory(title=f"Zero-shot {number}")
    hits = run_preview("zero-shot").hits
    with django_assert_num_queries(1):
        assert len({hit.paper.pk for hit in hits}) == PREVIEW_LIMIT


@pytest.mark.django_db
def test_the_json_endpoint_returns_papers(client):
    cosyvoice = real_paper(COSYVOICE, arxiv_id="2407.05407")
    response = client.get(reverse("subscriptions:preview"), {"q": "vocoder", "days": "7"})
    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "days": 7,
        "total": 1,
        "papers": [
            {
                "arxiv_id": "2407.05407",
                "title": cosyvoice.title,
                "hits": [{"term": "vocoder", "field": "abstract"}],
                "abs_url": "https://arxiv.org/abs/2407.05407",
                "score": response.json()["papers"][0]["score"],
            }
        ],
    }


@pytest.mark.django_db
def test_the_json_endpoint_explains_an_invalid_query(client):
    response = client.get(reverse("subscriptions:preview"), {"q": "zero-shot AND"})
    assert response.status_code == 200
    assert response.json() == {
        "ok": False,
        "error": "Missing term after AND at column 11:"
        ' expected a word, a "phrase" or "(" after AND',
        "message": "Missing term after AND",
        "position": 10,
        "expected": 'a word, a "phrase" or "(" after AND',
    }
    assert client.get(reverse("subscriptions:preview"))["Content-Type"] == "application/json"
    assert client.get(reverse("subscriptions:preview")).json()["ok"] is False


@pytest.mark.django_db
def test_the_json_endpoint_ignores_a_nonsense_day_count(client):
    response = client.get(reverse("subscriptions:preview"), {"q": "x", "days": "lots"})
    assert response.json()["days"] == 7
    response = client.get(reverse("subscriptions:preview"), {"q": "x", "days": "99999"})
    assert response.json()["days"] == 31


@pytest.mark.django_db
def test_the_help_page_shows_the_examples_and_tries_a_query(client):
    real_paper(METRIC3D)
    response = client.get(reverse("subscriptions:query_help"))
    page = response.content.decode()
    assert response.status_code == 200
    for query, _ in EXAMPLES:
        assert "<code>" + escape(query) + "</code>" in page
    tried = client.get(reverse("subscriptions:query_help"), {"q": "metric3d"}).content.decode()
    assert "Metric3D: Towards Zero-shot" in tried
    wrong = client.get(reverse("subscriptions:query_help"), {"q": "(metric3d"}).content.decode()
    assert "Unbalanced parenthesis at column 10" in wrong


def test_highlight_marks_what_the_query_language_matched():
    text = "Zero-shot TTS models; zero shot baselines; zeroshot; Diffusion and diffusive."
    hits = [
        {"term": "zero-shot", "field": "title"},
        {"term": "model", "field": "abstract"},
        {"term": "diffus*", "field": "abstract"},
    ]
    assert highlight(text, hits) == (
        "<mark>Zero-shot</mark> TTS <mark>models</mark>; <mark>zero shot</mark> baselines;"
        " <mark>zeroshot</mark>; <mark>Diffusion</mark> and <mark>diffusive</mark>."
    )


def test_highlight_ignores_author_and_category_hits():
    hits = [{"term": "Yann LeCun", "field": "author"}, {"term": "cs.CV", "field": "category"}]
    assert highlight("Yann LeCun on cs.CV", hits) == "Yann LeCun on cs.CV"


def test_highlight_is_html_safe_whatever_the_abstract_contains():
    abstract = 'A <script>alert("x")</script> model "><img src=x onerror=alert(1)> & more models'
    html = highlight(abstract, [{"term": "model", "field": "abstract"}, {"term": "<b>"}])
    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert html == (
        "A &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; <mark>model</mark>"
        " &quot;&gt;&lt;img src=x onerror=alert(1)&gt; &amp; more <mark>models</mark>"
    )


def test_highlight_keeps_accented_text_intact():
    assert highlight("Schrödinger bridges", [{"term": "schrodinger"}]) == (
        "<mark>Schrödinger</mark> bridges"
    )
