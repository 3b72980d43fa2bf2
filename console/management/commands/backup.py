"""`manage.py backup DIR`: the database, the code store and the secret key, copied while running."""
from __future__ import annotations

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Back up the database, the code store and the secret key into a new directory (docs/OPERATIONS.md)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("directory")

    def handle(self, *args, **options) -> None:
        from console.services.backup import BackupError, backup

        try:
            report = backup(Path(options["directory"]))
        except BackupError as exc:
            raise CommandError(str(exc))
        self.stdout.write(f"backed up to {report.path}: database {report.database_bytes} bytes, "
                          f"{report.code_packages} code packages, secret key {'included' if report.secret_key else 'not in a file'}")
        if os.environ.get("LAMBDA_ENCRYPTION_KEYS") or os.environ.get("SECRET_KEY"):
            self.stdout.write("keep LAMBDA_ENCRYPTION_KEYS / SECRET_KEY with it: environment variables need them")
