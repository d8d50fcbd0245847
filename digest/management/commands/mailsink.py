import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from digest.mailsink import start_sink


class Command(BaseCommand):
    help = "Run the local SMTP sink; every message lands in MAILBOX_DIR and at /dev/mailbox."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.MAILSINK_HOST)
        parser.add_argument("--port", type=int, default=settings.MAILSINK_PORT)

    def handle(self, *args, host: str, port: int, **options) -> None:
        controller = start_sink(host, port, settings.MAILBOX_DIR)
        self.stdout.write(
            f"Mail sink listening on {host}:{port}, storing in {settings.MAILBOX_DIR}"
        )
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            controller.stop()
