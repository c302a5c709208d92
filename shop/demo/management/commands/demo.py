"""Fill the shop with demo sellers, products and a buyer. Running it again changes nothing."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from catalog.models import Seller
from shop.demo.build import (
    ADMIN_PASSWORD,
    BUYER_PASSWORD,
    HISTORY_DAYS,
    HISTORY_SELLER,
    MEDIA_DIR,
    OWNED_BY_BUYER,
    SELLER_PASSWORD,
    SELLERS,
    demo_build,
    demo_media_missing,
)


class Command(BaseCommand):
    help = "Create demo sellers, products (with real small media files) and a buyer. Idempotent."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Run even with DEBUG off (never on a real shop)."
        )
        parser.add_argument(
            "--serve",
            nargs="?",
            const="127.0.0.1:8000",
            metavar="ADDRESS",
            help="Migrate first, then serve the shop (127.0.0.1:8000 unless given): "
            "the quick start in one command.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "The demo creates known passwords; run it with DEBUG=true or --force."
            )
        missing = demo_media_missing()
        if missing:
            raise CommandError(f"Demo media missing from {MEDIA_DIR}: {', '.join(missing)}")
        if options["serve"]:
            call_command("migrate", interactive=False, verbosity=0)
        built = demo_build()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready: {len(SELLERS)} sellers, "
                f"{sum(len(s.products) for s in SELLERS)} products ({built.created} new)."
            )
        )
        self.stdout.write(f"  Admin:  {settings.SITE_URL}/admin/  (admin / {ADMIN_PASSWORD})")
        self.stdout.write(
            f"  Buyer:  {settings.SITE_URL}/accounts/login/  (buyer / {BUYER_PASSWORD}), "
            f"owns {len(OWNED_BY_BUYER)} products"
        )
        history = Seller.objects.get(slug=HISTORY_SELLER)
        self.stdout.write(
            f"  Seller: {settings.SITE_URL}/sell/stats/  ({history.user.email} / "
            f"{SELLER_PASSWORD}), {HISTORY_DAYS} days of sales on the dashboard"
        )
        if built.library_link:
            self.stdout.write(f"  Buyer's library link: {built.library_link}")
        if options["serve"]:
            # No autoreloader: it would run this whole command again in a child process.
            call_command("runserver", options["serve"], use_reloader=False)
