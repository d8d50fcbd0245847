"""The Celery app. Configuration comes from Django settings under the ``CELERY_`` prefix."""

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digest.settings")

app = Celery("paperboy")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["digest", "subscriptions", "accounts"])


def lower_priority(niceness: int) -> int:
    """Run this process (and the pool processes it forks) at ``niceness`` at least: raising it
    needs no privilege, and a worker started nicer than that (``nice -n 15 celery …``) stays
    so. Returns the niceness now in force."""
    current = os.getpriority(os.PRIO_PROCESS, 0)
    if niceness > current:
        os.setpriority(os.PRIO_PROCESS, 0, niceness)
    return os.getpriority(os.PRIO_PROCESS, 0)


@worker_init.connect
def _lower_worker_priority(**_) -> None:
    from django.conf import settings

    lower_priority(settings.WORKER_NICE)
