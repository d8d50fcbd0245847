from django.apps import AppConfig


class DigestConfig(AppConfig):
    """The project itself: its management commands, the demo, and the migrations that created
    the tables of papers and digests before they moved into apps of their own."""

    name = "digest"
    verbose_name = "Paperboy"
