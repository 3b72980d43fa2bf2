"""Install the libraries blueprints carry (Pillow for the thumbnail one), once, at setup.

`make run`, `make test` and `make images` run it, so that creating such a function later needs
no network; a failure is reported and leaves the rest of the setup going (the blueprint tries
again when it is used, and says why it cannot be created).
"""
from __future__ import annotations

from django.core.management.base import BaseCommand

from console.errors import LambdaError
from console.services import blueprint_packages, wizard
from console.services.blueprints import BLUEPRINTS


class Command(BaseCommand):
    help = ("Install the pinned packages of the create wizard's blueprints under LAMBDA_PACKAGES_DIR, "
            "and zip the blueprints that carry them.")

    def handle(self, *args, **options) -> None:
        for package in blueprint_packages.PACKAGES.values():
            fresh = not blueprint_packages.installed_tree(package).is_dir()
            try:
                tree = blueprint_packages.ensure(package)
            except LambdaError as exc:
                self.stderr.write(f"warning: {exc.message}")
                continue
            if fresh:
                self.stdout.write(f"{package.name} {package.version}: installed in {tree}")
        for bp in BLUEPRINTS.values():
            if bp.packages:
                try:
                    wizard.blueprint_zip(bp)  # deflated once now rather than in the wizard's request
                except LambdaError as exc:
                    self.stderr.write(f"warning: {exc.message}")
