"""Fill the shop with demo sellers, products and a buyer. Running it again changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings
from django.urls import reverse

from catalog.models import Product, Seller
from shop.demo.build import (
    ADMIN_PASSWORD,
    BUYER_EMAIL,
    BUYER_PASSWORD,
    EMBEDDED_PRODUCT,
    FOLLOWED_SELLER,
    FOLLOWERS,
    HISTORY_DAYS,
    HISTORY_SELLER,
    MEDIA_DIR,
    OWNED_BY_BUYER,
    SELLER_PASSWORD,
    SELLERS,
    DemoBuilt,
    demo_build,
    demo_media_missing,
    served_site_url,
)

CONSOLE_EMAIL = "django.core.mail.backends.console.EmailBackend"
# The product the summary points at first: one the buyer does not own yet.
SHOWCASE_PRODUCT = "recipes-from-a-tiny-kitchen"


@contextmanager
def _quiet(*, emails: bool) -> Iterator[list[mail.EmailMessage]]:
    """Keep the build's emails and per-task log lines off the console.

    The emails are kept in memory (yielded, to be summarised) unless ``emails``
    asks for them to go through the configured backend.
    """
    tasks_logger = logging.getLogger("django_tasks")
    level = tasks_logger.level
    tasks_logger.setLevel(logging.WARNING)
    kept: list[mail.EmailMessage] = []
    try:
        if emails:
            yield kept
            return
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
            outbox: list[mail.EmailMessage] = getattr(mail, "outbox", [])
            mail.outbox = outbox
            before = len(outbox)
            try:
                yield kept
            finally:
                kept.extend(outbox[before:])
    finally:
        tasks_logger.setLevel(level)


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
            "the quick start in one command. Links point at ADDRESS unless SITE_URL is set.",
        )
        parser.add_argument(
            "--emails",
            action="store_true",
            help="Send the demo's own emails (receipts, sale notices) through the email "
            "backend (the console by default) instead of only counting them.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "The demo creates known passwords; run it with DEBUG=true or --force."
            )
        missing = demo_media_missing()
        if missing:
            raise CommandError(f"Demo media missing from {MEDIA_DIR}: {', '.join(missing)}")
        serve = options["serve"]
        site_url = settings.SITE_URL
        if serve and not settings.SITE_URL_EXPLICIT:
            site_url = served_site_url(serve)
        # The override lasts while the server runs (no reloader, same process), so
        # the emails the served shop sends carry the same address as the summary.
        with override_settings(SITE_URL=site_url):
            if serve:
                call_command("migrate", interactive=False, verbosity=0)
            with _quiet(emails=options["emails"]) as kept:
                built = demo_build()
            self._summary(built, kept, site_url=site_url, emails_sent=options["emails"])
            if serve:
                self.stdout.write(f"Serving on {serve}; Ctrl-C stops the server.\n")
                # No autoreloader: it would run this whole command again in a child process.
                call_command("runserver", serve, use_reloader=False)

    def _summary(
        self, built: DemoBuilt, kept: list[mail.EmailMessage], *, site_url: str, emails_sent: bool
    ) -> None:
        product = Product.objects.select_related("seller").get(slug=SHOWCASE_PRODUCT)
        history = Seller.objects.select_related("user").get(slug=HISTORY_SELLER)
        rows = [
            ("Open the shop", f"{site_url}/"),
            ("A product", f"{site_url}{product.get_absolute_url()}"),
            ("Log in at", f"{site_url}{reverse('login')} as"),
            (
                "  the buyer",
                f"buyer / {BUYER_PASSWORD}  ({len(OWNED_BY_BUYER)} products in My library)",
            ),
            (
                "  the seller",
                f"{history.user.email} / {SELLER_PASSWORD}  "
                f"({HISTORY_DAYS} days of sales: {site_url}/sell/stats/)",
            ),
            ("  the admin", f"admin / {ADMIN_PASSWORD}  ({site_url}/admin/)"),
            (
                "Embed",
                f"{site_url}{reverse('seo:embed', args=[FOLLOWED_SELLER, EMBEDDED_PRODUCT])}"
                f"  (oEmbed, Atom feeds and {site_url}/sitemap.xml too)",
            ),
            (
                "Followers",
                f"{len(FOLLOWERS)} follow {site_url}/@{FOLLOWED_SELLER}/ "
                "(publishing there mails them)",
            ),
            (
                "Background",
                f"{site_url}/admin/outbox/outboxtask/  (each receipt and notice, sent or waiting)",
            ),
            ("Health", f"{site_url}/readyz  (database, cache, storage, task queue)"),
            (
                "Search",
                f"{site_url}/search/?q=trains  (filters, sorts; tag pages like "
                f"{site_url}/tags/ambient/)",
            ),
            ("En français", f"{site_url}/fr/  (or the language switcher at the foot of a page)"),
            (
                "Seller API",
                f"{site_url}/api/v1/docs  (tokens at {site_url}/sell/api/ as the seller)",
            ),
        ]
        if built.campaigns:
            rows.append(
                (
                    "Fan funding",
                    f"{site_url}{built.campaigns[0].get_absolute_url()}  (live; a funded and "
                    f"a missed one too: {site_url}/sell/campaigns/ as the seller)",
                )
            )
        if built.library_link:
            rows.append(
                ("Library link", f"{built.library_link}  ({BUYER_EMAIL}, no password; shown once)")
            )
        if kept:
            rows.append(
                ("Emails", f"{len(kept)} written by the demo, not printed (--emails prints them)")
            )
        elif emails_sent:
            rows.append(("Emails", "the demo's own emails went to the email backend, above"))
        if settings.EMAIL_BACKEND == CONSOLE_EMAIL:
            rows.append(("", "the emails the shop sends from now on print in this console"))
        width = max(len(label) for label, _ in rows) + 2
        products = sum(len(s.products) for s in SELLERS)
        self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready: {len(SELLERS)} sellers, {products} products ({built.created} new)."
            )
        )
        for label, text in rows:
            self.stdout.write(f"  {label:<{width}}{text}")
        self.stdout.write("")
