"""``manage.py recommend "TEXT" [--like ARXIV_ID ...] [--days N] [--limit N]``: every recent
paper ranked for an interest, best first, one line each: arXiv id (or key), score, reasons,
title. Bad input is an error on stderr and exit status 2."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.factories import PaperFactory
from tests.realpapers import real_paper
from tests.subprocesses import PROJECT_DIR, child_env

CLIP_TTA = "Test-Time Adaptation with CLIP Reward"  # listing 000 (zero-shot), about CLIP
OPEN_VOCABULARY = "Convolutions Die Hard: Open-Vocabulary Segmentation"  # listing 001 (CLIP)
COSYVOICE = "CosyVoice: A Scalable"  # zero-shot text-to-speech
MEDICAL = "STU-Net: Scalable and Transferable Medical Image Segmentation"
INTEREST = "test-time adaptation of vision-language models"


def run(*args: str) -> tuple[list[list[str]], str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("recommend", *args, stdout=out, stderr=err)
    return [line.split("\t") for line in out.getvalue().splitlines()], err.getvalue()


@pytest.fixture
def recent_papers():
    return {
        "clip_tta": real_paper(CLIP_TTA, arxiv_id="2310.18328"),
        "open_vocabulary": real_paper(OPEN_VOCABULARY, arxiv_id="2308.02487"),
        "cosyvoice": real_paper(COSYVOICE, arxiv_id="2407.05407"),
        "medical": real_paper(MEDICAL, arxiv_id="2304.06716"),
    }


@pytest.mark.django_db
def test_every_recent_paper_is_one_line_best_first(recent_papers):
    lines, err = run(INTEREST)
    assert [line[0] for line in lines][:1] == ["2310.18328"]
    assert sorted(line[0] for line in lines) == sorted(p.arxiv_id for p in recent_papers.values())
    scores = [float(line[1]) for line in lines]
    assert scores == sorted(scores, reverse=True)
    assert lines[0][2] == f"close in meaning to your interest “{INTEREST}”"
    assert lines[0][3] == recent_papers["clip_tta"].title
    assert err.strip() == "4 papers in 7 days"


@pytest.mark.django_db
def test_papers_not_embedded_yet_are_embedded_first(recent_papers):
    assert all(paper.embedding is None for paper in recent_papers.values())
    lines, _ = run(INTEREST)
    assert len(lines) == 4


@pytest.mark.django_db
def test_older_and_hidden_papers_are_left_out_and_days_widens_the_window(recent_papers):
    old = PaperFactory(
        title="Test-time prompt tuning for vision-language models",
        abstract="We adapt CLIP at test time.",
        created_at=timezone.now() - dt.timedelta(days=20),
    )
    recent_papers["medical"].hidden = True
    recent_papers["medical"].save()
    lines, _ = run(INTEREST)
    assert {line[0] for line in lines} == {"2310.18328", "2308.02487", "2407.05407"}
    lines, _ = run(INTEREST, "--days", "30")
    assert old.arxiv_id in {line[0] for line in lines}


@pytest.mark.django_db
def test_limit_prints_the_best_few(recent_papers):
    lines, _ = run(INTEREST, "--limit", "2")
    assert [line[0] for line in lines][:1] == ["2310.18328"] and len(lines) == 2


@pytest.mark.django_db
def test_a_paper_without_an_arxiv_id_is_named_by_its_key(recent_papers):
    PaperFactory(
        arxiv_id=None,
        abs_url="https://example.org/tta-clip",
        title="Adapting CLIP at test time",
        abstract="Test-time adaptation of vision-language models such as CLIP.",
    )
    lines, _ = run(INTEREST)
    assert "url:https://example.org/tta-clip" in [line[0] for line in lines]


@pytest.mark.django_db
def test_papers_like_a_given_one_rank_first_and_say_which(recent_papers):
    real_paper("Collaborative Vision-Text Representation Optimizing", arxiv_id="2408.00744")
    lines, _ = run("--like", "2308.02487v2")
    ids = [line[0] for line in lines]
    assert "2308.02487" not in ids  # the example itself is not recommended
    assert ids[0] == "2408.00744"  # open-vocabulary segmentation with CLIP, as the example
    assert lines[0][2] == (
        "close in meaning to your example papers, nearest to "
        f"*{recent_papers['open_vocabulary'].title}*"
    )


@pytest.mark.django_db
def test_an_unknown_example_paper_is_exit_status_2(recent_papers):
    with pytest.raises(CommandError) as caught:
        run(INTEREST, "--like", "2308.02487", "--like", "9999.99999")
    assert caught.value.returncode == 2
    assert str(caught.value) == "Unknown paper for --like: 9999.99999"


def test_no_interest_at_all_is_exit_status_2():
    with pytest.raises(CommandError) as caught:
        run("   ")
    assert caught.value.returncode == 2
    assert "Give an interest in words, or --like ARXIV_ID" in str(caught.value)


@pytest.mark.django_db(transaction=True)
def test_the_command_prints_errors_on_stderr_with_status_2():
    result = subprocess.run(
        [sys.executable, "manage.py", "recommend", INTEREST, "--days", "0"],
        cwd=PROJECT_DIR,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "--days must be at least 1" in result.stderr
    assert result.stdout == ""
