"""`python manage.py bounce_server`: receive bounces and complaints for BOUNCE_DOMAIN by SMTP."""

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from huey.contrib.djhuey import HUEY

from tenant_apps.feedback import receiver


class Command(BaseCommand):
    help = "Receive bounce and complaint messages for BOUNCE_DOMAIN and put them on the queue."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.BOUNCE_SERVER_HOST)
        parser.add_argument("--port", type=int, default=settings.BOUNCE_SERVER_PORT)
        parser.add_argument("--max-bytes", type=int, default=settings.BOUNCE_MAX_MESSAGE_BYTES)
        parser.add_argument("--copy-dir", default=settings.MAIL_CATCHER_DIR or "", help="development: keep copies")

    def handle(self, *args, host, port, max_bytes, copy_dir, **options):
        if HUEY.immediate:
            raise CommandError("bounce_server needs a real queue: HUEY_IMMEDIATE must be off.")
        try:
            controller = receiver.start(host, port, max_bytes=max_bytes, copy_dir=copy_dir or None)
        except OSError as error:
            raise CommandError(f"Cannot listen on {host}:{port}: {error}") from error
        self.stdout.write(f"Bounce receiver for @{settings.BOUNCE_DOMAIN} on {host}:{port} (max {max_bytes} bytes)")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.wait(1):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            controller.stop()
            self.stdout.write(f"Stopped after {controller.handler.accepted} messages.")
