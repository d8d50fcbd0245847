"""Every paper gets an embedding (what it is about, as a vector) from a model that ships with
the package and is loaded without any network."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from digest import pipeline
from digest.papers.ingest.records import PaperRecord
from digest.papers.ingest.store import ingest_records
from digest.papers.models import Paper, Source
from subscriptions import embeddings
from subscriptions.embeddings import (
    DIMENSIONS,
    MAX_TEXT_CHARS,
    embed,
    embed_new_papers,
    from_bytes,
    paper_text,
    stack,
    to_bytes,
)
from tests.realpapers import real_paper, real_row
from tests.subprocesses import PROJECT_DIR

CLIP_TTA = "Test-Time Adaptation with CLIP Reward"
ZERO_SHOT_TTS = "CosyVoice: A Scalable Multilingual Zero-shot Text-to-speech"
MEDICAL = "STU-Net: Scalable and Transferable Medical Image Segmentation"


def test_the_model_loads_from_the_wheel_with_the_network_cut_off(tmp_path):
    # A fresh HOME (no ~/.cache/wordllama), the hub told to stay offline, and every socket
    # connection refused: the model still loads and embeds, so it never asks the hub.
    script = textwrap.dedent(
        """
        import socket
        def refuse(*args, **kwargs):
            raise OSError("network access attempted")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        import django
        django.setup()
        from subscriptions.embeddings import embed
        print(embed(["zero-shot text-to-speech"]).shape)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_DIR,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "HF_HUB_OFFLINE": "1",
            "DJANGO_SETTINGS_MODULE": "digest.settings",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"(1, {DIMENSIONS})"
    assert not (tmp_path / ".cache").exists()


def test_the_model_is_loaded_once_per_process():
    assert embeddings.model() is embeddings.model()


def test_embeddings_are_unit_length_float32_rows():
    vectors = embed(["zero-shot text-to-speech", "domain adaptation for segmentation"])
    assert vectors.dtype == np.float32
    assert vectors.shape == (2, DIMENSIONS)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_a_text_with_nothing_to_embed_is_a_zero_row_not_nans():
    vectors = embed([""])
    assert not np.isnan(vectors).any()
    assert not vectors.any()


def test_papers_on_one_topic_are_closer_than_papers_on_another():
    tts, medical, clip = (real_row(title) for title in (ZERO_SHOT_TTS, MEDICAL, CLIP_TTA))
    vectors = embed([paper_text(row["title"], row["abstract"]) for row in (tts, medical, clip)])
    query = embed(["test-time adaptation of vision-language models"])[0]
    similarities = vectors @ query
    assert similarities[2] > similarities[0] + 0.1
    assert similarities[2] > similarities[1] + 0.1


def test_a_paper_is_its_title_then_its_abstract():
    assert paper_text("Zero-shot  TTS", "We\nsynthesise speech.") == (
        "Zero-shot TTS. We synthesise speech."
    )
    assert paper_text("Only a title", "") == "Only a title"


def test_a_runaway_abstract_is_cut_before_the_model_sees_it():
    # The tokenizer pads a batch to its longest text: one 1 MB "abstract" would cost gigabytes.
    assert len(paper_text("Title", "word " * 200_000)) == MAX_TEXT_CHARS


def test_stored_bytes_give_back_the_same_vector():
    vector = embed(["zero-shot text-to-speech"])[0]
    data = to_bytes(vector)
    assert len(data) == DIMENSIONS * 4
    assert np.array_equal(from_bytes(data), vector)
    assert np.array_equal(from_bytes(memoryview(data)), vector)


def test_bytes_that_are_not_an_embedding_are_refused():
    with pytest.raises(ValueError, match="256 float32 values"):
        from_bytes(b"\x00" * 12)
    with pytest.raises(ValueError, match="256 float32 values"):
        stack([b"\x00" * 1024, b"\x00" * 12])


def test_stored_embeddings_stack_into_one_matrix_row_for_row():
    vectors = embed(["zero-shot text-to-speech", "domain adaptation", "CLIP"])
    matrix = stack(to_bytes(vector) for vector in vectors)
    assert matrix.dtype == np.float32
    assert np.array_equal(matrix, vectors)
    assert stack([]).shape == (0, DIMENSIONS)


@pytest.mark.django_db
def test_new_papers_are_embedded_in_batches_and_saved():
    papers = [real_paper(title) for title in (ZERO_SHOT_TTS, MEDICAL, CLIP_TTA)]
    assert embed_new_papers(batch_size=2) == 3
    for paper in papers:
        paper.refresh_from_db()
        expected = embed([paper_text(paper.title, paper.abstract)])[0]
        assert np.allclose(from_bytes(paper.embedding), expected, atol=1e-6)


@pytest.mark.django_db
def test_a_paper_is_embedded_once():
    real_paper(ZERO_SHOT_TTS)
    assert embed_new_papers() == 1
    real_paper(MEDICAL)
    assert embed_new_papers() == 1
    assert embed_new_papers() == 0
    assert not Paper.objects.filter(embedding__isnull=True).exists()


@pytest.mark.django_db
def test_the_match_step_embeds_the_papers_it_is_given():
    paper = real_paper(CLIP_TTA)
    assert paper.embedding is None
    pipeline.match()
    paper.refresh_from_db()
    assert paper.embedding is not None
    assert paper.matched_at is not None


@pytest.mark.django_db
def test_a_paper_whose_text_changes_is_embedded_again():
    source = Source.objects.create(
        name="arXiv", kind=Source.Kind.ARXIV_API, url="https://export.arxiv.org/api/query"
    )  # arXiv owns the title: a new version replaces it
    first = PaperRecord(title="Zero-shot speech synthesis", arxiv_id="2601.00001", arxiv_version=1)
    ingest_records([first], source=source)
    assert embed_new_papers() == 1
    ingest_records([first], source=source)  # seen again, unchanged: the embedding stays
    assert embed_new_papers() == 0
    replaced = PaperRecord(
        title="Medical image segmentation", arxiv_id="2601.00001", arxiv_version=2
    )  # a new version with another title
    ingest_records([replaced], source=source)
    assert Paper.objects.get().embedding is None
    assert embed_new_papers() == 1
