"""Curating papers in the admin: search, filters, edits, feature / hide, bulk actions."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from digest.papers.models import Paper, Sighting
from digest.papers.search import search_papers
from subscriptions.models import Match
from tests.admin_support import form_data, make_curator
from tests.factories import PaperFactory, SourceFactory, SubscriptionFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:papers_paper_changelist"
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def curator_client(client):
    client.force_login(make_curator())
    return client


def listed(client, **params) -> set[int]:
    response = client.get(reverse(CHANGELIST), params)
    assert response.status_code == 200
    return {paper.pk for paper in response.context["cl"].result_list}


# --- Search -----------------------------------------------------------------------------------


@pytest.fixture
def library():
    return {
        "diffusion": PaperFactory(
            arxiv_id="2601.00001",
            title="Diffusion models for protein design",
            abstract="We denoise backbones.",
            authors=["José Müller", "Ada Lovelace"],
        ),
        "clip": PaperFactory(
            arxiv_id="2601.00002",
            title="Zero-shot transfer with CLIP",
            abstract="Contrastive pretraining scales; diffusion is not needed.",
            authors=["Alan Turing", "Grace O'Brien"],
        ),
        "graphs": PaperFactory(
            arxiv_id="2601.00003",
            title="Graph networks",
            abstract="Message passing on molecules.",
            authors=["Émile Durand"],
        ),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("diffusion", {"diffusion", "clip"}),  # title or abstract
        ("protein", {"diffusion"}),
        ("contrastive", {"clip"}),
        ("Lovelace", {"diffusion"}),  # author surname
        ('"Ada Lovelace"', {"diffusion"}),  # a quoted full name
        ("josé müller", {"diffusion"}),  # accented author, other case
        ("Müller", {"diffusion"}),
        ("Émile", {"graphs"}),
        ("O'Brien", {"clip"}),
        ("2601.00003", {"graphs"}),  # arXiv id
        ("arXiv:2601.00002v3", {"clip"}),  # with prefix and version
        ("diffusion Turing", {"clip"}),  # every term must match somewhere
        ("nothing-like-this", set()),
    ],
)
def test_search_finds_papers_by_title_abstract_author_or_arxiv_id(library, query, expected):
    found = set(search_papers(Paper.objects.all(), query).values_list("pk", flat=True))
    assert found == {library[name].pk for name in expected}


def test_the_admin_search_box_uses_the_paper_search(curator_client, library):
    assert listed(curator_client, q="Lovelace") == {library["diffusion"].pk}
    assert listed(curator_client, q="arXiv:2601.00002") == {library["clip"].pk}


# --- Filters ----------------------------------------------------------------------------------


def test_filter_by_announced_date(curator_client):
    monday = PaperFactory(announced_on=dt.date(2026, 1, 5))
    tuesday = PaperFactory(announced_on=dt.date(2026, 1, 6))
    PaperFactory(announced_on=dt.date(2026, 1, 8))
    found = listed(curator_client, announced_on_from="2026-01-05", announced_on_to="2026-01-06")
    assert found == {monday.pk, tuesday.pk}


def test_filter_by_source(curator_client):
    rss = SourceFactory(name="cs.LG rss")
    hf = SourceFactory(name="hf daily")
    both, only_hf = PaperFactory(), PaperFactory()
    PaperFactory()
    Sighting.objects.create(source=rss, paper=both)
    Sighting.objects.create(source=hf, paper=both)
    Sighting.objects.create(source=hf, paper=only_hf)
    assert listed(curator_client, sources__id__exact=hf.pk) == {both.pk, only_hf.pk}
    assert listed(curator_client, sources__id__exact=rss.pk) == {both.pk}


def test_filter_by_category_includes_cross_listed_papers(curator_client):
    primary = PaperFactory(primary_category="cs.CV", categories=["cs.CV"])
    cross = PaperFactory(primary_category="cs.LG", categories=["cs.LG", "cs.CV"])
    PaperFactory(primary_category="cs.LG", categories=["cs.LG", "cs.CVX"])
    assert listed(curator_client, category="cs.CV") == {primary.pk, cross.pk}


def test_filter_by_code_featured_and_hidden(curator_client):
    with_code = PaperFactory(code_url="https://github.com/x/y")
    featured = PaperFactory(featured=True)
    everywhere = PaperFactory(featured=True, featured_everywhere=True)
    hidden = PaperFactory(hidden=True)
    assert listed(curator_client, has_code="yes") == {with_code.pk}
    assert with_code.pk not in listed(curator_client, has_code="no")
    assert listed(curator_client, feature="matching") == {featured.pk}
    assert listed(curator_client, feature="everywhere") == {everywhere.pk}
    assert listed(curator_client, hidden__exact="1") == {hidden.pk}


def test_the_list_shows_match_counts(curator_client):
    from subscriptions.models import Match
    from tests.factories import SubscriptionFactory

    paper = PaperFactory()
    for _ in range(3):
        subscription = SubscriptionFactory()
        Match.objects.create(subscription=subscription, paper=paper, owner=subscription.owner)
    response = curator_client.get(reverse(CHANGELIST))
    row = next(p for p in response.context["cl"].result_list if p.pk == paper.pk)
    assert row.match_total == 3


# --- Editing ----------------------------------------------------------------------------------


def change(client, paper: Paper, **changes) -> Paper:
    url = reverse("admin:papers_paper_change", args=[paper.pk])
    data = form_data(client.get(url).content.decode(), "paper_form")
    data.update(changes)
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    return Paper.objects.get(pk=paper.pk)


def test_a_curator_fixes_title_abstract_authors_and_links(curator_client):
    paper = PaperFactory(title="Bad  title", authors=["A. One"])
    edited = change(
        curator_client,
        paper,
        title="A better title",
        abstract="A clean abstract.",
        authors_lines="Ada Lovelace\n  Alan   Turing \n\n",
        categories_line="cs.CL  cs.LG",
        code_url="https://github.com/example/code",
        hf_url="https://huggingface.co/papers/2601.00001",
    )
    assert edited.title == "A better title"
    assert edited.abstract == "A clean abstract."
    assert edited.authors == ["Ada Lovelace", "Alan Turing"]
    assert edited.categories == ["cs.CL", "cs.LG"]
    assert edited.code_url == "https://github.com/example/code"
    assert edited.hf_url == "https://huggingface.co/papers/2601.00001"
    assert LogEntry.objects.filter(object_id=str(paper.pk)).exists()


def test_a_bad_link_is_refused_with_a_clear_error(curator_client):
    paper = PaperFactory()
    url = reverse("admin:papers_paper_change", args=[paper.pk])
    data = form_data(curator_client.get(url).content.decode(), "paper_form")
    data["code_url"] = "not a url"
    response = curator_client.post(url, data)
    assert response.status_code == 200
    assert "code_url" in response.context["adminform"].form.errors
    assert Paper.objects.get(pk=paper.pk).code_url == ""


@pytest.mark.parametrize(
    ("choice", "featured", "everywhere"),
    [("matching", True, False), ("everywhere", True, True), ("none", False, False)],
)
def test_feature_is_one_choice_per_paper(curator_client, choice, featured, everywhere):
    paper = PaperFactory(featured=not featured, featured_everywhere=not everywhere)
    edited = change(curator_client, paper, feature=choice)
    assert (edited.featured, edited.featured_everywhere) == (featured, everywhere)


def test_hide_and_note_from_the_change_form(curator_client):
    paper = PaperFactory()
    edited = change(curator_client, paper, hidden="on", curator_note="Read section 3 first.")
    assert edited.hidden is True
    assert edited.curator_note == "Read section 3 first."


def test_the_change_form_shows_the_current_feature_choice(curator_client):
    paper = PaperFactory(featured=True, featured_everywhere=True)
    html = curator_client.get(reverse("admin:papers_paper_change", args=[paper.pk])).content
    assert form_data(html.decode(), "paper_form")["feature"] == "everywhere"


# --- Bulk actions -----------------------------------------------------------------------------


def run_action(client, action: str, papers: list[Paper]):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [paper.pk for paper in papers]},
    )


def flags(paper: Paper) -> tuple[bool, bool, bool]:
    paper.refresh_from_db()
    return paper.featured, paper.featured_everywhere, paper.hidden


def test_bulk_feature_feature_everywhere_and_unfeature(curator_client):
    first, second, untouched = PaperFactory(), PaperFactory(), PaperFactory()
    before = timezone.now()
    response = run_action(curator_client, "feature", [first, second])
    assert response.status_code == 302
    assert flags(first) == flags(second) == (True, False, False)
    assert first.modified_at >= before
    run_action(curator_client, "feature_everywhere", [second])
    assert flags(second) == (True, True, False)
    run_action(curator_client, "unfeature", [first, second])
    assert flags(first) == flags(second) == (False, False, False)
    assert flags(untouched) == (False, False, False)


def test_bulk_hide_and_unhide(curator_client):
    first, second = PaperFactory(), PaperFactory()
    run_action(curator_client, "hide", [first, second])
    assert flags(first)[2] and flags(second)[2]
    run_action(curator_client, "unhide", [second])
    assert flags(first)[2] and not flags(second)[2]


def test_bulk_actions_leave_a_history_entry_per_paper(curator_client):
    papers = [PaperFactory(), PaperFactory()]
    run_action(curator_client, "hide", papers)
    entries = LogEntry.objects.filter(change_message="Hidden")
    assert sorted(entries.values_list("object_id", flat=True)) == sorted(
        str(paper.pk) for paper in papers
    )


def test_control_characters_typed_in_the_admin_never_reach_a_readers_atom_feed(
    curator_client, client, isolated_cache
):
    reader = UserFactory()
    paper = PaperFactory(title="Clean title")
    Match.objects.create(subscription=SubscriptionFactory(owner=reader), paper=paper, owner=reader)

    edited = change(
        curator_client,
        paper,
        title="Quantum\x0bcomputing\x1f now",
        abstract="An \x08abstract with\x1b[31m escapes",  # NUL: Django's own clear error
        authors_lines="Ada\x0cLovelace\nAlan\x01 Turing",
        categories_line="cs.LG\x02 quant-ph",
        curator_note="Read this\x07 first.\n\nThen section\x0b3.",
    )

    response = client.get(reverse("feed", args=[reader.feed_token]))
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    assert root.find(f"{ATOM}entry/{ATOM}title").text == "Quantum computing now"
    assert edited.title == "Quantum computing now"
    assert edited.abstract == "An abstract with [31m escapes"
    assert edited.authors == ["Ada Lovelace", "Alan Turing"]
    assert edited.categories == ["cs.LG", "quant-ph"]
    assert edited.curator_note == "Read this first.\n\nThen section 3."


def test_a_title_of_control_characters_only_is_refused(curator_client):
    paper = PaperFactory(title="Kept")
    url = reverse("admin:papers_paper_change", args=[paper.pk])
    data = form_data(curator_client.get(url).content.decode(), "paper_form")
    data["title"] = "\x01\x02"
    response = curator_client.post(url, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["title"] == ["A paper needs a title."]
    assert Paper.objects.get(pk=paper.pk).title == "Kept"
