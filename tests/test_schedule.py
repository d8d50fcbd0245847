"""Per-user schedules: local hour, time zone, daily/weekly/paused, DST, and the beat that
enqueues whoever is due."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone

from accounts.models import User
from digest import tasks
from digest.celery import app
from digest.digests import scheduler
from digest.digests.models import Delivery, Digest, Suppression
from digest.digests.schedule import current_slot, digest_date, next_digest_at
from digest.digests.scheduler import build_for_users, claim_due_users
from subscriptions.models import Match
from tests.factories import DigestFactory, PaperFactory, SubscriptionFactory, UserFactory

UTC = dt.UTC
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def schedule(**fields) -> User:
    defaults = {"timezone": "UTC", "frequency": "daily", "delivery_hour": 7}
    return User(**{**defaults, **fields})


def slots(user: User, start: dt.datetime, count: int) -> list[dt.datetime]:
    result, after = [], start
    for _ in range(count):
        after = next_digest_at(user, after=after)
        result.append(after)
    return result


def test_daily_slot_is_the_local_hour_in_the_users_time_zone():
    user = schedule(timezone="Europe/Berlin", delivery_hour=7)
    after = dt.datetime(2026, 1, 10, 5, 0, tzinfo=UTC)  # 06:00 in Berlin
    assert next_digest_at(user, after=after) == dt.datetime(2026, 1, 10, 6, 0, tzinfo=UTC)
    after = dt.datetime(2026, 1, 10, 6, 0, tzinfo=UTC)  # exactly 07:00: strictly after
    assert next_digest_at(user, after=after) == dt.datetime(2026, 1, 11, 6, 0, tzinfo=UTC)


def test_weekly_slot_is_on_the_chosen_weekday():
    user = schedule(frequency="weekly", weekday=User.Weekday.FRIDAY, delivery_hour=9)
    got = slots(user, dt.datetime(2026, 1, 5, tzinfo=UTC), 3)  # a Monday
    assert [s.date() for s in got] == [
        dt.date(2026, 1, 9),
        dt.date(2026, 1, 16),
        dt.date(2026, 1, 23),
    ]
    assert all(s.hour == 9 for s in got)


def test_paused_or_unsubscribed_users_have_no_slot():
    assert next_digest_at(schedule(frequency="paused"), after=timezone.now()) is None
    gone = schedule(unsubscribed_at=timezone.now())
    assert next_digest_at(gone, after=timezone.now()) is None


@pytest.mark.parametrize(
    "start, hour",
    [
        (dt.datetime(2026, 3, 5, tzinfo=UTC), 2),  # spring forward: 02:00 does not exist on 8 Mar
        (dt.datetime(2026, 10, 29, tzinfo=UTC), 1),  # fall back: 01:00 happens twice on 1 Nov
    ],
)
def test_dst_changes_give_exactly_one_slot_per_local_date(start, hour):
    user = schedule(timezone="America/New_York", delivery_hour=hour)
    got = slots(user, start, 8)
    local_dates = [s.astimezone(NEW_YORK).date() for s in got]
    assert local_dates == [local_dates[0] + dt.timedelta(days=n) for n in range(8)]
    assert all(s.astimezone(NEW_YORK).hour in (hour, hour + 1) for s in got)
    assert got == sorted(got) and len(set(got)) == 8


def test_spring_forward_gap_hour_happens_just_after_the_gap():
    user = schedule(timezone="America/New_York", delivery_hour=2)
    slot = next_digest_at(user, after=dt.datetime(2026, 3, 8, 0, 0, tzinfo=UTC))
    assert slot == dt.datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # 03:00 EDT


def test_fall_back_repeated_hour_is_taken_the_first_time_only():
    user = schedule(timezone="America/New_York", delivery_hour=1)
    first = next_digest_at(user, after=dt.datetime(2026, 11, 1, 0, 0, tzinfo=UTC))
    assert first == dt.datetime(2026, 11, 1, 5, 0, tzinfo=UTC)  # 01:00 EDT
    assert next_digest_at(user, after=first) == dt.datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


def test_a_digest_built_after_midnight_belongs_to_the_slots_date():
    user = schedule(timezone="UTC", delivery_hour=23)
    late = dt.datetime(2026, 1, 11, 0, 30, tzinfo=UTC)
    assert current_slot(user, now=late) == dt.datetime(2026, 1, 10, 23, 0, tzinfo=UTC)
    assert digest_date(user, now=late) == dt.date(2026, 1, 10)


def test_new_and_changed_schedules_set_next_digest_at(db):
    user = UserFactory(delivery_hour=7)
    assert user.next_digest_at is not None and user.next_digest_at > timezone.now()
    user.frequency = User.Frequency.PAUSED
    user.save()
    user.refresh_from_db()
    assert user.next_digest_at is None
    user.frequency = User.Frequency.WEEKLY
    user.save(update_fields=["frequency"])
    user.refresh_from_db()
    assert user.next_digest_at is not None


def test_saves_that_do_not_touch_the_schedule_keep_a_due_user_due(db):
    user = UserFactory()
    due = timezone.now() - dt.timedelta(minutes=3)
    User.objects.filter(pk=user.pk).update(next_digest_at=due)
    user.refresh_from_db()
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])
    user.first_name = "Ada"
    user.save()
    user.refresh_from_db()
    assert user.next_digest_at == due


def due_user(**fields) -> User:
    user = UserFactory(**fields)
    subscription = SubscriptionFactory(owner=user)
    paper = PaperFactory(created_at=timezone.now() - dt.timedelta(hours=2))
    Match.objects.create(subscription=subscription, paper=paper, owner=user, hits=[], score=1)
    User.objects.filter(pk=user.pk).update(next_digest_at=timezone.now() - dt.timedelta(minutes=1))
    return user


def test_due_users_are_claimed_in_chunks_of_ids_with_a_lease(db, settings):
    settings.DIGEST_CHUNK_SIZE = 2
    users = [due_user() for _ in range(5)]
    UserFactory()  # not due
    now = timezone.now()
    chunks = list(claim_due_users(now))
    assert [len(c) for c in chunks] == [2, 2, 1]
    assert sorted(i for c in chunks for i in c) == sorted(u.pk for u in users)
    assert list(claim_due_users(now)) == []  # claimed: the next beat does not re-enqueue
    lease_over = now + dt.timedelta(seconds=settings.DIGEST_BUILD_LEASE_SECONDS + 1)
    assert sum(map(len, claim_due_users(lease_over))) == 5  # a lost chunk comes back


def test_building_moves_the_user_to_the_next_slot_and_is_safe_twice(db):
    user = due_user()
    first = build_for_users([user.pk])
    second = build_for_users([user.pk])
    assert len(first.built) == 1 and second.built == []
    assert Digest.objects.filter(user=user).count() == 1
    user.refresh_from_db()
    assert user.next_digest_at > timezone.now()


def test_a_chunk_gives_each_user_their_own_digest_and_nothing_to_who_must_not_get_mail(db):
    readers = [due_user() for _ in range(3)]
    gone, bounced = due_user(), due_user()
    User.objects.filter(pk=gone.pk).update(unsubscribed_at=timezone.now())
    Suppression.objects.create(email=bounced.email.upper(), reason="bounce")
    report = build_for_users([u.pk for u in readers + [gone, bounced]])
    assert report.skipped == 2
    built = Digest.objects.filter(pk__in=report.built)
    assert sorted(d.user_id for d in built) == sorted(u.pk for u in readers)
    for digest in built:
        owned = Match.objects.filter(owner=digest.user_id).values_list("paper_id", flat=True)
        assert list(digest.items.values_list("paper_id", flat=True)) == list(owned)
    assert sorted(report.delivery_ids) == sorted(d.delivery.pk for d in built)
    assert build_for_users([u.pk for u in readers]).built == []  # the same day again: nothing


def test_one_user_failing_does_not_hold_up_the_rest_of_the_chunk(db, monkeypatch):
    broken, fine = due_user(), due_user()
    write = scheduler.write_digest

    def write_or_fail(plan):
        if plan.digest.user_id == broken.pk:
            raise RuntimeError("bad data")
        return write(plan)

    monkeypatch.setattr(scheduler, "write_digest", write_or_fail)
    report = build_for_users([broken.pk, fine.pk])
    assert [Digest.objects.get(pk=pk).user_id for pk in report.built] == [fine.pk]
    assert report.skipped == 1
    broken.refresh_from_db()
    # Rolled back: its schedule stays where the claim left it, so it is built again later.
    assert broken.next_digest_at <= timezone.now()


def test_a_schedule_changed_while_the_chunk_builds_keeps_its_own_next_slot(db, monkeypatch):
    user = due_user(delivery_hour=7)
    write = scheduler.write_digest

    def write_then_change_the_hour(plan):
        digest = write(plan)
        changed = User.objects.get(pk=user.pk)
        changed.delivery_hour = 10  # saved from another request meanwhile
        changed.save()
        return digest

    monkeypatch.setattr(scheduler, "write_digest", write_then_change_the_hour)
    assert len(build_for_users([user.pk]).built) == 1
    user.refresh_from_db()
    assert user.next_digest_at.astimezone(user.tzinfo).hour == 10


def test_paused_unsubscribed_and_inactive_users_are_not_due(db):
    due_user(frequency="paused")
    due_user(unsubscribed_at=timezone.now())
    due_user(is_active=False)
    assert list(claim_due_users(timezone.now())) == []


def test_a_missed_day_loses_nothing(db):
    user = due_user()
    DigestFactory(
        user=user, date=dt.date(2020, 1, 1), period_end=timezone.now() - dt.timedelta(days=4)
    )
    old = PaperFactory(created_at=timezone.now() - dt.timedelta(days=3))
    Match.objects.create(
        subscription=user.subscriptions.get(), paper=old, owner=user, hits=[], score=1
    )
    Match.objects.filter(paper=old).update(created_at=old.created_at)
    [digest_id] = build_for_users([user.pk]).built
    assert Digest.objects.get(pk=digest_id).items.count() == 2


@pytest.fixture
def eager_celery():
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = False


def test_beat_tick_builds_and_delivers_everyone_due(db, smtp_sink, eager_celery, settings):
    settings.DIGEST_CHUNK_SIZE = 2
    users = [due_user() for _ in range(3)]
    not_due = UserFactory()
    result = tasks.enqueue_due_digests()
    assert result["chunks"] == 2
    assert sorted(env[1][0] for env in smtp_sink.envelopes) == sorted(u.email for u in users)
    assert Delivery.objects.filter(status="sent").count() == 3
    assert not Digest.objects.filter(user=not_due).exists()
    assert tasks.enqueue_due_digests()["chunks"] == 0
    assert len(smtp_sink.messages) == 3


def test_beat_tick_schedules_users_written_without_the_save_signal(db, eager_celery):
    user = UserFactory()
    User.objects.filter(pk=user.pk).update(next_digest_at=None)
    tasks.enqueue_due_digests()
    user.refresh_from_db()
    assert user.next_digest_at is not None
