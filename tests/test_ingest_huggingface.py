"""The Hugging Face daily papers parser, field by field on the recorded response
(tests/fixtures/hf_daily_papers_2026.json, 3 papers)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from digest.papers.ingest import huggingface
from digest.papers.models import Source


@pytest.fixture
def content(fixture_path) -> bytes:
    return fixture_path("hf_daily_papers_2026.json").read_bytes()


@pytest.fixture
def parsed(content):
    return huggingface.parse(content)


def test_every_paper_is_keyed_by_its_arxiv_id(parsed):
    assert parsed.kind == Source.Kind.HF_DAILY
    assert parsed.errors == []
    assert [(r.key, r.arxiv_version) for r in parsed.records] == [
        ("arxiv:2607.26654", None),
        ("arxiv:2607.28229", None),
        ("arxiv:2607.27851", None),
    ]


def test_a_paper_field_by_field(parsed):
    record = parsed.records[0]
    assert record.title == "Constitutional Midtraining: Content Presence Drives Alignment Gains"
    assert record.abstract.startswith("Post-training alignment is often shallow, eroding under")
    assert record.abstract.endswith("Code, data, and models are available.")
    assert record.authors == [
        "Desiree Cho",
        "Cameron Tice",
        "Bernie Hogan",
        "Hunar Batra",
        "Puria Radmard",
        "Jun Zhao",
        "Nigel Shadbolt",
    ]
    assert record.upvotes == 3
    assert record.code_url == "https://github.com/desBugger/constitutional-mt"
    assert record.hf_url == "https://huggingface.co/papers/2607.26654"
    assert record.abs_url == "https://arxiv.org/abs/2607.26654"
    assert record.pdf_url == "https://arxiv.org/pdf/2607.26654"
    # paper.publishedAt (the arXiv date), not the listing's own publishedAt (2026-07-28T20:00Z).
    assert record.published_at == dt.datetime(2026, 7, 29, tzinfo=dt.UTC)
    assert record.categories == []  # Hugging Face does not say
    assert record.announce_type == ""


def test_upvotes_and_code_links_of_the_other_papers(parsed):
    second, third = parsed.records[1:]
    assert second.title == "EMBL AI Librarian: Life-Sciences Knowledge Layer for AI Agents"
    assert second.upvotes == 4
    assert second.code_url == "https://github.com/petroni-lab/librarian"
    assert len(second.authors) == 12
    assert second.authors[0] == "Luigi Sigillo" and second.authors[-1] == "Fabio Petroni"
    assert third.upvotes == 2
    assert third.code_url == ""  # no githubRepo
    assert third.authors == ["Ming Wang", "Jiaqi Wu Young", "Wenfang Wu", "Daling Wang", "Shi Feng"]


def test_an_empty_day_is_no_papers_and_no_errors():
    parsed = huggingface.parse(b"[]")
    assert parsed.records == [] and parsed.errors == []


def test_invalid_items_are_reported_and_the_others_kept(content):
    items = json.loads(content)
    items[0]["paper"]["id"] = "not-an-id"
    items[1]["paper"]["title"] = " "
    items[1]["title"] = ""
    items.append({"title": "no paper object"})
    parsed = huggingface.parse(json.dumps(items).encode())
    assert [r.arxiv_id for r in parsed.records] == ["2607.27851"]
    assert [str(e) for e in parsed.errors] == [
        "entry 1: paper.id 'not-an-id' is not an arXiv id; skipped",
        "entry 2: 2607.28229 has no title; skipped",
        'entry 4: not a daily paper (no "paper" object); skipped',
    ]


def test_a_truncated_response_keeps_the_complete_papers(content):
    cut = content.index(b'"id": "2607.27851"') + 5
    parsed = huggingface.parse(content[:cut])
    assert [r.arxiv_id for r in parsed.records] == ["2607.26654", "2607.28229"]
    (error,) = parsed.errors
    line = content[:cut].count(b"\n") + 1
    assert error.where.startswith(f"line {line}, column")
    assert error.message.startswith("the document ends early")
    assert error.message.endswith("2 complete entries before it were read")


def test_the_day_hugging_face_listed_a_paper_is_its_announcement_day(parsed):
    # paper.submittedOnDailyAt, not the arXiv date (paper.publishedAt, 29 July).
    assert {(r.announced_on, r.hf_daily_on) for r in parsed.records} == {
        (dt.date(2026, 8, 3), dt.date(2026, 8, 3))
    }


def test_without_submitted_on_daily_at_the_listing_date_is_the_day(content):
    items = json.loads(content)
    del items[0]["paper"]["submittedOnDailyAt"]
    record = huggingface.parse(json.dumps(items).encode()).records[0]
    assert record.hf_daily_on == dt.date(2026, 7, 28)  # the item's publishedAt


def test_submitter_organisation_and_thumbnail_come_from_the_listing(parsed):
    first, second, third = parsed.records
    assert first.hf_submitter == "Hunar Batra"
    assert first.hf_organization == "University of Oxford"
    assert first.thumbnail_url == (
        "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2607.26654.png"
    )
    assert [(r.hf_submitter, r.hf_organization) for r in (second, third)] == [
        ("Luigi Sigillo", "European Molecular Biology Laboratory"),
        ("Ming Wang", "KinaMind"),
    ]


def test_a_thumbnail_from_anywhere_but_hugging_faces_cdn_is_not_kept(content):
    items = json.loads(content)
    items[0]["thumbnail"] = "https://tracker.example.com/pixel.png"
    items[1]["thumbnail"] = "http://cdn-thumbnails.huggingface.co/plain-http.png"
    items[2]["thumbnail"] = "https://[not-an-address/x.png"
    parsed = huggingface.parse(json.dumps(items).encode())
    assert parsed.errors == []
    assert [r.thumbnail_url for r in parsed.records] == ["", "", ""]
