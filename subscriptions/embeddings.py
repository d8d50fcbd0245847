"""What a paper is about, as a vector: the embedding model, and embedding new papers.

The model is WordLlama (``l2_supercat``, 256 dimensions): token embeddings taken from a large
language model and averaged, so embedding is a table lookup and a mean in numpy — about a
thousand papers a second on one core, no GPU, no network. Its weights and tokenizer ship inside
the ``wordllama`` wheel. ``WordLlama.load()`` with its defaults looks for the tokenizer in a
folder the wheel does not have and then asks the Hugging Face hub for it, so it is loaded with
the wheel's own folder as its cache and downloads disabled: a missing file is an error here,
never a fetch.

A paper's text is its title, ". ", then its abstract. Vectors are float32 and L2-normalised, so
a dot product is a cosine similarity; they are stored on ``Paper.embedding`` as little-endian
bytes (1 KiB a paper), the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import wordllama
from wordllama import WordLlama

from digest.papers.models import Paper

logger = logging.getLogger(__name__)

DIMENSIONS = 256
DTYPE = np.dtype("<f4")  # float32, little-endian whatever the machine: what the bytes hold
EMBED_BATCH_PAPERS = 1000
# The tokenizer pads a batch to its longest text and the model holds a 1 KiB vector per token, so
# one runaway "abstract" of 100k characters would cost gigabytes. arXiv caps abstracts at 1,920
# characters; past this the text only dilutes the average anyway.
MAX_TEXT_CHARS = 4000
# Texts per call into the model: 64 texts of ~500 tokens is a 32 MB intermediate.
MODEL_BATCH = 64


@functools.cache
def model():
    """The embedding model, loaded once per process from the files inside the wheel."""
    return WordLlama.load(
        config="l2_supercat",
        dim=DIMENSIONS,
        cache_dir=Path(wordllama.__file__).parent,
        disable_download=True,
    )


def paper_text(title: str, abstract: str) -> str:
    """What is embedded for a paper: ``title. abstract`` (the title alone when there is none),
    whitespace collapsed, at most ``MAX_TEXT_CHARS`` characters."""
    title, abstract = " ".join((title or "").split()), " ".join((abstract or "").split())
    return (f"{title}. {abstract}" if abstract else title)[:MAX_TEXT_CHARS]


def embed(texts: Sequence[str]) -> np.ndarray:
    """One row per text: float32, L2-normalised. A text with no known token gets a zero row
    (similar to nothing) rather than the NaNs a division by its zero norm would give."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    vectors = model().embed(list(texts), norm=False, batch_size=MODEL_BATCH)
    return normalise(vectors)


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1; zero rows stay zero."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=DTYPE).tobytes()


def from_bytes(data: bytes | memoryview) -> np.ndarray:
    """The vector stored by :func:`to_bytes` (raises ``ValueError`` for anything else)."""
    vector = np.frombuffer(bytes(data), dtype=DTYPE)
    if vector.shape != (DIMENSIONS,):
        raise ValueError(f"an embedding has {DIMENSIONS} float32 values, not {vector.size}")
    return vector.astype(np.float32)


def stack(stored: Iterable[bytes | memoryview]) -> np.ndarray:
    """Stored embeddings as one (n, DIMENSIONS) matrix, row for row."""
    # One buffer decoded at once: a call per row took a third of ranking 10,000 papers.
    data = b"".join(stored)
    if len(data) % (DIMENSIONS * DTYPE.itemsize):
        raise ValueError(f"an embedding has {DIMENSIONS} float32 values")
    return np.frombuffer(data, dtype=DTYPE).reshape(-1, DIMENSIONS).astype(np.float32)


def embed_papers(papers: Sequence[Paper]) -> np.ndarray:
    return embed([paper_text(paper.title, paper.abstract) for paper in papers])


def embed_new_papers(batch_size: int = EMBED_BATCH_PAPERS) -> int:
    """Embed every paper that has no embedding yet, ``batch_size`` at a time, and store them
    (one ``bulk_update`` per batch). Safe to run twice or concurrently: a paper embedded twice
    gets the same vector. Returns how many papers were embedded."""
    embedded = 0
    after = 0  # walk by id, so a row that cannot be updated is not fetched again and again
    while True:
        papers = list(
            Paper.objects.filter(embedding__isnull=True, pk__gt=after)
            .order_by("pk")
            .only("pk", "title", "abstract")[: max(batch_size, 1)]
        )
        if not papers:
            return embedded
        for paper, vector in zip(papers, embed_papers(papers), strict=True):
            paper.embedding = to_bytes(vector)
        Paper.objects.bulk_update(papers, ["embedding"])
        embedded += len(papers)
        after = papers[-1].pk
        logger.debug("embedded %d papers", embedded)
