"""Size limits: a local file or standard input larger than ``FETCH_MAX_BYTES`` is refused like
a URL, and text from feeds is capped when stored (title 1,000 characters, abstract 20,000, 1,000
authors of 300 characters, 100 categories), so one enormous entry cannot make a row, a digest
or a reader's Atom feed enormous."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from digest.papers.ingest.records import PaperRecord
from digest.papers.ingest.run import ingest_content
from digest.papers.ingest.store import ingest_records
from digest.papers.models import Paper, Source
from tests.factories import SourceFactory
from tests.subprocesses import PROJECT_DIR, child_env

pytestmark = pytest.mark.django_db


def test_a_file_larger_than_the_limit_is_refused_and_the_others_are_ingested(
    settings, tmp_path, fixture_path
):
    daily = fixture_path("hf_daily_papers_2026.json")
    settings.FETCH_MAX_BYTES = daily.stat().st_size  # exactly the limit: read
    larger = tmp_path / "larger.json"
    larger.write_bytes(daily.read_bytes() + b" ")  # one byte more: refused
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError, match=f"1 of 2 inputs had errors: {larger}"):
        call_command("ingest", str(larger), str(daily), stdout=out, stderr=err)

    assert err.getvalue() == (
        f"{larger}: larger than {settings.FETCH_MAX_BYTES} bytes (FETCH_MAX_BYTES); not read\n"
    )
    assert "3 papers: 3 created" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_standard_input_larger_than_the_limit_is_refused(fixture_path):
    daily = fixture_path("hf_daily_papers_2026.json").read_bytes()
    result = subprocess.run(
        [sys.executable, "manage.py", "ingest", "-"],
        cwd=PROJECT_DIR,
        env=child_env(FETCH_MAX_BYTES="1000"),
        input=daily,
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert b"-: larger than 1000 bytes (FETCH_MAX_BYTES); not read" in result.stderr
    assert b"Traceback" not in result.stderr
    assert Paper.objects.count() == 0


def test_enormous_texts_are_capped_when_stored(fixture_path):
    daily = json.loads(fixture_path("hf_daily_papers_2026.json").read_bytes())
    paper = daily[0]["paper"]
    paper["title"] = "Enormous " * 1_000
    paper["summary"] = "word " * 2_000_000  # 10 MB
    paper["authors"] = [{"name": f"Author {i} " + "x" * 400} for i in range(3_000)]
    source = SourceFactory(kind=Source.Kind.HF_DAILY)

    outcome = ingest_content(source, json.dumps(daily).encode())

    assert (outcome.status, outcome.count) == (Source.Status.OK, 3)
    stored = Paper.objects.get(arxiv_id="2607.26654")
    assert 990 < len(stored.title) <= 1_000
    assert stored.title.endswith("…")  # marks the cut
    assert 19_990 < len(stored.abstract) <= 20_000
    assert stored.abstract.endswith("…")
    assert len(stored.authors) == 1_000
    assert stored.authors[0].startswith("Author 0 xxx")
    assert max(len(name) for name in stored.authors) <= 300
    other = Paper.objects.get(arxiv_id="2607.28229")
    assert not other.title.endswith("…")  # real texts are far below the caps


def test_categories_are_capped_and_impossible_ones_dropped():
    categories = ["cs.LG", "x" * 51] + [f"tag-{i}" for i in range(200)]
    record = PaperRecord(arxiv_id="2601.00001", title="Many tags", categories=categories)

    ingest_records([record], source=SourceFactory(kind=Source.Kind.FEED))

    stored = Paper.objects.get().categories
    assert len(stored) == 100
    assert stored[:2] == ["cs.LG", "tag-0"]
