"""Create the first user, so a newcomer can log in on the first `make run`."""
from __future__ import annotations

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from console.services.accounts import user_create


class Command(BaseCommand):
    help = ("When no user exists, create an admin from DJANGO_SUPERUSER_USERNAME and "
            "DJANGO_SUPERUSER_PASSWORD, or 'admin' with a generated password printed once.")

    def handle(self, *args, **options) -> None:
        if get_user_model().objects.exists():
            return
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME") or "admin"
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        user_create(username, password, superuser=True)
        if generated:
            self.stdout.write(self.style.WARNING(
                f"Created the console user '{username}' with password: {password}\n"
                "This password is shown only once; change it after logging in."))
        else:
            self.stdout.write(f"Created the console user '{username}'.")
