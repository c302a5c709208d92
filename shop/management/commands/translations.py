"""Rebuild and compile the French catalogue, or (``--check``) fail when it is not complete."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shop import translations


class Command(BaseCommand):
    help = (
        "Rebuild shop/locale/ from the sources with makemessages --no-location and compile it; "
        "with --check, change nothing and fail on a missing, fuzzy or stale translation."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="Change nothing; exit 1 when makemessages would change the catalogue, a "
            "string has no French translation (or a fuzzy one), or a .mo is stale.",
        )

    def handle(self, *args: Any, check: bool = False, **options: Any) -> None:
        if not check:
            translations.refresh()
        problems = translations.makemessages_drift() + translations.catalogue_problems()
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            if check:
                raise CommandError(f"{len(problems)} problem(s) in the catalogue.")
            self.stdout.write(
                f"Catalogue rebuilt; {len(problems)} string(s) still need a French translation."
            )
            return
        self.stdout.write("The French catalogue is complete and up to date.")
