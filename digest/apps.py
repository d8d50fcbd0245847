from django.apps import AppConfig


class DigestConfig(AppConfig):
    name = "digest"
    verbose_name = "Papers and digests"

    def ready(self) -> None:
        from digest import bounces, notices, schedule

        schedule.connect_signals()
        bounces.connect_signals()
        notices.connect_signals()
