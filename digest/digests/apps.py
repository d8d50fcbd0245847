from django.apps import AppConfig


class DigestsConfig(AppConfig):
    name = "digest.digests"
    label = "digests"
    verbose_name = "Digests and deliveries"

    def ready(self) -> None:
        # Signal receivers import models, which are only importable once apps are ready.
        from digest.digests import bounces, notices, schedule

        schedule.connect_signals()
        bounces.connect_signals()
        notices.connect_signals()
