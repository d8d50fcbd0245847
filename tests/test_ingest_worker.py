"""The ingest tasks, run by a real Celery worker on a real Redis, against the test database."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
from celery import Celery

from digest.papers.models import Paper, Source
from digest.tasks import ingest_source
from subscriptions.models import Match
from tests.factories import SourceFactory, SubscriptionFactory
from tests.feedserver import LOOPBACK, Route, serve_feeds
from tests.subprocesses import PROJECT_DIR, child_env

WORKER_DEADLINE = 90  # seconds: a cold worker start on a busy two-core machine is slow


@pytest.fixture
def worker(transactional_db, redis_url, tmp_path) -> Iterator[subprocess.Popen]:
    log = tmp_path / "worker.log"
    with open(log, "w") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "digest",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--hostname",
                f"ingest-test-{uuid.uuid4().hex[:8]}@%h",
            ],
            cwd=PROJECT_DIR,
            env=child_env(
                REDIS_URL=redis_url,
                VAR_DIR=str(tmp_path / "var"),
                # The worker fetches from the tests' feed server, on loopback.
                FETCH_ALLOWED_NETWORKS=",".join(LOOPBACK),
            ),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    process.log_path = log
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        print(log.read_text()[-5000:])  # shown by pytest when the test failed


def send(redis_url: str, task: str, *args: object) -> None:
    """Queue ``task`` on the broker the worker listens to, as beat would."""
    client = Celery("paperboy-test-client", broker=redis_url, set_as_current=False)
    client.conf.task_serializer = "json"
    try:
        client.send_task(task, args=list(args))
    finally:
        client.close()


def wait_until(condition, what: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + WORKER_DEADLINE
    while time.monotonic() < deadline:
        if condition():
            return
        assert process.poll() is None, "the worker exited"
        time.sleep(0.25)
    pytest.fail(f"after {WORKER_DEADLINE} s: {what}")


def test_beat_task_fans_out_and_a_real_worker_ingests_each_enabled_source(
    worker, redis_url, fixture_path, settings
):
    subscription = SubscriptionFactory(query="anomaly")
    with serve_feeds(settings) as server:
        server.routes["/rss"] = Route(fixture_path("arxiv_rss_cs_multi.xml").read_bytes())
        server.routes["/hf"] = Route(
            fixture_path("hf_daily_papers_2026.json").read_bytes(),
            content_type="application/json",
        )
        listing = SourceFactory(name="listing", url=server.url("/rss"))
        daily = SourceFactory(name="daily", kind=Source.Kind.HF_DAILY, url=server.url("/hf"))
        disabled = SourceFactory(name="off", url=server.url("/rss"), enabled=False)

        send(redis_url, "digest.tasks.ingest_enabled_sources")

        def ingested() -> bool:
            statuses = dict(Source.objects.values_list("name", "last_status"))
            return statuses["listing"] == "ok" and statuses["daily"] == "ok"

        wait_until(ingested, "both enabled sources ingested", worker)
        wait_until(
            lambda: not Paper.objects.filter(matched_at__isnull=True).exists(),
            "the match step ran in the worker",
            worker,
        )

    assert Paper.objects.count() == 7
    listing.refresh_from_db()
    daily.refresh_from_db()
    assert (listing.last_count, daily.last_count) == (4, 3)
    disabled.refresh_from_db()
    assert disabled.last_status == Source.Status.NEVER
    assert Match.objects.get(subscription=subscription).paper.arxiv_id == "2609.26820"


def test_running_the_same_ingest_task_twice_is_harmless(worker, redis_url, fixture_path, settings):
    with serve_feeds(settings) as server:
        server.routes["/rss"] = Route(fixture_path("arxiv_rss_cs_multi.xml").read_bytes())
        source = SourceFactory(url=server.url("/rss"))

        send(redis_url, "digest.tasks.ingest_source", source.pk)
        send(redis_url, "digest.tasks.ingest_source", source.pk)

        done = re.compile(r"Task digest\.tasks\.ingest_source\[[-\w]+\] succeeded")
        wait_until(
            lambda: len(done.findall(worker.log_path.read_text())) == 2, "both tasks done", worker
        )

    assert len(server.seen("/rss")) == 2
    assert Paper.objects.count() == 4
    assert source.sighting_set.count() == 4
    source.refresh_from_db()
    assert (source.last_status, source.last_count) == ("ok", 4)


@pytest.mark.django_db
def test_a_task_for_a_deleted_source_does_nothing():
    assert ingest_source(123456) == {"source": 123456, "status": "missing"}
