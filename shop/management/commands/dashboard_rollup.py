"""Roll the sales dashboard's daily figures forward: run it hourly or nightly (cron, a timer)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.models import Seller
from shop.analytics.rollups import stats_book_roll, stats_books_roll


class Command(BaseCommand):
    help = (
        "Roll up the dashboard's closed days for the shop and every seller. Pages stay exact "
        "without it (they count what is not rolled up live), only slower."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seller", help="Only this seller (slug); the shop's book is skipped.")
        parser.add_argument(
            "--rebuild",
            action="store_true",
            help="Recount every day from the source tables (after data was changed by hand).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["seller"]:
            seller = Seller.objects.filter(slug=options["seller"]).first()
            if seller is None:
                raise CommandError(f"No seller with the slug {options['seller']!r}.")
            book = stats_book_roll(seller=seller, rebuild=options["rebuild"])
            self.stdout.write(
                f"Rolled up {seller.slug} until {book.rolled_until} ({book.timezone})."
            )
            return
        count = stats_books_roll(rebuild=options["rebuild"])
        self.stdout.write(f"Rolled up {count} book{'s' if count != 1 else ''}.")
