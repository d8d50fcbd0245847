#!/usr/bin/env python
"""Benchmark the percolating matcher against a naive loop and PostgreSQL full-text search, and
the preview; print the floors the matcher must hold.

    python bench/matching.py                                   # 10k, 100k and 1M subscriptions
    python bench/matching.py --subscriptions 100000 --papers 2000
    python bench/matching.py --subscriptions 100000 --pg-queries 0 --preview-papers 0
    python bench/matching.py --subscriptions 1000000 --distinct-queries 5000  # bulk-created ones

Floors (each printed as met or NOT MET, with the measurement):

* percolating 1M subscriptions × 2,000 papers: under 60 s of CPU, peak RSS under 2 GB;
* at 100k subscriptions, at least 20× faster than the naive loop (measured in the same run);
* the preview over 10,000 papers: the first call of a new process (the analyses and embeddings
  are in the database, nothing in memory) under 1 s, then p95 under 100 ms;
* a preview of a free-text interest (matched by meaning) over the same papers: p95 under 300 ms
  warm.

Data, generated with a fixed seed from ``tests/fixtures/hf_papers_pages.jsonl`` (422 real
titles + abstracts):

* papers: the real ones replicated and perturbed to ``--papers`` (2,000 = one day): sentences
  dropped, shuffled and borrowed from other papers, words replaced from the corpus vocabulary;
  synthetic authors (a pool of 20,000 names, prolific ones more often, written "Given Family",
  "G. Family" or "Family, Given") and real arXiv categories;
* subscriptions: 1–4 terms from the corpus vocabulary (words in 1–12 % of the papers, phrases,
  hyphenated compounds, trailing wildcards), with AND, OR, NOT, title:/abstract:, author: and
  cat:. They are built as query ASTs, written as text, compiled and stored as the JSON the
  ``Subscription.compiled`` column holds; a sample is re-parsed from its text to check that the
  text means what was compiled.

Each size runs in its own subprocesses so peak memory (``ru_maxrss``) is per measurement:

* **percolator**: read the compiled JSON, analyse the papers, build the index, percolate;
* **(a) naive loop**: every subscription evaluated against every paper with the same evaluator,
  on a sample of the papers, extrapolated linearly to all of them (the loop is exactly linear in
  papers); its matches on the sample must equal the percolator's;
* **(b) PostgreSQL FTS**: a temporary schema with the day's papers, a stored tsvector and a GIN
  index, one ``websearch_to_tsquery`` query per subscription (field prefixes and wildcards
  stripped: what a Django app using ``SearchQuery(search_type="websearch")`` would do), on a
  sample of subscriptions, extrapolated linearly to all of them. The schema is dropped after.
  Connects with ``DATABASE_URL`` if it is PostgreSQL, else postgres://postgres@127.0.0.1:5432/postgres.
  ``--pg-queries 0`` skips it;
* **query words**: what the match step adds for subscriptions that are only a boolean query —
  the z of their query's words for every distinct query × paper matched
  (``subscriptions.semantic_step.QueryWords``: one embedding per distinct query that matched, one
  dot product per match), in the step's chunks of ``MATCH_BATCH_SUBSCRIPTIONS`` subscriptions.
  Its own process: the percolation it needs and the papers' embeddings (the daily run's embed
  step) are not counted. ``--no-query-words`` skips it;
* **preview**: ``run_preview`` over 10,000 papers of the last week in a throwaway SQLite
  database: the very first call (which analyses every paper and stores the analyses), then the
  papers embedded (what the daily run does), then a new process, which reads the stored
  analyses and embeddings: its first call, and calls as someone types;
* **interest preview**: ``run_preview(interest=...)`` — free-text interests, alone, with a
  strictness, within categories, with a query, and one typed a word at a time — in the first
  process, and in a new process whose first call is an interest (it reads the 10,000 embeddings
  and loads the embedding model).

The last line is a one-line summary with the ratios.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import gc
import hashlib
import itertools
import json
import math
import os
import platform
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digest.settings")
# As in production: with DEBUG on, Django records every query the PostgreSQL baseline runs.
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("ALLOWED_HOSTS", "localhost")
os.environ.setdefault("SECRET_KEY", "bench-key")
import django  # noqa: E402

django.setup()  # the preview and the PostgreSQL baseline use the models

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.postgres.search import SearchQuery, SearchVectorField  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection as django_connection  # noqa: E402
from django.db import models  # noqa: E402
from django.utils import timezone  # noqa: E402

from digest.papers.models import Paper  # noqa: E402
from subscriptions import semantic  # noqa: E402
from subscriptions.compiled import compile_query, dumps, loads, match  # noqa: E402
from subscriptions.documents import PaperDoc  # noqa: E402
from subscriptions.embeddings import embed, embed_new_papers, paper_text  # noqa: E402
from subscriptions.percolator import AnalysedPapers, Percolator  # noqa: E402
from subscriptions.preview import run_preview  # noqa: E402
from subscriptions.query import And, Author, Category, Not, Or, Term, parse, to_text  # noqa: E402
from subscriptions.semantic_step import QueryWords  # noqa: E402
from subscriptions.text import analyze, name_tokens, split, stem  # noqa: E402

CORPUS = ROOT / "tests" / "fixtures" / "hf_papers_pages.jsonl"
SIZES = (10_000, 100_000, 1_000_000)
PAPERS_PER_DAY = 2_000
SEED = 20260122
# Enough evaluations for a stable per-evaluation cost without running for an hour.
NAIVE_EVALUATIONS = 3_000_000
POSTGRES_QUERIES = 1_000
PREVIEW_PAPERS = 10_000

FLOOR_1M_CPU_SECONDS = 60
FLOOR_1M_PEAK_RSS_MB = 2_048
FLOOR_100K_NAIVE_RATIO = 20
FLOOR_PREVIEW_NEW_PROCESS_MS = 1_000
FLOOR_PREVIEW_WARM_P95_MS = 100
FLOOR_INTEREST_PREVIEW_WARM_P95_MS = 300
# Free-text interests as a reader writes them, about the corpus's topics and not; with the
# other parts of a subscription they may come with (run_preview's keyword arguments).
INTEREST_PREVIEWS: list[dict] = [
    {"interest": "test-time adaptation of vision-language models"},
    {"interest": "zero-shot text-to-speech with voice cloning"},
    {"interest": "post-training quantization of large language models"},
    {"interest": "memory-efficient training of trillion-parameter models on GPUs"},
    {"interest": "video generation from text prompts with diffusion models"},
    {"interest": "open-vocabulary semantic segmentation with CLIP"},
    {"interest": "reasoning in large language models with chain-of-thought prompting"},
    {"interest": "offline reinforcement learning with transformers"},
    {"interest": "medical image segmentation"},
    {"interest": "protein structure prediction"},
    {"interest": "graph neural networks for molecules"},
    {"interest": "robot manipulation learned from human videos"},
    {"interest": "test-time adaptation of vision-language models", "strictness": 1},
    {"interest": "test-time adaptation of vision-language models", "strictness": 5},
    {"interest": "zero-shot text-to-speech with voice cloning", "strictness": 2},
    {"interest": "video generation from text prompts", "categories": ["cs.CV"]},
    {"interest": "quantization of language models", "categories": ["cs.CL", "cs.LG"]},
    {"interest": "vision-language models", "text": "zero-shot"},
    {"interest": "speech synthesis", "text": "diffusion OR flow", "categories": ["cs.CL"]},
]
TYPED_INTEREST = "efficient fine-tuning of large language models on a single GPU"

STOPWORDS = set(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "here",
        "how",
        "however",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "may",
        "more",
        "most",
        "much",
        "must",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "out",
        "over",
        "own",
        "same",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "thus",
        "to",
        "too",
        "under",
        "until",
        "up",
        "upon",
        "very",
        "via",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "within",
        "without",
        "would",
        "yet",
        "you",
        "your",
    ]
)
CATEGORIES = (
    ["cs.CV"] * 30
    + ["cs.CL"] * 25
    + ["cs.LG"] * 30
    + ["cs.AI"] * 15
    + ["stat.ML"] * 8
    + ["cs.RO"] * 5
    + ["cs.SD"] * 3
    + ["eess.AS"] * 3
    + ["eess.IV"] * 4
    + ["cs.IR"] * 4
    + ["cs.HC"] * 2
    + ["cs.MM"] * 2
    + ["cs.NE"] * 2
    + ["q-bio.NC", "math.OC", "physics.comp-ph"]
)
GIVEN = [
    "Yann",
    "Yoshua",
    "Geoffrey",
    "Fei-Fei",
    "Andrew",
    "Kaiming",
    "Ross",
    "Jitendra",
    "Alexei",
    "Pieter",
    "Sergey",
    "Chelsea",
    "Percy",
    "Christopher",
    "Dan",
    "Tom",
    "Ilya",
    "Oriol",
    "Quoc",
    "Samy",
    "Jeff",
    "Noam",
    "Ashish",
    "Niki",
    "Jakob",
    "Llion",
    "Aidan",
    "Lukasz",
    "Illia",
    "Ming",
    "Wei",
    "Xiang",
    "Jian",
    "Yu",
    "Hao",
    "Li",
    "Jun",
    "Yi",
    "Jie",
    "Lei",
    "Tao",
    "Chen",
    "Yang",
    "Zhang",
    "Liu",
    "Wang",
    "Anna",
    "Maria",
    "Sofia",
    "Elena",
    "Laura",
    "Sara",
    "Julia",
    "Marta",
    "Ana",
    "Clara",
    "Ines",
    "Jean-Pierre",
    "Marie-Claire",
    "Hans",
    "Klaus",
    "Jurgen",
    "Bjorn",
    "Soren",
    "Zoe",
    "Chloe",
    "Noemie",
    "Jose",
    "Andres",
    "Ramon",
    "Ivan",
    "Olga",
    "Dmitry",
    "Aleksandr",
    "Priya",
    "Arjun",
    "Rahul",
    "Ananya",
    "Kenji",
    "Yuki",
    "Haruto",
    "Min-jun",
    "Seo-yeon",
    "Ji-ho",
    "Omar",
    "Fatima",
    "Ahmed",
    "Leila",
    "Tariq",
    "Kwame",
    "Amara",
    "Chidi",
]
FAMILY = [
    "LeCun",
    "Bengio",
    "Hinton",
    "Li",
    "Ng",
    "He",
    "Girshick",
    "Malik",
    "Efros",
    "Abbeel",
    "Levine",
    "Finn",
    "Liang",
    "Manning",
    "Jurafsky",
    "Mitchell",
    "Sutskever",
    "Vinyals",
    "Le",
    "Bengio",
    "Dean",
    "Shazeer",
    "Vaswani",
    "Parmar",
    "Uszkoreit",
    "Jones",
    "Gomez",
    "Kaiser",
    "Polosukhin",
    "Zhou",
    "Wu",
    "Xu",
    "Sun",
    "Ma",
    "Zhu",
    "Hu",
    "Guo",
    "Lin",
    "Luo",
    "Gao",
    "Zheng",
    "Huang",
    "Zhao",
    "Yang",
    "Chen",
    "Wang",
    "Liu",
    "Zhang",
    "Garcia",
    "Martinez",
    "Rossi",
    "Russo",
    "Ferrari",
    "Muller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Dubois",
    "Martin",
    "Bernard",
    "Lefevre",
    "Moreau",
    "Novak",
    "Kowalski",
    "Nowak",
    "Ivanov",
    "Petrov",
    "Smirnov",
    "Kumar",
    "Sharma",
    "Gupta",
    "Singh",
    "Patel",
    "Tanaka",
    "Suzuki",
    "Takahashi",
    "Watanabe",
    "Kim",
    "Lee",
    "Park",
    "Choi",
    "Jung",
    "Haddad",
    "Mansour",
    "Okafor",
    "Mensah",
    "Schrodinger",
    "Muñoz",
    "Núñez",
    "Gómez",
    "Ólafsson",
    "Østergaard",
    "Čapek",
]
SYLLABLES = [
    "ka",
    "ro",
    "vi",
    "len",
    "mar",
    "tin",
    "so",
    "ber",
    "gu",
    "an",
    "de",
    "li",
    "sha",
    "mo",
    "ri",
    "ne",
    "ta",
    "ko",
    "hu",
    "zen",
    "wa",
    "ya",
    "do",
    "el",
]


# --- Data -------------------------------------------------------------------------------------


def load_corpus() -> list[dict]:
    papers: dict[str, dict] = {}
    with open(CORPUS, encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            papers.setdefault(row["title"], row)
    return list(papers.values())


class Vocabulary:
    """What subscriptions are made of, measured on the real corpus."""

    def __init__(self, corpus: list[dict], rng: random.Random):
        total = len(corpus)
        stem_df: Counter[str] = Counter()  # matching is on stems: "trains" also finds "training"
        word_df: Counter[str] = Counter()
        compound_df: Counter[str] = Counter()
        bigram_df: Counter[tuple[str, str]] = Counter()
        for paper in corpus:
            text = paper["title"] + " . " + paper["abstract"]
            compounds = split(text)
            words = [part for compound in compounds for part in compound.split("-")]
            stem_df.update(analyze(text).present)
            word_df.update(set(words))
            compound_df.update({c for c in compounds if "-" in c})
            bigram_df.update(
                {
                    (a, b)
                    for a, b in zip(words, words[1:], strict=False)
                    if a not in STOPWORDS and b not in STOPWORDS and a.isalpha() and b.isalpha()
                }
            )

        def usable(word: str) -> bool:
            return word.isalpha() and len(word) >= 4 and word not in STOPWORDS

        # A subscription word is in 0.5–1.5 % of the real papers (about 10–30 of a day's 2,000
        # perturbed copies): topics, not "results" or "model".
        low, high = 2, max(3, round(0.015 * total))
        self.words = [w for w in word_df if usable(w) and low <= stem_df[stem(w)] <= high]
        self.word_weights = list(
            itertools.accumulate(math.sqrt(stem_df[stem(w)]) for w in self.words)
        )
        # Words people combine come from the same topic: the subscription words of each paper.
        chosen = set(self.words)
        self.topics = [
            sorted(chosen.intersection(split(p["title"] + " " + p["abstract"]))) for p in corpus
        ]
        self.topics = [topic for topic in self.topics if len(topic) >= 4]
        self.phrases = [p for p, n in bigram_df.items() if low <= n <= high]
        self.compounds = [
            c for c, n in compound_df.items() if low <= n <= 4 * high and c.count("-") <= 3
        ]
        vocabulary = sorted(word_df)
        self.prefixes = []
        for word in self.words:
            for length in range(5, len(word) - 1):
                prefix = word[:length]
                start = bisect.bisect_left(vocabulary, prefix)
                end = bisect.bisect_left(vocabulary, prefix + "~")
                if sum(word_df[w] for w in vocabulary[start:end]) <= high:
                    self.prefixes.append(prefix)
                    break
        self.all_words = [w for w, n in word_df.items() if usable(w) and n >= 2]
        families = list(dict.fromkeys(FAMILY))
        while len(families) < 3_000:
            families.append(
                "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
            )
        names = {f"{rng.choice(GIVEN)} {rng.choice(families)}" for _ in range(25_000)}
        self.authors = sorted(names)
        rng.shuffle(self.authors)
        # Zipf-like: a few prolific authors appear on many papers.
        self.author_weights = list(
            itertools.accumulate(1 / (rank + 10) for rank in range(len(self.authors)))
        )

    def word(self, rng: random.Random) -> str:
        return rng.choices(self.words, cum_weights=self.word_weights)[0]

    def author(self, rng: random.Random) -> str:
        return rng.choices(self.authors, cum_weights=self.author_weights)[0]


def generate_papers(corpus: list[dict], vocabulary: Vocabulary, count: int, rng: random.Random):
    sentence_split = re.compile(r"(?<=[.!?])\s+")
    sentences = [sentence_split.split(paper["abstract"]) for paper in corpus]
    papers = []
    for number in range(count):
        base = rng.randrange(len(corpus))
        title_words = corpus[base]["title"].split()
        if rng.random() < 0.3:
            title_words[rng.randrange(len(title_words))] = rng.choice(vocabulary.all_words)
        kept = [s for s in sentences[base] if rng.random() > 0.3] or sentences[base][:1]
        for _ in range(rng.randint(1, 2)):
            kept.insert(rng.randrange(len(kept) + 1), rng.choice(rng.choice(sentences)))
        if rng.random() < 0.3:
            rng.shuffle(kept)
        abstract_words = " ".join(kept).split()
        for _ in range(len(abstract_words) // 25):
            abstract_words[rng.randrange(len(abstract_words))] = rng.choice(vocabulary.all_words)
        authors = []
        for _ in range(rng.randint(2, 8)):
            given, family = vocabulary.author(rng).split(" ", 1)
            style = rng.random()
            if style < 0.15:
                authors.append(f"{given[0]}. {family}")
            elif style < 0.25:
                authors.append(f"{family}, {given}")
            else:
                authors.append(f"{given} {family}")
        papers.append(
            {
                "arxiv_id": f"2601.{number:05d}",
                "title": " ".join(title_words),
                "abstract": " ".join(abstract_words),
                "authors": authors,
                "categories": sorted(set(rng.sample(CATEGORIES, rng.randint(1, 3)))),
            }
        )
    return papers


def generate_query(vocabulary: Vocabulary, rng: random.Random):
    """One realistic subscription, as an AST: 20 % one term, 40 % two to four terms ANDed, 10 %
    an OR group and a term, 8 % a term and an exclusion, 7 % a title:/abstract: field, 7 % an
    author (sometimes with a category), 4 % a category and a term, 4 % two alternatives. A term is
    a word (60 %), a phrase (20 %), a hyphenated compound (12 %) or a wildcard (8 %). Most
    subscriptions combine words from one real paper, the way people combine related words."""

    # Distinct words of one paper, drawn without replacement.
    topic = rng.sample(rng.choice(vocabulary.topics), 4) if rng.random() < 0.6 else []

    def term(field: str = "text") -> Term:
        roll = rng.random()
        if roll < 0.6:
            word = topic.pop() if topic else vocabulary.word(rng)
            return Term((word,), field, text=word)
        if roll < 0.8:
            a, b = rng.choice(vocabulary.phrases)
            return Term((a, b), field, text=f"{a} {b}")
        if roll < 0.92:
            compound = rng.choice(vocabulary.compounds)
            return Term(tuple(compound.split("-")), field, compound=True, text=compound)
        prefix = rng.choice(vocabulary.prefixes)
        return Term((prefix,), field, prefix=True, text=prefix + "*")

    def author() -> Author:
        given, family = vocabulary.author(rng).split(" ", 1)
        text = f"{given[0]}. {family}" if rng.random() < 0.2 else f"{given} {family}"
        return Author(name_tokens(text), text=text)

    def category() -> Category:
        category = rng.choice(CATEGORIES).lower()
        if rng.random() < 0.15:
            return Category(category.split(".")[0] + ".", prefix=True)
        return Category(category)

    roll = rng.random()
    if roll < 0.20:
        return term()
    if roll < 0.50:
        return And((term(), term()))
    if roll < 0.60:
        return And(tuple(term() for _ in range(rng.randint(3, 4))))
    if roll < 0.70:
        return And((Or(tuple(term() for _ in range(rng.randint(2, 3)))), term()))
    if roll < 0.78:
        return And((term(), Not(term())))
    if roll < 0.85:
        field = rng.choice(["title", "abstract"])
        return And((term(field), term())) if rng.random() < 0.7 else term(field)
    if roll < 0.92:
        return And((author(), category())) if rng.random() < 0.3 else author()
    if roll < 0.96:
        return And((category(), term()))
    return Or((term(), term()))


def generate(subscriptions: int, papers: int, directory: Path, distinct: int | None = None) -> dict:
    """Write the papers and the subscriptions' compiled queries and texts; with ``distinct``,
    the subscriptions share that many queries, the popular ones more often (Zipf-like)."""
    rng = random.Random(SEED)
    corpus = load_corpus()
    vocabulary = Vocabulary(corpus, rng)
    paper_rows = generate_papers(corpus, vocabulary, papers, rng)
    (directory / "papers.json").write_text(json.dumps(paper_rows))
    pool = [generate_query(vocabulary, rng) for _ in range(distinct or 0)]
    popularity = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(pool))))
    checked = 0
    with (
        open(directory / "compiled.jsonl", "w", encoding="utf-8") as compiled_file,
        open(directory / "texts.jsonl", "w", encoding="utf-8") as text_file,
    ):
        for number in range(subscriptions):
            if pool:
                node = rng.choices(pool, cum_weights=popularity)[0]
            else:
                node = generate_query(vocabulary, rng)
            text = to_text(node)
            if number % max(1, subscriptions // 2_000) == 0:
                # The stored text must mean exactly what was compiled.
                assert parse(text).root == node, (text, parse(text).root, node)
                checked += 1
            compiled_file.write(dumps(compile_query(node)) + "\n")
            text_file.write(json.dumps(text) + "\n")
    return {"corpus_papers": len(corpus), "round_trips_checked": checked}


# --- Measurements (each in its own process) -----------------------------------------------------


def clock() -> float:
    """CPU seconds of this process: the machine is shared, and wall time would measure the
    neighbours. (PostgreSQL's time is wall time: its work happens in the server.)"""
    return time.process_time()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def analyse_papers(directory: Path) -> list[PaperDoc]:
    rows = json.loads((directory / "papers.json").read_text())
    return [PaperDoc(r["title"], r["abstract"], r["authors"], r["categories"]) for r in rows]


def run_percolator(directory: Path, sample_papers: int) -> dict:
    gc.disable()  # as the match step does (percolator.gc_paused)
    wall_started = time.perf_counter()
    started = clock()
    docs = analyse_papers(directory)
    analysed = clock()
    percolator = Percolator(docs)
    prepared = clock()
    subscriptions = 0
    with open(directory / "compiled.jsonl", encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            percolator.add(line.rstrip("\n"), number)
            subscriptions += 1
    indexed = clock()
    matches = distinct_matches = 0
    sample: list[tuple[int, int]] = []
    for doc_index, payloads, _hits in percolator.matches():
        matches += len(payloads)
        distinct_matches += 1
        if doc_index < sample_papers:
            sample.extend((number, doc_index) for number in payloads)
    finished = clock()
    return {
        "seconds": finished - started,
        "wall_seconds": time.perf_counter() - wall_started,
        "analyse_seconds": analysed - started,
        "batch_keys_seconds": prepared - analysed,
        "index_seconds": indexed - prepared,
        "match_seconds": finished - indexed,
        "subscriptions": subscriptions,
        "distinct_queries": len(percolator),
        "not_indexed": percolator.skipped,
        "candidates": percolator.candidate_count,
        "candidates_verified": percolator.verified,
        "matches": matches,
        "distinct_matches": distinct_matches,
        "sample_matches": len(sample),
        "sample_hash": _pairs_hash(sample),
        "peak_rss_mb": peak_rss_mb(),
    }


def run_query_words(directory: Path) -> dict:
    """The z of the query's words for every distinct query × paper the percolator matches, as
    the match step computes it for boolean-only subscriptions: in chunks of
    ``MATCH_BATCH_SUBSCRIPTIONS`` subscriptions, one ``QueryWords`` for the run. Only that is
    timed; the percolation and the papers' embeddings are not."""
    gc.disable()  # as the match step does (percolator.gc_paused)
    rows = json.loads((directory / "papers.json").read_text())
    analysed = AnalysedPapers(analyse_papers(directory))
    papers = embed([paper_text(row["title"], row["abstract"]) for row in rows])
    size = settings.MATCH_BATCH_SUBSCRIPTIONS
    words = QueryWords(semantic.Background.of(papers), kept=size)
    seconds = 0.0
    matches = similarities = 0
    with open(directory / "compiled.jsonl", encoding="utf-8") as handle:
        while lines := list(itertools.islice(handle, size)):
            percolator = Percolator(analysed)
            for line in lines:
                compiled = line.rstrip("\n")
                percolator.add(compiled, compiled)
            found = [(index, payloads[0]) for index, payloads, _ in percolator.matches()]
            started = clock()
            for index, compiled in found:
                similarities += words.z(compiled, papers[index]) is not None
            seconds += clock() - started
            matches += len(found)
    return {
        "seconds": seconds,
        "distinct_matches": matches,
        "similarities": similarities,
        "embedded": words.embedded,
        "chunk": size,
        "peak_rss_mb": peak_rss_mb(),
    }


def run_naive(directory: Path, sample_papers: int, papers: int) -> dict:
    gc.disable()  # the same treatment as the percolator
    docs = analyse_papers(directory)[:sample_papers]
    with open(directory / "compiled.jsonl", encoding="utf-8") as handle:
        nodes = [loads(line) for line in handle]
    started = clock()
    sample: list[tuple[int, int]] = []
    for doc_index, doc in enumerate(docs):
        for number, node in enumerate(nodes):
            if match(node, doc, []):
                sample.append((number, doc_index))
    seconds = clock() - started
    # Parsing every query text with luqum, for comparison with loading the compiled JSON.
    with open(directory / "texts.jsonl", encoding="utf-8") as handle:
        texts = [json.loads(line) for _, line in zip(range(2_000), handle, strict=False)]
    parse_started = clock()
    for text in texts:
        parse(text)
    parse_seconds = (clock() - parse_started) / len(texts) * len(nodes)
    return {
        "sample_papers": len(docs),
        "sample_seconds": seconds,
        "seconds": seconds * papers / len(docs),
        "sample_matches": len(sample),
        "sample_hash": _pairs_hash(sample),
        "parse_all_seconds": parse_seconds,
        "peak_rss_mb": peak_rss_mb(),
    }


def websearch_text(query_text: str) -> str:
    """The query as a Django app would hand it to websearch_to_tsquery: no field prefixes, no
    wildcards (websearch syntax has neither), AND dropped (websearch ANDs by default)."""
    text = re.sub(r"\b(title|abstract|author|cat):", "", query_text)
    text = text.replace("*", "").replace("(", " ").replace(")", " ")
    return re.sub(r"\bAND\b", " ", text)


def postgres_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        url = "postgres://postgres@127.0.0.1:5432/postgres"
    return url


def fts_paper_model():
    """The day's papers as a Django app would model them for full-text search: a stored
    ``SearchVectorField`` with a GIN index (the table is created by ``run_postgres``). Defined
    only in the PostgreSQL child: the model is registered when the class is created."""

    class FtsPaper(models.Model):
        id = models.IntegerField(primary_key=True)
        title = models.TextField()
        abstract = models.TextField()
        search = SearchVectorField()

        class Meta:
            app_label = "digest"
            managed = False
            db_table = "paper"  # in the run's schema, first on the search_path

        def __str__(self) -> str:
            return self.title

    return FtsPaper


def run_postgres(directory: Path, subscriptions: int, sample_queries: int) -> dict:
    """Both PostgreSQL baselines on the same table: the ORM one (``filter(search=SearchQuery(
    text, search_type="websearch", config="english"))``, iterating the Paper objects it
    returns, as the app would to create its matches) and the raw SQL one (ids only)."""
    url = postgres_url()
    rows = json.loads((directory / "papers.json").read_text())
    with open(directory / "texts.jsonl", encoding="utf-8") as handle:
        texts = [json.loads(line) for _, line in zip(range(sample_queries), handle, strict=False)]
    queries = [websearch_text(text) for text in texts]
    schema = f"bench_matching_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
        try:
            connection.execute(
                f"CREATE TABLE {schema}.paper (id int PRIMARY KEY, title text, abstract text,"
                " search tsvector GENERATED ALWAYS AS"
                " (to_tsvector('english', title || ' ' || abstract)) STORED)"
            )
            copy_sql = f"COPY {schema}.paper (id, title, abstract) FROM STDIN"
            with connection.cursor() as cursor, cursor.copy(copy_sql) as copy:
                for number, row in enumerate(rows):
                    copy.write_row((number, row["title"], row["abstract"]))
            connection.execute(f"CREATE INDEX ON {schema}.paper USING gin (search)")
            connection.execute(f"ANALYZE {schema}.paper")
            sql = (
                f"SELECT id FROM {schema}.paper WHERE search @@ websearch_to_tsquery('english', %s)"
            )
            raw_matches = 0
            started = time.perf_counter()
            with connection.cursor() as cursor:
                for query in queries:
                    cursor.execute(sql, (query,))
                    raw_matches += len(cursor.fetchall())
            raw_seconds = time.perf_counter() - started

            papers = fts_paper_model().objects.defer("search")  # the vector is not shown
            with django_connection.cursor() as cursor:
                cursor.execute(f"SET search_path TO {schema}")
            orm_matches = 0
            started = time.perf_counter()
            for query in queries:
                found = SearchQuery(query, search_type="websearch", config="english")
                for _paper in papers.filter(search=found):
                    orm_matches += 1
            orm_seconds = time.perf_counter() - started
            django_connection.close()
        finally:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")
    scale = subscriptions / len(texts)
    return {
        "sample_queries": len(texts),
        "sample_seconds": orm_seconds,
        "seconds": orm_seconds * scale,
        "raw_sample_seconds": raw_seconds,
        "raw_seconds": raw_seconds * scale,
        "sample_matches": orm_matches,
        "raw_sample_matches": raw_matches,
        "estimated_matches": int(orm_matches * scale),
        "server": url.rsplit("@", 1)[-1],
    }


def _pairs_hash(pairs: list[tuple[int, int]]) -> str:
    return hashlib.sha256(json.dumps(sorted(pairs)).encode()).hexdigest()[:16]


def time_preview(directory: Path) -> dict:
    """run_preview() over PREVIEW_PAPERS papers of the last week, in a throwaway SQLite database:
    the very first call, which analyses every paper and stores the analyses (in production the
    match step has analysed them already), then calls as someone types, in the same process."""
    call_command("migrate", verbosity=0)
    rows = json.loads((directory / "papers.json").read_text())
    now = timezone.now()
    Paper.objects.bulk_create(
        [
            Paper(
                key=f"arxiv:{row['arxiv_id']}",
                arxiv_id=row["arxiv_id"],
                title=row["title"],
                abstract=row["abstract"],
                authors=row["authors"],
                categories=row["categories"],
                created_at=now - dt.timedelta(days=7 * number / len(rows)),
            )
            for number, row in enumerate(rows)
        ],
        batch_size=1000,
    )
    texts = preview_texts(directory)
    started = clock()
    first = run_preview(texts[0]).total
    first_ever = clock() - started
    started = clock()
    embed_new_papers()  # what the daily run does before matching
    embed_seconds = clock() - started
    return {
        "papers": len(rows),
        "first_ever_ms": first_ever * 1000,
        "first_matches": first,
        "embed_seconds": embed_seconds,
        **time_calls(texts[1:], "warm"),
        **time_interest_calls("interest_warm"),
    }


def time_preview_new_process(directory: Path) -> dict:
    """run_preview() in a process started after ``time_preview`` (a web worker that has just
    started: the papers and their analyses are in the database, nothing is in memory): its
    first call, then the same calls as someone types."""
    texts = preview_texts(directory)
    rss_before = peak_rss_mb()
    return {
        **first_call("cold", query=texts[0]),
        **time_calls(texts[1:], "new"),
        "new_memory_mb": peak_rss_mb() - rss_before,
    }


def first_call(name: str, query: str = "", **preview) -> dict:
    """The first ``run_preview`` of a process: CPU and wall time, and how many papers matched."""
    started, wall_started = clock(), time.perf_counter()
    matches = run_preview(query, **preview).total
    cold, cold_wall = clock() - started, time.perf_counter() - wall_started
    return {
        f"{name}_ms": cold * 1000,
        f"{name}_wall_ms": cold_wall * 1000,
        f"{name}_matches": matches,
    }


def time_preview_interest_new_process(directory: Path) -> dict:
    """run_preview(interest=...) in a process started after ``time_preview_new_process``, whose
    first call is an interest preview: it reads the analyses' lookup texts and the 10,000
    embeddings and loads the embedding model; then the interests as someone writes them."""
    rss_before = peak_rss_mb()
    return {
        **first_call("interest_cold", **INTEREST_PREVIEWS[0]),
        **time_interest_calls("interest_new"),
        "interest_memory_mb": peak_rss_mb() - rss_before,
    }


def time_interest_calls(name: str) -> dict:
    """run_preview() of each of ``INTEREST_PREVIEWS`` and of one interest written a word at a
    time (the live preview waits for a pause in typing), CPU time as ``time_calls``."""
    words = TYPED_INTEREST.split()
    previews = INTEREST_PREVIEWS + [
        {"interest": " ".join(words[:end])} for end in range(1, len(words) + 1)
    ]
    timings, wall_timings, found = [], [], 0
    for preview in previews:
        started, wall_started = clock(), time.perf_counter()
        result = run_preview(**preview)
        timings.append(clock() - started)
        wall_timings.append(time.perf_counter() - wall_started)
        assert result.error is None and not result.problem, (preview, result.problem)
        found += result.total
    return call_summary(name, timings, wall_timings, found)


def call_summary(name: str, timings: list[float], wall_timings: list[float], found: int) -> dict:
    """Median, p95 and max CPU time of a run of preview calls, p95 wall time, mean matches."""
    timings, wall_timings = sorted(timings), sorted(wall_timings)
    return {
        f"{name}_calls": len(timings),
        f"{name}_median_ms": timings[len(timings) // 2] * 1000,
        f"{name}_p95_ms": timings[int(len(timings) * 0.95)] * 1000,
        f"{name}_max_ms": timings[-1] * 1000,
        f"{name}_wall_p95_ms": wall_timings[int(len(wall_timings) * 0.95)] * 1000,
        f"{name}_mean_matches": found / len(timings),
    }


def time_calls(texts: list[str], name: str) -> dict:
    """run_preview() of each of ``texts`` and of one query typed a character at a time: CPU
    time of the process, which runs SQLite too (the machine is shared, and wall time would
    measure the neighbours; printed alongside)."""
    typed = 'diffusion "video generation" -survey author:"Yann LeCun"'
    timings, wall_timings, found = [], [], 0
    for text in texts + [typed[:end] for end in range(1, len(typed) + 1)]:
        started, wall_started = clock(), time.perf_counter()
        found += run_preview(text).total
        timings.append(clock() - started)
        wall_timings.append(time.perf_counter() - wall_started)
        if os.environ.get("BENCH_SLOW_PREVIEWS") and timings[-1] > 0.1:
            print(f"{timings[-1] * 1000:.0f} ms {text}", file=sys.stderr)
    return call_summary(name, timings, wall_timings, found)


def preview_texts(directory: Path) -> list[str]:
    with open(directory / "texts.jsonl", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle][:200]


def child(kind: str, directory: Path, *args: str, env: dict | None = None) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--data", str(directory), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    if result.returncode != 0:
        return {"error": (result.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- Driver -------------------------------------------------------------------------------------


def run_size(
    subscriptions: int,
    papers: int,
    naive_papers: int | None,
    pg_queries: int,
    query_words: bool = True,
    distinct: int | None = None,
) -> dict:
    sample_papers = naive_papers or max(2, min(papers, NAIVE_EVALUATIONS // subscriptions))
    with tempfile.TemporaryDirectory(prefix="bench-matching-") as tmp:
        directory = Path(tmp)
        started = time.perf_counter()
        generated = generate(subscriptions, papers, directory, distinct)
        print(
            f"\n== {subscriptions:,} subscriptions × {papers:,} papers"
            + (f", {distinct:,} distinct queries" if distinct else "")
            + f" (generated in {time.perf_counter() - started:.0f} s,"
            f" {generated['round_trips_checked']} query texts re-parsed and checked)",
            flush=True,
        )
        percolator = child("percolate", directory, "--sample-papers", str(sample_papers))
        naive = child(
            "naive", directory, "--sample-papers", str(sample_papers), "--papers", str(papers)
        )
        words = child("query-words", directory) if query_words else {"skipped": True}
        postgres = {"skipped": True}
        if pg_queries:
            postgres = child(
                "postgres",
                directory,
                "--subscriptions",
                str(subscriptions),
                "--pg-queries",
                str(min(pg_queries, subscriptions)),
                env={"DATABASE_URL": postgres_url()},  # the ORM baseline's Django connection
            )
    result = {
        "subscriptions": subscriptions,
        "papers": papers,
        "percolator": percolator,
        "naive": naive,
        "postgres": postgres,
        "query_words": words,
    }
    report(result)
    return result


def preview_size(papers: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-preview-") as tmp:
        directory = Path(tmp)
        generate(200, papers, directory)
        env = {
            "DATABASE_URL": f"sqlite:///{directory / 'preview.sqlite3'}",
            "VAR_DIR": str(directory / "var"),
        }
        result = child("preview", directory, env=env)
        cold = child("preview-new-process", directory, env=env) if "error" not in result else result
        interest = (
            child("preview-interest-new-process", directory, env=env)
            if "error" not in cold
            else cold
        )
        # OpenBLAS runs every matrix product on a thread per core, and its threads spin while
        # they wait: CPU time the other process on the core loses. The same new processes
        # again with one BLAS thread, as a web worker would be configured.
        one = {**env, "OPENBLAS_NUM_THREADS": "1"}
        single = (
            {
                **child("preview-new-process", directory, env=one),
                **child("preview-interest-new-process", directory, env=one),
            }
            if "error" not in interest
            else interest
        )
    print(f"\n== run_preview() over {papers:,} papers of the last 7 days (SQLite)")
    failed = (
        result.get("error") or cold.get("error") or interest.get("error") or single.get("error")
    )
    if failed:
        print(f"  FAILED: {failed}")
        return {"error": failed}
    print(
        f"  very first call {result['first_ever_ms']:,.0f} ms CPU (analyses every paper and stores"
        f" the analyses); the papers embedded in {result['embed_seconds']:.1f} s CPU (the daily"
        f" run's work); then {calls(result, 'warm')}"
    )
    print(
        f"  a new process (reads the stored analyses and embeddings): first call"
        f" {cold['cold_ms']:,.0f} ms CPU ({cold['cold_wall_ms']:,.0f} ms wall,"
        f" {cold['cold_matches']} papers); then {calls(cold, 'new')};"
        f" +{cold['new_memory_mb']:.0f} MB peak RSS"
    )
    print(f"  free-text interests, in the first process: {calls(result, 'interest_warm')}")
    print(
        f"  a new process whose first call is an interest: {interest['interest_cold_ms']:,.0f} ms"
        f" CPU ({interest['interest_cold_wall_ms']:,.0f} ms wall,"
        f" {interest['interest_cold_matches']} papers); then {calls(interest, 'interest_new')};"
        f" +{interest['interest_memory_mb']:.0f} MB peak RSS"
    )
    print(
        f"  the two new processes again with OPENBLAS_NUM_THREADS=1: queries"
        f" {calls(single, 'new')};"
        f" interests: first call {single['interest_cold_ms']:,.0f} ms CPU, then"
        f" {calls(single, 'interest_new')}"
    )
    return {
        **result,
        **cold,
        **interest,
        **{f"single_{name}": value for name, value in single.items()},
    }


def calls(result: dict, name: str) -> str:
    what = (
        "interests alone and with a strictness, categories or a query, one written a word at a time"
        if name.startswith("interest")
        else "subscription queries, one query typed a character at a time"
    )
    return (
        f"{result[name + '_calls']} calls ({what}): median {result[name + '_median_ms']:.1f} ms,"
        f" p95 {result[name + '_p95_ms']:.1f}"
        f" ms, max {result[name + '_max_ms']:.1f} ms CPU (p95 {result[name + '_wall_p95_ms']:.1f}"
        f" ms wall), {result[name + '_mean_matches']:.0f} papers per call"
    )


def report(result: dict) -> None:
    percolator, naive, postgres = result["percolator"], result["naive"], result["postgres"]
    if "error" in percolator:
        print(f"  percolator FAILED: {percolator['error']}")
        return
    p = percolator
    print(
        f"  percolator      {p['seconds']:8.2f} s CPU ({p['wall_seconds']:.1f} s wall)"
        f"   peak RSS {p['peak_rss_mb']:7.0f} MB"
        f"   matches {p['matches']:,} ({p['distinct_matches']:,} distinct query × paper)"
    )
    print(
        f"    analyse papers {p['analyse_seconds']:.2f} s · their keys and frequencies"
        f" {p['batch_keys_seconds']:.2f} s · read, decode and index the queries"
        f" {p['index_seconds']:.2f} s · percolate {p['match_seconds']:.2f} s"
    )
    print(
        f"    {p['distinct_queries']:,} distinct queries, {p['not_indexed']:,} not indexed"
        f" (their keys are absent from this batch); {p['candidates']:,} candidates,"
        f" {p['candidates_verified']:,} verified after the second-key filter"
        f" ({p['candidates_verified'] / result['papers']:,.0f} per paper)"
    )
    words = result["query_words"]
    if "error" in words:
        print(f"  query words     FAILED: {words['error']}")
    elif not words.get("skipped"):
        print(
            f"  query words     {words['seconds']:8.2f} s CPU"
            f"   peak RSS {words['peak_rss_mb']:7.0f} MB"
            f"   the z of the query's words for {words['distinct_matches']:,} distinct query ×"
            f" paper matches ({words['similarities']:,} with words), {words['embedded']:,} query"
            f" texts embedded, in chunks of {words['chunk']:,}: what the match step adds to"
            f" the percolator's {p['seconds']:.1f} s"
        )
    if "error" in naive:
        print(f"  (a) naive loop  FAILED: {naive['error']}")
    else:
        same = "same matches" if naive["sample_hash"] == p["sample_hash"] else "MATCHES DIFFER"
        print(
            f"  (a) naive loop  {naive['seconds']:8.2f} s   peak RSS {naive['peak_rss_mb']:7.0f} MB"
            f"   measured on {naive['sample_papers']} papers ({naive['sample_seconds']:.1f} s),"
            f" extrapolated to {result['papers']:,}; {naive['sample_matches']:,} matches on the"
            f" sample: {same} as the percolator"
        )
        print(
            f"      parsing every query text with luqum instead of loading compiled JSON would"
            f" take {naive['parse_all_seconds']:.1f} s (measured on 2,000)"
        )
    if postgres.get("skipped"):
        print("  (b) PostgreSQL  skipped (--pg-queries 0)")
    elif "error" in postgres:
        print(f"  (b) PostgreSQL  FAILED: {postgres['error']}")
    else:
        print(
            f"  (b) PostgreSQL  {postgres['seconds']:8.2f} s   Django ORM, SearchQuery(websearch),"
            f" Paper objects iterated; measured on {postgres['sample_queries']:,} queries"
            f" ({postgres['sample_seconds']:.1f} s), extrapolated to"
            f" {result['subscriptions']:,}; ~{postgres['estimated_matches']:,} matches (FTS"
            f" semantics differ: no fields, wildcards or categories)"
        )
        print(
            f"      raw SQL     {postgres['raw_seconds']:8.2f} s   websearch_to_tsquery, ids"
            f" only ({postgres['raw_sample_seconds']:.1f} s on the same sample,"
            f" {postgres['raw_sample_matches']:,} matches): ratio"
            f" {ratio_of(postgres['raw_seconds'], p)}"
        )


def ratio(baseline: dict, percolator: dict) -> str:
    if "error" in baseline or "error" in percolator or baseline.get("skipped"):
        return "n/a"
    return ratio_of(baseline["seconds"], percolator)


def ratio_of(seconds: float, percolator: dict) -> str:
    return f"{seconds / percolator['seconds']:.0f}×"


def summary(results: list[dict], preview_result: dict | None = None) -> str:
    parts = []
    for result in results:
        p = result["percolator"]
        if "error" in p:
            parts.append(f"{result['subscriptions']:,}: FAILED")
            continue
        words = result.get("query_words", {})
        parts.append(
            f"{result['subscriptions'] // 1000:,}k×{result['papers']:,}: {p['seconds']:.1f} s,"
            f" {p['peak_rss_mb']:.0f} MB, {p['matches']:,} matches,"
            f" {ratio(result['naive'], p)} vs naive,"
            f" {ratio(result['postgres'], p)} vs PostgreSQL ORM"
            + (f", query words +{words['seconds']:.1f} s" if "seconds" in words else "")
        )
    if preview_result and "error" not in preview_result:
        parts.append(
            f"preview {preview_result['papers'] // 1000}k papers: {preview_result['cold_ms']:.0f}"
            f" ms first call of a new process, p95 {preview_result['warm_p95_ms']:.0f} ms warm"
            f" ({preview_result['new_p95_ms']:.0f} ms in the new process),"
            f" {preview_result['first_ever_ms']:.0f} ms very first (CPU); interest p95"
            f" {preview_result['interest_warm_p95_ms']:.0f} ms warm"
            f" ({preview_result['interest_new_p95_ms']:.0f} ms in a new process, first call"
            f" {preview_result['interest_cold_ms']:.0f} ms; one BLAS thread: query p95"
            f" {preview_result['single_new_p95_ms']:.0f} ms, interest p95"
            f" {preview_result['single_interest_new_p95_ms']:.0f} ms)"
        )
    return "SUMMARY " + " | ".join(parts)


def floors(results: list[dict], preview_result: dict | None) -> list[str]:
    """One line per floor this run measured: the floor, the measurement, met or NOT MET."""
    lines = []

    def verdict(met: bool) -> str:
        return "met" if met else "NOT MET"

    for result in results:
        p, naive = result["percolator"], result["naive"]
        if "error" in p:
            continue
        if result["subscriptions"] >= 1_000_000:
            lines.append(
                f"1M × {result['papers']:,}: CPU {p['seconds']:.1f} s (floor"
                f" {FLOOR_1M_CPU_SECONDS} s) {verdict(p['seconds'] < FLOOR_1M_CPU_SECONDS)};"
                f" peak RSS {p['peak_rss_mb']:,.0f} MB (floor {FLOOR_1M_PEAK_RSS_MB:,} MB)"
                f" {verdict(p['peak_rss_mb'] < FLOOR_1M_PEAK_RSS_MB)}"
            )
        if result["subscriptions"] == 100_000 and "error" not in naive:
            times = naive["seconds"] / p["seconds"]
            lines.append(
                f"100k: {times:.0f}× the naive loop (floor {FLOOR_100K_NAIVE_RATIO}×)"
                f" {verdict(times >= FLOOR_100K_NAIVE_RATIO)}"
            )
    if preview_result and "error" not in preview_result:
        cold = preview_result["cold_ms"]
        warm, new = preview_result["warm_p95_ms"], preview_result["new_p95_ms"]
        lines.append(
            f"preview {preview_result['papers']:,} papers: first call of a new process"
            f" {cold:.0f} ms (floor {FLOOR_PREVIEW_NEW_PROCESS_MS:,} ms)"
            f" {verdict(cold < FLOOR_PREVIEW_NEW_PROCESS_MS)}; warm p95 {warm:.0f} ms (floor"
            f" {FLOOR_PREVIEW_WARM_P95_MS} ms) {verdict(warm < FLOOR_PREVIEW_WARM_P95_MS)};"
            f" the same calls in the new process, p95 {new:.0f} ms"
            f" {verdict(new < FLOOR_PREVIEW_WARM_P95_MS)}"
        )
        interest = max(
            preview_result["interest_warm_p95_ms"], preview_result["interest_new_p95_ms"]
        )
        lines.append(
            f"interest preview {preview_result['papers']:,} papers: warm p95 {interest:.0f} ms"
            f" (the worse of the two processes; floor {FLOOR_INTEREST_PREVIEW_WARM_P95_MS} ms)"
            f" {verdict(interest < FLOOR_INTEREST_PREVIEW_WARM_P95_MS)}"
        )
    return lines


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()},"
        f" load average {load:.1f} at start"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscriptions", type=int)
    parser.add_argument("--papers", type=int, default=PAPERS_PER_DAY)
    parser.add_argument("--naive-papers", type=int, help="papers the naive loop is measured on")
    parser.add_argument("--pg-queries", type=int, default=POSTGRES_QUERIES)
    parser.add_argument(
        "--no-query-words", action="store_true", help="skip timing the query words' similarity"
    )
    parser.add_argument(
        "--distinct-queries",
        type=int,
        help="subscriptions share this many queries (bulk-created ones repeat a few thousand)",
    )
    parser.add_argument(
        "--preview-papers", type=int, default=PREVIEW_PAPERS, help="0 skips the preview timing"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--sample-papers", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.child == "percolate":
            output = run_percolator(args.data, args.sample_papers)
        elif args.child == "preview":
            output = time_preview(args.data)
        elif args.child == "preview-new-process":
            output = time_preview_new_process(args.data)
        elif args.child == "preview-interest-new-process":
            output = time_preview_interest_new_process(args.data)
        elif args.child == "query-words":
            output = run_query_words(args.data)
        elif args.child == "naive":
            output = run_naive(args.data, args.sample_papers, args.papers)
        else:
            output = run_postgres(args.data, args.subscriptions, args.pg_queries)
        print(json.dumps(output))
        return
    print(f"Machine: {machine()}")
    if args.subscriptions is None:
        sizes = list(SIZES)
    else:
        sizes = [args.subscriptions] if args.subscriptions else []  # 0: the preview only
    results = [
        run_size(
            n,
            args.papers,
            args.naive_papers,
            args.pg_queries,
            not args.no_query_words,
            args.distinct_queries,
        )
        for n in sizes
    ]
    preview_result = preview_size(args.preview_papers) if args.preview_papers else None
    print()
    for line in floors(results, preview_result):
        print(f"FLOOR {line}")
    print(summary(results, preview_result))


if __name__ == "__main__":
    main()
