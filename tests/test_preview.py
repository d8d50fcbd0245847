"""The live preview: the papers a query would have matched in the last days, from a
per-process cache; the JSON endpoint the forms can call; the help page; HTML-safe highlighting."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from digest.papers.models import Paper
from digest.web.queries import EXAMPLES
from subscriptions import corpus
from subscriptions.highlight import highlight
from subscriptions.matcher import preview
from tests.factories import PaperFactory
from tests.realpapers import real_paper

COSYVOICE = "CosyVoice: A Scalable"
METRIC3D = "Metric3D: Towards Zero-shot"


pytestmark = pytest.mark.usefixtures("isolated_cache")


@pytest.mark.django_db
def test_preview_lists_the_matching_papers_best_first_with_their_hits():
    in_title = PaperFactory(title="Zero-shot parsing", abstract="Parsing.")
    in_abstract = PaperFactory(title="Parsing", abstract="A zero-shot parser.")
    featured = PaperFactory(title="Parsers", abstract="Zero-shot, again.", featured=True)
    PaperFactory(title="Unrelated", abstract="Nothing here.")
    found = preview("zero-shot")
    assert [hit.paper for hit in found] == [featured, in_title, in_abstract]
    assert found[1].hits == [{"term": "zero-shot", "field": "title"}]
    assert found[1].score > found[2].score


@pytest.mark.django_db
def test_preview_covers_the_last_days_only():
    PaperFactory(title="Zero-shot today")
    PaperFactory(title="Zero-shot of old", created_at=timezone.now() - dt.timedelta(days=10))
    assert [h.paper.title for h in preview("zero-shot", days=7)] == ["Zero-shot today"]
    assert len(preview("zero-shot", days=14)) == 2


@pytest.mark.django_db
def test_the_cache_notices_new_changed_and_hidden_papers():
    first = PaperFactory(title="Zero-shot one")
    assert len(preview("zero-shot")) == 1
    cached = corpus.recent_corpus(7)
    assert corpus.recent_corpus(7) is cached  # nothing changed: no re-analysis
    PaperFactory(title="Zero-shot two")
    assert len(preview("zero-shot")) == 2
    first.title = "Few-shot one"
    first.save()
    assert [h.paper.title for h in preview("zero-shot")] == ["Zero-shot two"]
    Paper.objects.filter(title="Zero-shot two").update(hidden=True, modified_at=timezone.now())
    assert preview("zero-shot") == []


def forget_in_this_process():
    """What a process that has just started knows: only the copy on disk."""
    corpus._cache.clear()


def analysed_papers(monkeypatch) -> list[int]:
    """The ids of the papers analysed from now on."""
    analysed: list[int] = []
    analyse = corpus.RecentPaper.analyse

    def counting(paper):
        analysed.append(paper.id)
        return analyse(paper)

    monkeypatch.setattr(corpus.RecentPaper, "analyse", counting)
    return analysed


@pytest.mark.django_db
def test_a_new_process_reads_the_analysed_papers_from_disk_instead_of_analysing_them(
    monkeypatch,
):
    PaperFactory(title="Zero-shot one")
    PaperFactory(title="Few-shot two")
    before = [(h.paper.title, h.hits, h.score) for h in preview("zero-shot OR few-shot")]
    forget_in_this_process()
    analysed = analysed_papers(monkeypatch)
    after = [(h.paper.title, h.hits, h.score) for h in preview("zero-shot OR few-shot")]
    assert after == before
    assert analysed == []


@pytest.mark.django_db
def test_a_curator_fixing_a_title_is_seen_by_the_next_process_which_analyses_only_that_paper(
    monkeypatch,
):
    fixed = PaperFactory(title="Zero-shto parsing")
    PaperFactory(title="Zero-shot tagging")
    assert [h.paper.title for h in preview("zero-shot")] == ["Zero-shot tagging"]
    fixed.title = "Zero-shot parsing"
    fixed.save()  # what the admin does: modified_at moves on
    forget_in_this_process()
    analysed = analysed_papers(monkeypatch)
    assert {h.paper.title for h in preview("zero-shot")} == {
        "Zero-shot parsing",
        "Zero-shot tagging",
    }
    assert analysed == [fixed.id]


@pytest.mark.django_db
def test_a_copy_written_by_another_version_of_the_code_is_not_read(monkeypatch):
    PaperFactory(title="Zero-shot one")
    preview("zero-shot")
    forget_in_this_process()
    monkeypatch.setattr(corpus, "code_fingerprint", lambda: "another-version")
    assert corpus.load_stored(7) is None
    analysed = analysed_papers(monkeypatch)
    assert len(preview("zero-shot")) == 1
    assert len(analysed) == 1


@pytest.mark.django_db
def test_a_new_version_of_the_code_replaces_the_copy_of_the_old_one(monkeypatch):
    PaperFactory(title="Zero-shot one")
    preview("zero-shot")
    old_copy = corpus.stored_path(7)
    forget_in_this_process()
    monkeypatch.setattr(corpus, "code_fingerprint", lambda: "another-version")
    preview("zero-shot")
    assert corpus.stored_path(7).exists()
    assert not old_copy.exists()  # copies do not pile up on disk deploy after deploy


@pytest.mark.django_db
def test_an_unreadable_copy_is_rebuilt(monkeypatch):
    PaperFactory(title="Zero-shot one")
    preview("zero-shot")
    forget_in_this_process()
    corpus.stored_path(7).write_bytes(b"not a pickle")
    assert len(preview("zero-shot")) == 1
    forget_in_this_process()
    analysed = analysed_papers(monkeypatch)
    assert len(preview("zero-shot")) == 1  # from the copy written again
    assert analysed == []


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
