"""The outbox: claim, send over a reused SMTP session, record; retry, fail, suppress, hold."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from digest.curation import release_send
from digest.digests import delivery as outbox
from digest.digests.delivery import claim, deliver, send_delivery, send_due
from digest.digests.models import Delivery, DeliveryHold, Suppression
from digest.digests.smtp import SMTPSession
from digest.mailsink import FaultPolicy
from tests.factories import DeliveryFactory, DigestFactory, UserFactory


def pending(n: int = 1, **fields) -> list[Delivery]:
    return [DeliveryFactory(digest=DigestFactory(user=UserFactory()), **fields) for _ in range(n)]


def refresh(*deliveries: Delivery) -> None:
    for each in deliveries:
        each.refresh_from_db()


@pytest.fixture
def eager_celery():
    from digest.celery import app

    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = False


def test_send_due_sends_every_pending_delivery_over_one_connection(db, smtp_sink):
    deliveries = pending(5)
    report = send_due()
    assert report.sent == 5 and report.connections == 1
    assert smtp_sink.connections == 1
    refresh(*deliveries)
    received = {m["Message-ID"] for m in smtp_sink.messages}
    assert {d.message_id for d in deliveries} == received
    assert all(d.status == Delivery.Status.SENT and d.sent_at for d in deliveries)


def test_messages_per_connection_cap_reconnects(db, smtp_sink, settings):
    settings.EMAIL_MESSAGES_PER_CONNECTION = 2
    pending(5)
    report = send_due()
    assert report.sent == 5
    assert smtp_sink.connections == 3


def test_sending_twice_sends_once(db, smtp_sink):
    [delivery] = pending()
    assert send_delivery(delivery.pk).sent == 1
    assert send_delivery(delivery.pk).sent == 0
    assert send_due().sent == 0
    assert len(smtp_sink.messages) == 1


def test_claims_never_overlap(db):
    pending(6)
    first, second = claim(limit=4), claim(limit=4)
    assert len(first) == 4 and len(second) == 2
    assert not {d.pk for d in first} & {d.pk for d in second}
    assert all(d.status == Delivery.Status.SENDING and d.lease_until for d in first + second)
    assert claim(limit=4) == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent writers need a server database"
)
def test_concurrent_workers_claim_disjoint_sets():
    pending(40)
    claimed: list[list[int]] = []
    barrier = threading.Barrier(4)

    def worker():
        try:
            barrier.wait()
            ids = []
            while batch := claim(limit=3):
                ids.extend(d.pk for d in batch)
            claimed.append(ids)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [pk for ids in claimed for pk in ids]
    assert len(every) == 40 == len(set(every))


def test_a_dead_workers_claim_is_taken_over_after_the_lease(db, smtp_sink):
    [delivery] = pending()
    [claimed] = claim(limit=1)  # ... and the worker dies here
    assert claim(limit=1) == []  # within the lease nobody else may take it
    Delivery.objects.filter(pk=delivery.pk).update(
        lease_until=timezone.now() - dt.timedelta(seconds=1)
    )
    report = send_due()
    assert report.sent == 1
    refresh(delivery)
    assert delivery.status == Delivery.Status.SENT and delivery.attempts == 2
    # The dead worker's late write cannot overwrite the newer claim's result.
    assert not outbox._finish(claimed, Delivery.Status.FAILED)
    refresh(delivery)
    assert delivery.status == Delivery.Status.SENT


def test_resend_after_a_lost_commit_carries_the_same_message_id(db, smtp_sink):
    [delivery] = pending()
    first = claim(limit=1)
    deliver(first)
    sent_id = smtp_sink.messages[0]["Message-ID"]
    # Simulate the duplicate window: the mail left but "sent" was never committed.
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.SENDING,
        message_id="",
        lease_until=timezone.now() - dt.timedelta(seconds=1),
    )
    send_due()
    assert [m["Message-ID"] for m in smtp_sink.messages] == [sent_id, sent_id]


def test_temporary_failure_retries_later_with_backoff(db, smtp_sink, settings):
    settings.EMAIL_RETRY_BASE_SECONDS = 60
    [delivery] = pending()
    smtp_sink.recipient_policy = FaultPolicy(fail_code=451, fail_seconds=3600)
    before = timezone.now()
    report = send_due()
    assert report.retrying == 1 and report.sent == 0
    refresh(delivery)
    assert delivery.status == Delivery.Status.RETRYING and delivery.attempts == 1
    assert "451" in delivery.last_error
    assert before + dt.timedelta(seconds=45) < delivery.next_attempt_at
    assert delivery.next_attempt_at < before + dt.timedelta(seconds=75)
    assert send_due().total == 0  # not due yet

    smtp_sink.recipient_policy = None
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert send_due().sent == 1
    refresh(delivery)
    assert delivery.status == Delivery.Status.SENT and delivery.attempts == 2


def test_backoff_doubles_and_is_capped(settings):
    settings.EMAIL_RETRY_BASE_SECONDS = 60
    assert 48 <= outbox.backoff_seconds(1) <= 72
    assert 96 <= outbox.backoff_seconds(2) <= 144
    assert outbox.backoff_seconds(30) <= outbox.MAX_BACKOFF_SECONDS * 1.2


def test_a_server_closing_with_421_backs_off_the_whole_batch_without_a_storm(db, smtp_sink):
    deliveries = pending(10)
    policy = FaultPolicy(fail_code=421, fail_seconds=3600)
    smtp_sink.recipient_policy = policy
    report = send_due()
    assert report.sent == 0 and report.retrying == 10
    assert policy.refused == 1  # one try, then the rest of the batch waits
    refresh(*deliveries)
    assert sorted(d.attempts for d in deliveries) == [0] * 9 + [1]
    assert all(d.status == Delivery.Status.RETRYING for d in deliveries)
    assert all(d.next_attempt_at > timezone.now() for d in deliveries)


def test_an_unreachable_server_is_retried_later(db, settings):
    from tests.conftest import free_port

    settings.EMAIL_BACKEND = "digest.digests.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    deliveries = pending(3)
    report = send_due()
    assert report.retrying == 3 and report.sent == 0
    refresh(*deliveries)
    assert all(d.status == Delivery.Status.RETRYING for d in deliveries)
    assert "ConnectionRefused" in deliveries[0].last_error


def test_a_server_that_drops_a_used_connection_gets_the_message_on_a_fresh_one(db, smtp_sink):
    pending(3)
    with SMTPSession() as session:
        batch = claim(limit=1)
        deliver(batch, session)
        session.backend.connection.sock.close()  # the server went away between messages
        report = deliver(claim(limit=2), session)
    assert report.sent == 2
    assert len(smtp_sink.messages) == 3


def test_permanent_rejection_fails_suppresses_and_spares_the_others(db, smtp_sink):
    bad, good = pending(2)
    smtp_sink.recipient_policy = FaultPolicy(reject=[bad.to_email])
    report = send_due()
    assert report.sent == 1 and report.failed == 1
    refresh(bad, good)
    assert bad.status == Delivery.Status.FAILED and "550" in bad.last_error
    assert good.status == Delivery.Status.SENT
    suppression = Suppression.objects.get()
    assert suppression.email == bad.to_email and suppression.reason == "rejected"
    assert outbox.suppression_for(bad.digest.user) == suppression


def test_giving_up_after_max_attempts_does_not_suppress(db, smtp_sink, settings):
    settings.EMAIL_MAX_ATTEMPTS = 2
    [delivery] = pending()
    smtp_sink.recipient_policy = FaultPolicy(fail_code=451, fail_seconds=3600)
    for _ in range(2):
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        send_due()
    refresh(delivery)
    assert delivery.status == Delivery.Status.FAILED and delivery.attempts == 2
    assert "gave up" in delivery.last_error
    assert not Suppression.objects.exists()


def test_suppressed_addresses_get_nothing(db, smtp_sink):
    [delivery] = pending()
    Suppression.objects.create(email=delivery.to_email.upper(), reason="complaint")
    assert send_due().suppressed == 1
    refresh(delivery)
    assert delivery.status == Delivery.Status.SUPPRESSED
    assert smtp_sink.messages == []


def test_suppress_stops_what_is_queued(db):
    [delivery] = pending()
    outbox.suppress(delivery.to_email, Suppression.Reason.MANUAL)
    refresh(delivery)
    assert delivery.status == Delivery.Status.SUPPRESSED


def test_unsubscribed_after_the_digest_was_built_gets_nothing(db, smtp_sink):
    [delivery] = pending()
    user = delivery.digest.user
    user.unsubscribed_at = timezone.now()
    user.save()
    assert send_due().cancelled == 1
    assert smtp_sink.messages == []


def test_held_deliveries_wait_until_released(
    db, smtp_sink, eager_celery, django_capture_on_commit_callbacks
):
    [held] = pending()
    other = DeliveryFactory(digest=DigestFactory(date=held.digest.date - dt.timedelta(days=1)))
    DeliveryHold.objects.create(date=held.digest.date, reason="checking a bad feed")
    assert send_due().sent == 1
    refresh(held, other)
    assert held.status == Delivery.Status.PENDING and other.status == Delivery.Status.SENT
    with django_capture_on_commit_callbacks(execute=True):
        assert release_send(held.digest.date)  # the curator's "release"
    refresh(held)
    assert held.status == Delivery.Status.SENT
    assert not DeliveryHold.objects.exists()


def test_requeue_sends_again_with_a_new_message_id(db, smtp_sink):
    [delivery] = pending()
    send_due()
    assert outbox.requeue([delivery.pk]) == 1
    send_due()
    first, second = (m["Message-ID"] for m in smtp_sink.messages)
    assert first != second


class VirtualClock:
    """Stands in for ``time`` inside digest.digests.smtp: time passes only when the code sleeps, so
    the rate limiter's decisions do not depend on how fast this machine happens to be."""

    def __init__(self, start: float) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_rate_limit_spaces_messages_across_windows(
    db, smtp_sink, settings, monkeypatch, isolated_cache
):
    from digest.digests import smtp

    settings.EMAIL_RATE_PER_SECOND = 3
    clock = VirtualClock(start=1_000_000.0)
    monkeypatch.setattr(smtp, "time", clock)
    pending(7)
    assert send_due().sent == 7
    # 7 messages at 3 per second: 3 in the first second, 3 in the next, 1 in the third.
    assert clock.sleeps == [1.0, 1.0]
    assert len(smtp_sink.messages) == 7


def test_a_server_deferring_everyone_backs_off_the_batch_after_three_tries(db, smtp_sink):
    pending(10)
    policy = FaultPolicy(fail_code=451, fail_seconds=3600)
    smtp_sink.recipient_policy = policy
    report = send_due()
    assert report.retrying == 10 and policy.refused == 3


def test_each_batch_sends_the_papers_as_they_are_now_with_their_reasons(db, smtp_sink):
    from tests.factories import DigestItemFactory, PaperFactory
    from tests.mailhelpers import text_of

    paper = PaperFactory(title="First title")
    first, second = pending(2)
    for delivery in (first, second):
        DigestItemFactory(
            digest=delivery.digest,
            paper=paper,
            hits=[{"term": "zero-shot", "field": "title", "subscription": "Vision"}],
        )
    assert send_delivery(first.pk).sent == 1
    paper.title = "Second title"
    paper.save()  # a curator's edit between two batches
    assert send_delivery(second.pk).sent == 1
    bodies = [text_of(message) for message in smtp_sink.messages]
    assert "First title" in bodies[0] and "Second title" in bodies[1]
    assert all("matched: `zero-shot` in title (Vision)" in body for body in bodies)
