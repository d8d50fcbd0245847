"""The daily run is one named pipeline: beat starts it, tasks call its steps."""

from django.conf import settings

from digest import pipeline, tasks
from digest.celery import app


def test_beat_starts_the_daily_run_with_tasks_that_exist():
    assert app.conf.beat_schedule == pipeline.BEAT_SCHEDULE
    for entry in pipeline.BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks
    intervals = {entry["task"]: entry["schedule"] for entry in pipeline.BEAT_SCHEDULE.values()}
    assert intervals[tasks.ingest_enabled_sources.name] == settings.INGEST_INTERVAL
    assert intervals[tasks.enqueue_due_digests.name] == settings.DIGEST_SCHEDULE_INTERVAL
