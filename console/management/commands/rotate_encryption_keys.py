"""`manage.py rotate_encryption_keys`: after putting a new key first in LAMBDA_ENCRYPTION_KEYS."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from console.services.encryption import encryption_keys_rotate


class Command(BaseCommand):
    help = ("Re-encrypt every encrypted value (environment variables, access-key secrets) with the first "
            "key of LAMBDA_ENCRYPTION_KEYS, so the older keys can then be removed from it.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size: int, **options) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        counts = encryption_keys_rotate(batch_size)
        for count in counts:
            self.stdout.write(f"{count.label}: {count.rotated} re-encrypted, {count.current} already current, "
                              f"{count.unreadable} unreadable")
        unreadable = sum(count.unreadable for count in counts)
        if unreadable:
            # Keep the old keys until these are accounted for: dropping them loses the values.
            raise CommandError(f"{unreadable} values are under none of the configured keys; "
                               "add their key to LAMBDA_ENCRYPTION_KEYS and run this again")
        self.stdout.write(self.style.SUCCESS(
            f"{sum(count.rotated for count in counts)} values re-encrypted with the newest key"))
