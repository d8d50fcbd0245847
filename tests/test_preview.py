"""The live preview: the papers a query would have matched in the last days, from the recent
papers held in memory and analysed once for every process; the JSON endpoint the forms can call;
the help page; HTML-safe highlighting."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from digest.papers.models import Paper
from digest.web.queries import EXAMPLES
from subscriptions import analyses, hybrid, recent, recommendations, semantic
from subscriptions.documents import ANALYSIS_VERSION, PaperDoc
from subscriptions.embeddings import embed_new_papers, stack
from subscriptions.highlight import highlight
from subscriptions.models import PaperAnalysis
from subscriptions.preview import PREVIEW_LIMIT, run_preview
from tests.factories import PaperFactory
from tests.realpapers import real_paper, real_rows

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
                "similarity": None,  # not embedded yet: the daily run embeds papers
                "reasons": ["matched: `vocoder` in abstract"],
            }
        ],
    }


@pytest.mark.django_db
def test_the_json_endpoint_previews_an_interest_and_says_what_is_wrong(client, recorded):
    response = client.get(
        reverse("subscriptions:preview"),
        {"interest": INTEREST, "categories": ["cs.CV", "cs.CL"], "strictness": "2"},
    ).json()
    expected = run_preview(interest=INTEREST, categories=["cs.CV", "cs.CL"], strictness=2)
    assert response["ok"] and response["total"] == expected.total > 0
    assert [paper["title"] for paper in response["papers"]] == [
        hit.paper.title for hit in expected.hits
    ]
    first = response["papers"][0]
    assert first["reasons"] == [f"close in meaning to your interest “{INTEREST}”"]
    assert first["similarity"] >= hybrid.CLOSE_IN_MEANING_Z
    unknown = client.get(reverse("subscriptions:preview"), {"examples": "2501.99999"}).json()
    assert unknown == {
        "ok": False,
        "error": "We have no paper with arXiv id 2501.99999: an example must be a paper"
        " Paperboy has collected.",
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


# --- What else a subscription follows: categories, an interest, example papers, strictness ------

INTEREST = "test-time adaptation of vision-language models"
CLIP_TTA = "Test-Time Adaptation with CLIP Reward"  # about the interest


@pytest.fixture
def recorded():
    """80 real papers of the recording, first seen today, alternately in cs.CL and cs.CV."""
    return [
        PaperFactory(
            title=row["title"],
            abstract=row["abstract"],
            categories=["cs.CV" if number % 2 else "cs.CL"],
        )
        for number, row in enumerate(real_rows()[:80])
    ]


def z_of_every_paper(words: str = "", examples=()) -> dict[int, float]:
    """Each embedded recent paper's closeness in meaning to an interest, measured here from the
    stored embeddings, as the specification says: spreads above the typical recent paper."""
    papers = list(Paper.objects.filter(embedding__isnull=False).order_by("pk"))
    vectors = stack(paper.embedding for paper in papers)
    example_vectors = stack(paper.embedding for paper in examples) if examples else None
    interest = semantic.interest_vector(words, example_vectors)
    z = semantic.rank_by_interest(vectors, interest, semantic.Background.of(vectors))
    return {paper.pk: float(value) for paper, value in zip(papers, z, strict=True)}


def ids(result) -> set[int]:
    return {hit.paper_id for hit in result.hits}


@pytest.mark.django_db
def test_an_interest_alone_previews_the_papers_close_in_meaning_best_first(recorded):
    result = run_preview(interest=INTEREST, limit=None)
    z = z_of_every_paper(INTEREST)
    threshold = semantic.strictness_z(semantic.DEFAULT_STRICTNESS_BY_KIND[semantic.Kind.TEXT])
    assert result.error is None and result.problem == "" and result.by_meaning
    assert ids(result) == {paper_id for paper_id, value in z.items() if value >= threshold}
    assert CLIP_TTA in {hit.paper.title[: len(CLIP_TTA)] for hit in result.hits}
    similarities = [hit.similarity for hit in result.hits]
    assert similarities == sorted(similarities, reverse=True)  # nothing else tells them apart
    assert similarities == pytest.approx([z[hit.paper_id] for hit in result.hits], abs=1e-4)
    assert [hit.score for hit in result.hits] == pytest.approx(similarities)


@pytest.mark.django_db
def test_every_reason_in_a_preview_is_true(recorded):
    """ "close in meaning" only from hybrid.CLOSE_IN_MEANING_Z; "matched: `zero-shot` in title"
    only when the title says zero-shot; a paper the query did not match got in by meaning."""
    result = run_preview("zero-shot", interest=INTEREST, strictness=2, limit=None)
    threshold = semantic.strictness_z(2)
    z = z_of_every_paper(INTEREST)
    assert result.total == len(result.hits) > 20
    reasons = [reason for hit in result.hits for reason in hit.reasons]
    assert any(reason.startswith("matched: `zero-shot` in title") for reason in reasons)
    assert any(reason == "matched: `zero-shot` in abstract" for reason in reasons)
    assert any(reason.startswith("close in meaning") for reason in reasons)
    assert any(not hit.hits for hit in result.hits)  # by meaning alone
    for hit in result.hits:
        close = f"close in meaning to your interest “{INTEREST}”" in hit.reasons
        assert close == (hit.similarity >= hybrid.CLOSE_IN_MEANING_Z), hit
        assert hit.similarity == pytest.approx(z[hit.paper_id], abs=1e-4)
        assert hit.by_meaning == (not hit.hits)  # the query's matches come with their hits
        matched = [reason for reason in hit.reasons if reason.startswith("matched: ")]
        in_title = bool(re.search(r"zero[- ]?shot", hit.paper.title, re.IGNORECASE))
        if matched:
            assert ("`zero-shot` in title" in matched[0]) == in_title, hit
        else:
            assert hit.similarity >= threshold, hit


@pytest.mark.django_db
def test_a_preview_is_the_query_or_the_meaning_within_the_categories(recorded):
    by_query = ids(run_preview("zero-shot", limit=None))
    by_meaning = ids(run_preview(interest=INTEREST, strictness=2, limit=None))
    both = run_preview("zero-shot", interest=INTEREST, strictness=2, limit=None)
    assert by_meaning - by_query and by_query - by_meaning  # each finds papers the other misses
    assert ids(both) == by_query | by_meaning
    in_cv = {paper.pk for paper in recorded if "cs.CV" in paper.categories}
    within = run_preview(
        "zero-shot", interest=INTEREST, strictness=2, categories=["cs.CV"], limit=None
    )
    assert ids(within) == (by_query | by_meaning) & in_cv
    meaning_within = run_preview(interest=INTEREST, categories=["cs.CV"], limit=None)
    assert ids(meaning_within) == ids(run_preview(interest=INTEREST, limit=None)) & in_cv


@pytest.mark.django_db
def test_categories_alone_preview_every_paper_in_them(recorded):
    result = run_preview(categories=["cs.CV"], limit=None)
    assert ids(result) == {paper.pk for paper in recorded if "cs.CV" in paper.categories}
    assert {hit.reasons[0] for hit in result.hits} == {"matched: `cs.CV` in category"}
    assert not result.by_meaning


@pytest.mark.django_db
def test_how_strict_changes_the_preview(recorded):
    found = {
        level: ids(run_preview(interest=INTEREST, strictness=level, limit=None))
        for level in range(1, 6)
    }
    assert len(found[1]) > len(found[3]) > len(found[5])
    for level in range(1, 5):
        assert found[level + 1] <= found[level]
    default = run_preview(interest=INTEREST, limit=None)
    assert ids(default) == found[3] and default.threshold == 3 and default.strictness is None
    z = z_of_every_paper(INTEREST)
    assert all(z[paper_id] >= semantic.STRICTNESS_Z[5] for paper_id in found[5])
    wrong = run_preview(interest=INTEREST, strictness=9)
    assert wrong.problem == "How strict is 1 (loose) to 5 (strict)." and wrong.hits == []


@pytest.mark.django_db
def test_a_query_alone_is_matched_exactly_and_its_words_only_rank(recorded):
    assert run_preview("zero-shot").total > 0
    # Ranking alone embeds nothing (the match step embeds every paper: a preview as someone
    # types a query must not); a paper without an embedding ranks as a typical one.
    assert not Paper.objects.filter(embedding__isnull=False).exists()
    embed_new_papers()
    result = run_preview("zero-shot", strictness=1, limit=None)
    assert ids(result) == ids(run_preview("zero-shot", strictness=5, limit=None))
    assert not result.by_meaning
    assert all(hit.similarity is not None for hit in result.hits)
    assert not any("close in meaning" in reason for hit in result.hits for reason in hit.reasons)


@pytest.mark.django_db
def test_example_papers_preview_papers_like_them(recorded):
    example = next(paper for paper in recorded if paper.title.startswith(CLIP_TTA))
    result = run_preview(examples=[example.arxiv_id + "v2"], limit=None)
    assert result.problem == "" and result.total > 1
    assert result.hits[0].paper_id == example.pk  # recent: matched as the match step would
    assert result.threshold == semantic.DEFAULT_STRICTNESS_BY_KIND[semantic.Kind.PAPERS]
    closeness = z_of_every_paper(examples=[Paper.objects.get(pk=example.pk)])
    reason = f"close in meaning to your example papers, nearest to *{example.title}*"
    for hit in result.hits:
        assert (reason in hit.reasons) == (closeness[hit.paper_id] >= hybrid.CLOSE_IN_MEANING_Z)
    assert any(reason in hit.reasons for hit in result.hits)


@pytest.mark.django_db
def test_unknown_or_unreadable_example_papers_are_named():
    PaperFactory(arxiv_id="2601.00001")
    unknown = run_preview(examples=["2601.00001", "2601.99999"])
    assert unknown.problem == (
        "We have no paper with arXiv id 2601.99999: an example must be a paper Paperboy has"
        " collected."
    )
    assert unknown.hits == [] and unknown.total == 0
    unreadable = run_preview(examples=["<script>alert(1)</script>"])
    assert unreadable.problem.startswith("Not an arXiv id: <script>alert(1)</script>.")


@pytest.mark.django_db
def test_nothing_to_follow_previews_nothing():
    PaperFactory(title="Zero-shot parsing")
    result = run_preview("", categories=[], interest="   ", examples=[])
    assert result.empty_query and result.total == 0 and result.problem == ""


@pytest.mark.django_db
def test_a_preview_reads_papers_for_meaning_that_the_match_step_has_not_yet(monkeypatch):
    monkeypatch.setattr(recommendations, "EMBED_ON_READ", 2)
    for number in range(5):
        PaperFactory(title=f"Test-time adaptation of CLIP, part {number}")
    result = run_preview(interest=INTEREST)
    assert Paper.objects.filter(embedding__isnull=False).count() == 2
    assert result.not_embedded == 3
    assert run_preview(interest=INTEREST).not_embedded == 1
    assert run_preview(interest=INTEREST).not_embedded == 0


@pytest.mark.django_db
def test_the_embeddings_are_read_once_while_the_papers_are_unchanged(recorded):
    embed_new_papers()
    held = recommendations.embedded_papers(7)
    assert recommendations.embedded_papers(7) is held and len(held) == len(recorded)
    PaperFactory(title="Test-time adaptation, again")
    again = recommendations.embedded_papers(7)
    assert again is not held and len(again) == len(held) and again.not_embedded == 1
    embed_new_papers()
    assert len(recommendations.embedded_papers(7)) == len(held) + 1
