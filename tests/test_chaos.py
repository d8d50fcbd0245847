"""Fault tests: real Celery worker and beat processes, a private Redis, PostgreSQL, and an SMTP
sink in its own process. Run with ``make chaos`` (they are slow, so ``make test`` leaves them
out). Each test builds a batch of due subscribers, lets beat and the worker run the day, breaks
something in the middle, and then counts Message-IDs at the sink.

The outbox allows exactly one kind of duplicate (see digest/delivery.py): a worker killed after
the server's 250 and before "sent" is committed. A ``kill -9`` can therefore cause at most one
duplicate per worker process it kills, and only when it lands in that sub-millisecond window.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import User
from digest.digests.models import Delivery, Digest, Suppression
from subscriptions.models import Match
from tests.conftest import free_port
from tests.factories import PaperFactory, SubscriptionFactory, UserFactory

pytestmark = [
    pytest.mark.chaos,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="worker processes must share the test database: needs PostgreSQL",
    ),
]

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CELERY = str(Path(sys.executable).with_name("celery"))
WORKER_CONCURRENCY = 2
DONE = (Delivery.Status.SENT, Delivery.Status.FAILED, Delivery.Status.SUPPRESSED)


def wait_for(condition, timeout: float, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def wait_for_port(port: int, timeout: float = 15) -> None:
    import socket

    def accepting():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return False

    wait_for(accepting, timeout, 0.05, f"port {port}")


class Processes:
    """Starts and stops the processes of one fault test; everything is killed at the end."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[subprocess.Popen] = []
        self.redis_port = free_port()
        self.sink_port = free_port()
        self.mailbox = tmp / "mailbox"
        self.redis: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.sink: subprocess.Popen | None = None

    def env(self, **extra: str) -> dict[str, str]:
        db = connection.settings_dict
        database_url = (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        )
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "EMAIL_URL": f"smtp://127.0.0.1:{self.sink_port}",
            "VAR_DIR": str(self.tmp / "var"),
            "SECRET_KEY": "chaos-test-key",
            "DIGEST_SCHEDULE_INTERVAL": "1",
            "DIGEST_CHUNK_SIZE": "20",
            "DIGEST_BUILD_LEASE_SECONDS": "6",
            "DELIVERY_LEASE_SECONDS": "4",
            "DELIVERY_TASK_SECONDS": "20",
            "CELERY_VISIBILITY_TIMEOUT": "8",
            "EMAIL_RETRY_BASE_SECONDS": "1",
            "EMAIL_MESSAGES_PER_CONNECTION": "25",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        env.update(extra)
        return env

    def _start(self, args: list[str], name: str, env: dict[str, str]) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.procs.append(proc)
        return proc

    def start_redis(self) -> None:
        self.redis = self._start(
            [
                "redis-server",
                "--port", str(self.redis_port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
            ],
            "redis",
            os.environ.copy(),
        )  # fmt: skip
        wait_for_port(self.redis_port)

    def start_sink(self, *policy: str) -> None:
        self.sink = self._start(
            [PYTHON, "-m", "digest.mailsink", "--port", str(self.sink_port),
             "--dir", str(self.mailbox), *policy],
            "sink",
            os.environ.copy(),
        )  # fmt: skip
        wait_for_port(self.sink_port)

    def start_worker(self, **env: str) -> None:
        self.worker = self._start(
            [CELERY, "-A", "digest", "worker", "--pool=prefork",
             f"--concurrency={WORKER_CONCURRENCY}", "--without-gossip", "--without-mingle",
             "--loglevel=WARNING"],
            "worker",
            self.env(**env),
        )  # fmt: skip

    def start_beat(self, **env: str) -> None:
        self._start(
            [CELERY, "-A", "digest", "beat", "--loglevel=WARNING",
             "--schedule", str(self.tmp / "beat-schedule")],
            "beat",
            self.env(**env),
        )  # fmt: skip

    @staticmethod
    def kill(proc: subprocess.Popen | None, sig: int = signal.SIGKILL) -> None:
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            self.kill(proc, signal.SIGTERM)

    def received(self) -> list[tuple[str, str]]:
        """``(Message-ID, To)`` of every message the sink stored."""
        result = []
        for path in sorted(self.mailbox.glob("*.eml")):
            head = path.read_bytes().split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
            fields = {}
            for line in head.decode("utf-8", "replace").splitlines():
                name, _, value = line.partition(":")
                if name.lower() in ("message-id", "to") and name.lower() not in fields:
                    fields[name.lower()] = value.strip()
            result.append((fields.get("message-id", ""), fields.get("to", "")))
        return result


@pytest.fixture
def procs(tmp_path, transactional_db):
    processes = Processes(tmp_path)
    processes.start_redis()
    try:
        yield processes
    finally:
        processes.stop_all()
        if os.environ.get("CHAOS_SHOW_LOGS"):
            for log in sorted(tmp_path.glob("*.log")):
                print(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}")


def due_subscribers(count: int) -> list[User]:
    """``count`` verified users due now, each with one matching paper."""
    users = []
    for n in range(count):
        user = UserFactory(email=f"chaos{n:04d}@example.org")
        subscription = SubscriptionFactory(owner=user, query="zero-shot")
        paper = PaperFactory(created_at=timezone.now() - dt.timedelta(hours=1))
        Match.objects.create(
            subscription=subscription,
            paper=paper,
            owner=user,
            hits=[{"term": "zero-shot", "field": "title"}],
            score=1,
        )
        users.append(user)
    User.objects.filter(pk__in=[u.pk for u in users]).update(
        next_digest_at=timezone.now() - dt.timedelta(minutes=1)
    )
    return users


def all_done(expected: int):
    def check():
        return (
            Digest.objects.count() == expected
            and Delivery.objects.filter(status__in=DONE).count() == expected
        )

    return check


def report(name: str, procs: Processes, users: list[User], note: str = "") -> Counter:
    received = procs.received()
    per_id = Counter(message_id for message_id, _ in received)
    duplicates = sum(n - 1 for n in per_id.values() if n > 1)
    print(
        f"\nCHAOS {name}: due={len(users)} received={len(received)} "
        f"distinct_message_ids={len(per_id)} duplicates={duplicates} {note}"
    )
    return per_id


def assert_everyone_got_exactly_one(procs: Processes, users: list[User], per_id: Counter):
    sent = dict(Delivery.objects.filter(status="sent").values_list("message_id", "to_email"))
    assert set(sent.values()) == {u.email for u in users}
    assert set(per_id) == set(sent)  # every Message-ID at the sink is a recorded delivery
    assert Digest.objects.count() == len(users)  # one digest per person, never two


def test_kill_9_the_worker_mid_run_then_restart(procs):
    users = due_subscribers(240)
    procs.start_sink()
    # A modest rate stretches the run so the kills land while mail is flowing.
    env = {"EMAIL_RATE_PER_SECOND": "60"}
    procs.start_beat(**env)
    procs.start_worker(**env)
    kills = []
    for fraction in (0.25, 0.5, 0.75):
        wait_for(
            lambda f=fraction: len(procs.received()) >= f * len(users), 120, what=f"{fraction:.0%}"
        )
        procs.kill(procs.worker)  # SIGKILL to the whole process group: parent and children
        kills.append(len(procs.received()))
        time.sleep(0.5)
        procs.start_worker(**env)
    wait_for(all_done(len(users)), 120, what="every digest delivered")
    sending_processes_killed = len(kills) * WORKER_CONCURRENCY
    per_id = report(
        "kill-9",
        procs,
        users,
        f"killed_at={kills} sending_processes_killed={sending_processes_killed}",
    )
    assert_everyone_got_exactly_one(procs, users, per_id)
    duplicates = sum(n - 1 for n in per_id.values() if n > 1)
    # The documented window: one in-flight message per killed sending process, at most.
    assert duplicates <= sending_processes_killed
    assert Delivery.objects.filter(status="sent").count() == len(users)


def test_restart_redis_mid_run(procs):
    users = due_subscribers(200)
    procs.start_sink()
    env = {"EMAIL_RATE_PER_SECOND": "60"}
    procs.start_beat(**env)
    procs.start_worker(**env)
    wait_for(lambda: len(procs.received()) >= 50, 90, what="a quarter of the mail")
    procs.kill(procs.redis, signal.SIGKILL)  # queued tasks and the rate counters are gone
    at_restart = len(procs.received())
    time.sleep(2)
    procs.start_redis()
    wait_for(all_done(len(users)), 120, what="every digest delivered")
    per_id = report("redis-restart", procs, users, f"restarted_at={at_restart}")
    assert_everyone_got_exactly_one(procs, users, per_id)
    assert max(per_id.values()) == 1  # nothing crashed between 250 and commit: no duplicates


@pytest.mark.parametrize("code", [421, 451])
def test_a_sink_failing_for_a_while_then_recovering(procs, code):
    users = due_subscribers(120)
    procs.start_sink("--fail-code", str(code), "--fail-after", "30", "--fail-seconds", "5")
    procs.start_beat()
    procs.start_worker()
    wait_for(all_done(len(users)), 120, what="every digest delivered after the outage")
    procs.kill(procs.sink, signal.SIGTERM)
    refused = _refused(procs)
    per_id = report(f"{code}-outage", procs, users, f"refused={refused}")
    assert_everyone_got_exactly_one(procs, users, per_id)
    assert max(per_id.values()) == 1
    retried = Delivery.objects.filter(attempts__gt=1).count()
    assert retried > 0  # the outage really hit deliveries, and they recovered
    # Backoff, not a storm: far fewer refusals than messages (one per batch per attempt).
    assert refused < len(users)


def _refused(procs: Processes) -> int:
    text = (procs.tmp / "sink.log").read_text()
    return int(text.rsplit("refused=", 1)[1].split()[0])


def test_550_for_one_address_suppresses_it_without_retrying(procs):
    users = due_subscribers(60)
    victim = users[17].email
    procs.start_sink("--reject", victim)
    procs.start_beat()
    procs.start_worker()
    wait_for(all_done(len(users)), 90, what="every delivery finished")
    time.sleep(3)  # a few more beat ticks: nothing may be retried
    per_id = report("550-one-address", procs, users)
    failed = Delivery.objects.get(to_email=victim)
    assert failed.status == Delivery.Status.FAILED and failed.attempts == 1
    assert "550" in failed.last_error
    assert Suppression.objects.get().email == victim
    assert len(per_id) == len(users) - 1 and max(per_id.values()) == 1
    procs.kill(procs.sink, signal.SIGTERM)
    assert _refused(procs) == 1  # asked once, never again
