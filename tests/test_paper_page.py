"""Every paper has a page of its own, ``/paper/<key>``: what it is, where to read it, which of
my subscriptions matched it and the recent papers closest to it in meaning."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from subscriptions.embeddings import embed_new_papers
from subscriptions.models import Match
from tests.factories import (
    DeliveryFactory,
    DigestFactory,
    DigestItemFactory,
    PaperFactory,
    SubscriptionFactory,
    UserFactory,
)
from tests.realpapers import real_paper

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_cache")]
ATOM = "{http://www.w3.org/2005/Atom}"

LIGHT_CLIP = "LightCLIP: Learning Multi-Level Interaction for Lightweight"
CLIP_RETRIEVAL = "Optimizing CLIP Models for Image Retrieval"
CLIP_DIFFUSION = "Diffusion Feedback Helps CLIP See Better"
ZERO_SHOT_TTS = "CosyVoice: A Scalable Multilingual Zero-shot Text-to-speech"
VOICE_CONVERSION = "StableVC: Style Controllable Zero-Shot Voice Conversion"
MEDICAL = "STU-Net: Scalable and Transferable Medical Image Segmentation"
SPEECH = "Unified Speech Recognition"


def page_of(client, paper) -> str:
    response = client.get(paper.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def test_a_paper_page_shows_the_paper_and_where_to_read_it(client):
    paper = PaperFactory(
        arxiv_id="2607.26654",
        title="Constitutional Midtraining: Content Presence Drives Alignment Gains",
        abstract="Post-training alignment is often shallow, eroding under fine-tuning.",
        authors=["Desiree Cho", "Cameron Tice", "Bernie Hogan"],
        categories=["cs.CL", "cs.AI"],
        code_url="https://github.com/desBugger/constitutional-mt",
        hf_url="https://huggingface.co/papers/2607.26654",
        upvotes=3,
        hf_submitter="Hunar Batra",
        hf_organization="University of Oxford",
    )
    assert paper.get_absolute_url() == "/paper/arxiv:2607.26654"
    page = page_of(client, paper)
    for text in (
        paper.title,
        paper.abstract,
        "Desiree Cho, Cameron Tice, Bernie Hogan",
        "cs.CL",
        "arXiv:2607.26654",
        "3 upvotes on Hugging Face",
        "Submitted by Hunar Batra",
        "University of Oxford",
    ):
        assert html.escape(text) in page, text
    for url in (
        "https://arxiv.org/abs/2607.26654",
        "https://arxiv.org/pdf/2607.26654",
        "https://github.com/desBugger/constitutional-mt",
        "https://huggingface.co/papers/2607.26654",
    ):
        assert f'href="{url}"' in page, url


def test_a_feed_link_that_is_not_a_web_address_is_not_a_link(client):
    paper = PaperFactory(code_url="javascript:alert(1)")
    assert "javascript:" not in page_of(client, paper)


def test_the_atom_feeds_entries_lead_to_the_paper_page(client, settings):
    settings.SITE_URL = "http://testserver"
    reader = UserFactory()
    paper = PaperFactory(title="A paper with a page")
    Match.objects.create(subscription=SubscriptionFactory(owner=reader), paper=paper, owner=reader)
    feed = ET.fromstring(client.get(reverse("feed", args=[reader.feed_token])).content)
    entry = feed.find(f"{ATOM}entry")
    entry_id = entry.find(f"{ATOM}id").text
    assert entry_id == f"http://testserver/paper/arxiv:{paper.arxiv_id}"  # as it always was
    assert entry.find(f"{ATOM}link").get("href") == entry_id
    response = client.get(urlsplit(entry_id).path)
    assert response.status_code == 200 and b"A paper with a page" in response.content


def test_a_key_with_slashes_has_a_page_too(client):
    paper = PaperFactory(arxiv_id="astro-ph/9904306", title="An old-style arXiv id")
    assert paper.get_absolute_url() == "/paper/arxiv:astro-ph/9904306"
    assert "An old-style arXiv id" in page_of(client, paper)


def test_a_paper_keyed_by_its_link_has_a_page_too(client):
    paper = PaperFactory(arxiv_id=None, abs_url="https://blog.example.org/post?id=3&x=1#top")
    assert paper.key == "url:https://blog.example.org/post?id=3&x=1#top"
    assert paper.title in page_of(client, paper)


def test_a_hidden_or_unknown_paper_is_not_found(client):
    hidden = PaperFactory(hidden=True)
    assert client.get(hidden.get_absolute_url()).status_code == 404
    assert client.get("/paper/arxiv:0000.00000").status_code == 404


def test_my_subscriptions_that_matched_it_are_listed_when_i_am_logged_in(client):
    me, someone_else = UserFactory(), UserFactory()
    paper = PaperFactory(title="Zero-shot text-to-speech")
    mine = SubscriptionFactory(owner=me, name="Speech synthesis", query="speech")
    theirs = SubscriptionFactory(owner=someone_else, name="Their topic", query="zero-shot")
    Match.objects.create(
        subscription=mine, paper=paper, owner=me, hits=[{"term": "speech", "field": "title"}]
    )
    Match.objects.create(subscription=theirs, paper=paper, owner=someone_else)

    anonymous = page_of(client, paper)
    assert "Your subscriptions" not in anonymous and "Speech synthesis" not in anonymous

    client.force_login(me)
    page = page_of(client, paper)
    assert "Speech synthesis" in page and "Their topic" not in page
    assert reverse("subscriptions:edit", args=[mine.pk]) in page

    client.force_login(someone_else)
    assert "Speech synthesis" not in page_of(client, PaperFactory())
    assert "None of your subscriptions matched this paper." in page_of(client, PaperFactory())


def test_similar_papers_are_the_closest_in_meaning(client):
    light_clip = real_paper(LIGHT_CLIP)
    clip_retrieval = real_paper(CLIP_RETRIEVAL)
    hidden_clip = real_paper(CLIP_DIFFUSION, hidden=True)
    unrelated = [real_paper(ZERO_SHOT_TTS), real_paper(MEDICAL), real_paper(SPEECH)]
    embed_new_papers()
    light_clip.refresh_from_db()

    similar = page_of(client, light_clip).split('id="similar"', 1)[1]
    shown = re.findall(r'<a href="(/paper/[^"]+)">', similar)
    # The other CLIP paper; not the paper itself, not a hidden one, and not papers merely as
    # close as the typical paper is (speech synthesis, medical segmentation).
    assert shown == [clip_retrieval.get_absolute_url()]
    assert light_clip.get_absolute_url() not in shown
    assert hidden_clip.get_absolute_url() not in shown
    assert not {paper.get_absolute_url() for paper in unrelated} & set(shown)


def test_a_paper_without_an_embedding_has_no_similar_section(client):
    real_paper(VOICE_CONVERSION)
    embed_new_papers()
    paper = real_paper(ZERO_SHOT_TTS)  # not through the match step yet
    assert 'id="similar"' not in page_of(client, paper)


def test_titles_on_the_daily_page_and_in_the_archive_lead_to_the_paper_page(client):
    reader = UserFactory()
    paper = PaperFactory(title="A paper worth a page")
    day = client.get(reverse("papers_today")).content.decode()
    assert f'<a href="{paper.get_absolute_url()}">A paper worth a page</a>' in day

    digest = DigestFactory(user=reader, papers_total=1)
    DigestItemFactory(digest=digest, paper=paper, rank=0)
    DeliveryFactory(digest=digest)
    client.force_login(reader)
    archived = client.get(reverse("archive_digest", args=[digest.pk])).content.decode()
    assert f'<a href="{paper.get_absolute_url()}">A paper worth a page</a>' in archived
