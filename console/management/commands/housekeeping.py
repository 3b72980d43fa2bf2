"""`manage.py housekeeping`: apply the retention rules once, as the periodic task does."""
from __future__ import annotations

from django.core.management.base import BaseCommand

from console.services.retention import housekeeping_run


class Command(BaseCommand):
    help = ("Delete log lines past their function's log retention, invocation rows past "
            "LAMBDA_INVOCATION_RETENTION_DAYS and unpacked code no function or version uses.")

    def handle(self, *args, **options) -> None:
        report = housekeeping_run()
        self.stdout.write(f"housekeeping: removed {report.log_events} log lines, {report.invocations} "
                          f"invocations, {report.code} unused code packages")
