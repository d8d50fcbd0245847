"""``manage.py ingest FILE_OR_URL... [--source NAME]``."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from digest.papers.models import Paper, Source
from subscriptions.models import Match
from tests.factories import SubscriptionFactory
from tests.feedserver import Route, serve_feeds
from tests.subprocesses import PROJECT_DIR, child_env

pytestmark = pytest.mark.django_db


def run_ingest(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("ingest", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_files_are_detected_ingested_and_summarised(fixture_path):
    api = str(fixture_path("arxiv_api_query.xml"))
    rss = str(fixture_path("arxiv_rss_cs_multi.xml"))
    daily = str(fixture_path("hf_daily_papers_2026.json"))

    out, err = run_ingest(api, rss, daily)

    assert err == ""
    assert out.splitlines() == [
        f"{api}: arXiv API (Atom) → arXiv API (manual import): "
        "10 papers: 10 created, 0 updated, 0 unchanged",
        f"{rss}: arXiv RSS/Atom listing → arXiv listing (manual import): "
        "4 papers: 4 created, 0 updated, 0 unchanged",
        f"{daily}: Hugging Face daily papers → Hugging Face daily papers (manual import): "
        "3 papers: 3 created, 0 updated, 0 unchanged",
        # 17 papers, but the replacement of a paper never seen before is not new (see store).
        "match step: 16 new papers checked against subscriptions",
    ]
    assert Paper.objects.count() == 17
    sources = {source.name: source for source in Source.objects.all()}
    assert set(sources) == {
        "arXiv API (manual import)",
        "arXiv listing (manual import)",
        "Hugging Face daily papers (manual import)",
    }
    listing = sources["arXiv listing (manual import)"]
    assert listing.kind == Source.Kind.ARXIV_FEED
    assert listing.enabled is False  # never polled: its URL is a file
    assert listing.url == fixture_path("arxiv_rss_cs_multi.xml").resolve().as_uri()
    assert (listing.last_status, listing.last_count) == ("ok", 4)


def test_a_named_source_is_used_and_a_second_run_changes_nothing(fixture_path):
    rss = str(fixture_path("arxiv_rss_cs_multi.xml"))
    run_ingest(rss, "--source", "cs.LG daily")
    out, _ = run_ingest(rss, "--source", "cs.LG daily")
    assert "cs.LG daily: 4 papers: 0 created, 0 updated, 4 unchanged" in out
    assert Source.objects.get().name == "cs.LG daily"


def test_new_papers_are_matched_after_ingest(fixture_path):
    subscription = SubscriptionFactory(query="zero-shot")
    SubscriptionFactory(owner=subscription.owner, query="polytope")
    run_ingest(str(fixture_path("arxiv_rss_cs_multi.xml")))
    assert not Paper.objects.filter(matched_at__isnull=True).exists()
    assert Match.objects.count() == 0  # "polytope" only in the replaced paper; no zero-shot


def test_a_broken_input_fails_after_the_valid_ones_are_ingested(fixture_path, tmp_path):
    rss = fixture_path("arxiv_rss_cs_multi.xml").read_bytes()
    truncated = tmp_path / "truncated.xml"
    truncated.write_bytes(rss[: rss.index(b"<title>Outlier Detection") + 30])
    page = tmp_path / "page.html"
    page.write_text("<!DOCTYPE html><html><body>Not a feed</body></html>")
    daily = str(fixture_path("hf_daily_papers_2026.json"))
    missing = str(tmp_path / "missing.xml")

    out = io.StringIO()
    err = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("ingest", str(truncated), str(page), missing, daily, stdout=out, stderr=err)

    assert str(failure.value) == (f"3 of 4 inputs had errors: {truncated}, {page}, {missing}")
    errors = err.getvalue().splitlines()
    assert errors[0].startswith(
        f"{truncated}: arXiv RSS/Atom listing → arXiv listing (manual import): "
        "2 papers: 2 created, 0 updated, 0 unchanged; 1 error: line "
    )
    assert errors[0].endswith(
        "the document ends early (no element found); 2 complete entries before it were read"
    )
    assert errors[1] == f"{page}: an HTML page, not a feed"
    assert errors[2] == f"{missing}: No such file or directory"
    assert f"{daily}: Hugging Face daily papers" in out.getvalue()
    assert Paper.objects.count() == 5
    assert Source.objects.get(name="arXiv listing (manual import)").last_status == "partial"


def test_urls_are_fetched(fixture_path, settings):
    with serve_feeds(settings) as server:
        server.routes["/daily"] = Route(
            fixture_path("hf_daily_papers_2026.json").read_bytes(), content_type="application/json"
        )
        out, _ = run_ingest(server.url("/daily"), "--source", "HF")
    assert f"{server.url('/daily')}: Hugging Face daily papers → HF: 3 papers" in out
    assert Source.objects.get(name="HF").url == server.url("/daily")


@pytest.mark.django_db(transaction=True)
def test_the_command_exits_non_zero_on_a_broken_input(fixture_path, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("[1, 2")
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "ingest",
            str(fixture_path("arxiv_rss_cs_multi.xml")),
            str(broken),
        ],
        cwd=PROJECT_DIR,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert f"{broken}: invalid JSON" in result.stderr
    assert f"CommandError: 1 of 2 inputs had errors: {broken}" in result.stderr
    assert "4 papers: 4 created" in result.stdout
    assert Paper.objects.count() == 4  # written by the child process, in the test database
