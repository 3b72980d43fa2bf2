"""Issue an access key for scripts: `manage.py create_access_key USERNAME`."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from console.services.access_keys import access_key_create
from console.services.accounts import account_for_user


class Command(BaseCommand):
    help = ("Create an access key for USERNAME (creating the user, without a password, and an account "
            "when missing) and print AWS_ACCESS_KEY_ID=... and AWS_SECRET_ACCESS_KEY=...")

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")

    @transaction.atomic
    def handle(self, *args, username: str, **options) -> None:
        user, _ = get_user_model().objects.get_or_create(username=username)
        if not user.has_usable_password() and not user.password:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        account_for_user(user)
        key, secret = access_key_create(user)
        self.stdout.write(f"AWS_ACCESS_KEY_ID={key.access_key_id}\nAWS_SECRET_ACCESS_KEY={secret}")
