"""`manage.py run_recorder`: write queued invocation records to the database until stopped."""
from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand

from executor.recorder import run_forever


class Command(BaseCommand):
    help = "Write the records of synchronous invocations (queued in Redis by the workers) to the database."

    def handle(self, *args, **options) -> None:
        stopping = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stopping.set())
        self.stdout.write("recorder: writing invocation records")
        run_forever(stop=stopping.is_set)
