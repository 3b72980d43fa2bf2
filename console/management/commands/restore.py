"""`manage.py restore DIR`: put a backup made by `manage.py backup` back; the service must be stopped."""
from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Restore the database, the code store and the secret key from a backup (stop make run first)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("directory")

    def handle(self, *args, **options) -> None:
        from console.services.backup import BackupError, restore

        try:
            report = restore(Path(options["directory"]))
        except BackupError as exc:
            raise CommandError(str(exc))
        self.stdout.write(f"restored the backup of {report.created} from {options['directory']}")
