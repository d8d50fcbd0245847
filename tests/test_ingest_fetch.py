"""Fetching sources over real HTTP (a server on loopback serving the recorded files):
conditional GET, status and errors recorded on the Source, timeouts, the polite delay."""

from __future__ import annotations

import logging
import re
import socket
import threading

import pytest

from digest import pipeline
from digest.papers.ingest.fetch import FetchError, fetch_url
from digest.papers.ingest.polite import polite_host
from digest.papers.ingest.run import fetch_and_ingest
from digest.papers.models import Paper, Source
from subscriptions.models import Match
from tests.factories import SourceFactory, SubscriptionFactory
from tests.feedserver import Route, serve_feeds

pytestmark = pytest.mark.django_db

LAST_MODIFIED = "Thu, 24 Sep 2026 08:58:05 GMT"


@pytest.fixture
def server(fixture_path, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    rss = fixture_path("arxiv_rss_cs_multi.xml").read_bytes()
    with serve_feeds(settings) as feeds:
        feeds.routes.update(
            {
                "/rss": Route(rss, etag='"rss-v1"', last_modified=LAST_MODIFIED),
                "/dated": Route(rss, last_modified=LAST_MODIFIED),
                "/broken": Route(b"<h1>oops</h1>", status=500, content_type="text/html"),
                "/missing-page": Route(b"gone", status=404, content_type="text/plain"),
                "/slow": Route(hold=True),
                "/truncated": Route(rss[: rss.index(b"<title>Outlier Detection") + 30]),
                "/empty": Route(re.sub(rb"\s*<item>.*?</item>", b"", rss, flags=re.DOTALL)),
                "/login": Route(b"<!DOCTYPE html><html>Sign in</html>", content_type="text/html"),
                "/hf": Route(
                    fixture_path("hf_daily_papers_2026.json").read_bytes(),
                    content_type="application/json",
                ),
            }
        )
        yield feeds


def source_for(server, path: str, kind: str = Source.Kind.ARXIV_FEED) -> Source:
    return SourceFactory(name=path.strip("/"), kind=kind, url=server.url(path))


def test_a_fetch_stores_papers_and_records_the_outcome(server, settings):
    source = source_for(server, "/rss")

    outcome = fetch_and_ingest(source.pk)

    assert (outcome.status, outcome.count, outcome.result.created) == ("ok", 4, 4)
    source.refresh_from_db()
    assert source.last_status == Source.Status.OK
    assert source.last_error == ""
    assert source.last_count == 4
    assert source.last_fetched_at is not None
    assert source.etag == '"rss-v1"'
    assert source.last_modified == LAST_MODIFIED
    assert Paper.objects.count() == 4
    (request,) = server.seen("/rss")
    assert request.headers["User-Agent"] == settings.ARXIV_USER_AGENT
    assert "If-None-Match" not in request.headers


def test_the_next_fetch_is_conditional_and_a_304_changes_nothing(server):
    source = source_for(server, "/rss")
    fetch_and_ingest(source.pk)
    modified = {paper.pk: paper.modified_at for paper in Paper.objects.all()}

    outcome = fetch_and_ingest(source.pk)

    assert outcome.status == Source.Status.NOT_MODIFIED
    second = server.seen("/rss")[1]
    assert second.headers["If-None-Match"] == '"rss-v1"'
    assert second.headers["If-Modified-Since"] == LAST_MODIFIED
    source.refresh_from_db()
    assert (source.last_status, source.last_error, source.last_count) == ("not_modified", "", 0)
    assert source.etag == '"rss-v1"'
    assert {paper.pk: paper.modified_at for paper in Paper.objects.all()} == modified


def test_last_modified_alone_makes_the_get_conditional(server):
    source = source_for(server, "/dated")
    fetch_and_ingest(source.pk)
    assert fetch_and_ingest(source.pk).status == Source.Status.NOT_MODIFIED
    assert server.seen("/dated")[1].headers["If-Modified-Since"] == LAST_MODIFIED


def test_a_server_error_is_recorded_with_its_http_status(server):
    source = source_for(server, "/broken")
    source.etag = '"old"'
    source.save()

    outcome = fetch_and_ingest(source.pk)

    assert outcome.status == Source.Status.ERROR
    source.refresh_from_db()
    assert source.last_status == Source.Status.ERROR
    assert source.last_error == f"HTTP 500 Internal Server Error from {server.url('/broken')}"
    assert source.etag == '"old"'  # kept: the feed has not been read
    assert Paper.objects.count() == 0


def test_a_missing_page_is_an_http_404(server):
    source = source_for(server, "/missing-page")
    fetch_and_ingest(source.pk)
    source.refresh_from_db()
    assert source.last_error == f"HTTP 404 Not Found from {server.url('/missing-page')}"


def test_a_server_that_does_not_answer_times_out(server, settings):
    settings.FETCH_TIMEOUT = 0.5
    source = source_for(server, "/slow")

    fetch_and_ingest(source.pk)

    source.refresh_from_db()
    assert source.last_status == Source.Status.ERROR
    assert source.last_error == f"timed out after 0.5 s waiting for {server.url('/slow')}"


def test_a_refused_connection_is_a_clear_error(settings):
    settings.FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    source = SourceFactory(url=f"http://127.0.0.1:{port}/rss")
    fetch_and_ingest(source.pk)
    source.refresh_from_db()
    assert source.last_status == Source.Status.ERROR
    assert source.last_error.startswith(f"could not connect to 127.0.0.1:{port}: ")
    assert "Connection refused" in source.last_error
    assert "object at 0x" not in source.last_error


# RFC 6761: names under .invalid never resolve, so this is what any name is without a network.
OFFLINE_URL = "https://rss.arxiv.invalid/rss/cs.AI"
NO_NETWORK = "Could not reach rss.arxiv.invalid: no network? The demo papers keep working offline."


def test_a_host_that_cannot_be_reached_says_no_network_once_per_outage(server, caplog):
    source = SourceFactory(url=OFFLINE_URL)

    def warnings_after_a_fetch() -> list[logging.LogRecord]:
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="digest.papers.ingest"):
            fetch_and_ingest(source.pk)
        source.refresh_from_db()
        return [record for record in caplog.records if record.levelno >= logging.WARNING]

    (warning,) = warnings_after_a_fetch()
    assert NO_NETWORK in warning.getMessage() and warning.exc_info is None  # no traceback
    assert (source.last_status, source.last_error) == (Source.Status.ERROR, NO_NETWORK)
    assert warnings_after_a_fetch() == []  # an hour later, still offline: said already
    assert warnings_after_a_fetch() == []
    assert source.last_error == NO_NETWORK

    Source.objects.filter(pk=source.pk).update(url=server.url("/rss"))
    assert warnings_after_a_fetch() == [] and source.last_status == Source.Status.OK
    Source.objects.filter(pk=source.pk).update(url=OFFLINE_URL)
    (warning,) = warnings_after_a_fetch()  # a new outage is news again
    assert NO_NETWORK in warning.getMessage()


def test_a_truncated_feed_keeps_the_valid_entries_and_records_the_error(server):
    source = source_for(server, "/truncated")

    outcome = fetch_and_ingest(source.pk)

    assert outcome.status == Source.Status.PARTIAL
    assert set(Paper.objects.values_list("arxiv_id", flat=True)) == {"2609.26811", "2609.26820"}
    source.refresh_from_db()
    assert source.last_status == Source.Status.PARTIAL
    assert source.last_count == 2
    assert re.fullmatch(
        r"line \d+, column \d+: the document ends early \(no element found\); "
        r"2 complete entries before it were read",
        source.last_error,
    )
    assert source.etag == ""  # the next fetch downloads the feed again


def test_an_empty_feed_is_ok_with_no_papers(server):
    source = source_for(server, "/empty")
    outcome = fetch_and_ingest(source.pk)
    source.refresh_from_db()
    assert (outcome.status, source.last_status, source.last_error, source.last_count) == (
        "ok",
        "ok",
        "",
        0,
    )
    assert Paper.objects.count() == 0


def test_an_html_page_instead_of_a_feed_is_an_error(server):
    source = source_for(server, "/login")
    fetch_and_ingest(source.pk)
    source.refresh_from_db()
    assert (source.last_status, source.last_error) == ("error", "an HTML page, not a feed")


def test_the_format_comes_from_the_content_not_the_source_kind(server):
    source = source_for(server, "/hf", kind=Source.Kind.FEED)
    outcome = fetch_and_ingest(source.pk)
    assert (outcome.kind, outcome.count) == (Source.Kind.HF_DAILY, 3)
    assert Paper.objects.get(arxiv_id="2607.26654").upvotes == 3


def test_the_pipelines_ingest_step_runs_the_match_step_afterwards(server):
    subscription = SubscriptionFactory(query="spectral")
    source = source_for(server, "/rss")

    pipeline.ingest(source.pk)

    match = Match.objects.get(subscription=subscription)
    assert match.paper.arxiv_id == "2609.26811"
    assert match.hits == [
        {"term": "spectral", "field": "title"},
        {"term": "spectral", "field": "abstract"},
    ]
    assert not Paper.objects.filter(matched_at__isnull=True).exists()


def test_only_http_urls_are_fetched():
    with pytest.raises(FetchError, match="only http and https URLs are supported"):
        fetch_url("file:///etc/passwd")


def test_oversized_documents_are_refused(server, settings):
    settings.FETCH_MAX_BYTES = 1000
    with pytest.raises(FetchError, match="is larger than 1000 bytes; not read"):
        fetch_url(server.url("/rss"))


def test_arxiv_hosts_are_polite_hosts(settings):
    settings.POLITE_HOSTS = ["arxiv.org"]
    assert polite_host("https://export.arxiv.org/api/query?x=1") == "arxiv.org"
    assert polite_host("http://rss.arxiv.org/rss/cs.LG") == "arxiv.org"
    assert polite_host("https://arxiv.org/abs/1") == "arxiv.org"
    assert polite_host("https://notarxiv.org/") is None
    assert polite_host("https://huggingface.co/api/daily_papers") is None


@pytest.mark.parametrize("backend", ["file lock", "redis"])
def test_parallel_requests_to_a_polite_host_are_spaced_by_the_delay(
    server, settings, backend, request
):
    settings.REDIS_URL = request.getfixturevalue("redis_url") if backend == "redis" else ""
    settings.POLITE_HOSTS = ["127.0.0.1"]
    settings.ARXIV_DELAY_SECONDS = 0.6
    threads = [threading.Thread(target=fetch_url, args=(server.url("/rss"),)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    arrivals = sorted(seen.at for seen in server.seen("/rss"))
    assert len(arrivals) == 3
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:], strict=False)]
    # Requests start at least the delay apart; arrival adds a little jitter either way.
    assert min(gaps) >= 0.5
