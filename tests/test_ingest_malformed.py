"""Malformed documents get a clear error, never a traceback: JSON nested 200,000 deep, a
5,000-digit integer, an XML encoding nobody knows. The error is on the Source (and on stderr
for ``manage.py ingest``, which exits non-zero) and the other inputs are still ingested."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from digest.papers.ingest.run import ingest_content
from digest.papers.models import Paper, Source
from tests.factories import SourceFactory
from tests.subprocesses import PROJECT_DIR, child_env

pytestmark = pytest.mark.django_db

DEEP = b"[" * 200_000 + b"]" * 200_000
HUGE_NUMBER = b'{"total": ' + b"9" * 5000 + b"}"


@pytest.fixture
def malformed(tmp_path, fixture_path) -> dict[str, str]:
    api = fixture_path("arxiv_api_query.xml").read_bytes()
    files = {
        "deep": DEEP,
        "number": HUGE_NUMBER,
        "encoding": api.replace(b"encoding='UTF-8'", b"encoding='x-unknown'", 1),
    }
    assert files["encoding"] != api
    paths = {}
    for name, content in files.items():
        path = tmp_path / f"{name}.{'xml' if name == 'encoding' else 'json'}"
        path.write_bytes(content)
        paths[name] = str(path)
    return paths


def test_each_malformed_file_gets_a_clear_error_and_the_others_are_ingested(
    malformed, fixture_path
):
    listing = str(fixture_path("arxiv_rss_cs_multi.xml"))
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command(
            "ingest",
            malformed["deep"],
            malformed["number"],
            malformed["encoding"],
            listing,
            stdout=out,
            stderr=err,
        )
    assert str(failure.value).startswith("3 of 4 inputs had errors: ")
    assert err.getvalue().splitlines() == [
        f"{malformed['deep']}: invalid JSON (nested too deeply to read)",
        f"{malformed['number']}: JSON, but not a Hugging Face daily papers list "
        '(a list of objects with a "paper" key)',
        f"{malformed['encoding']}: arXiv API (Atom) → arXiv API (manual import): 0 papers: "
        "0 created, 0 updated, 0 unchanged; 1 error: document: the XML declares a character "
        "encoding that cannot be read (unknown encoding: x-unknown)",
    ]
    assert f"{listing}: arXiv RSS/Atom listing" in out.getvalue()
    assert Paper.objects.count() == 4


@pytest.mark.django_db(transaction=True)
def test_the_command_exits_non_zero_without_a_traceback(malformed, fixture_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "ingest", malformed["deep"], malformed["encoding"]]
        + [str(fixture_path("hf_daily_papers_2026.json"))],
        cwd=PROJECT_DIR,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "nested too deeply to read" in result.stderr
    assert "unknown encoding: x-unknown" in result.stderr
    assert "3 papers: 3 created" in result.stdout
    assert Paper.objects.count() == 3


def test_a_source_answering_deep_json_records_a_clear_error():
    source = SourceFactory(kind=Source.Kind.HF_DAILY)
    outcome = ingest_content(source, DEEP)
    source.refresh_from_db()
    assert outcome.status == source.last_status == Source.Status.ERROR
    assert source.last_error == "invalid JSON (nested too deeply to read)"


def test_a_deep_daily_paper_costs_only_what_follows_it(fixture_path):
    daily = fixture_path("hf_daily_papers_2026.json").read_bytes().rstrip()
    assert daily.endswith(b"]")
    content = daily[:-1] + b', {"paper": ' + DEEP + b"}]"
    source = SourceFactory(kind=Source.Kind.HF_DAILY)

    outcome = ingest_content(source, content)

    source.refresh_from_db()
    assert (outcome.status, outcome.count) == (Source.Status.PARTIAL, 3)
    assert source.last_error.endswith(
        "the JSON is nested too deeply to read; 3 complete entries before it were read"
    )


def test_a_five_thousand_digit_count_reads_as_no_count(fixture_path):
    daily = json.loads(fixture_path("hf_daily_papers_2026.json").read_bytes())
    daily[0]["paper"]["upvotes"] = 0  # replaced by the huge number below
    content = json.dumps(daily).replace('"upvotes": 0', '"upvotes": ' + "9" * 5000, 1)
    source = SourceFactory(kind=Source.Kind.HF_DAILY)

    outcome = ingest_content(source, content.encode())

    assert (outcome.status, outcome.count) == (Source.Status.OK, 3)
    assert Paper.objects.get(arxiv_id="2607.26654").upvotes == 0
    assert Paper.objects.get(arxiv_id="2607.28229").upvotes > 0
