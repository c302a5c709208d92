"""Fill the shop with demo sellers, products and a buyer. Running it again changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test.utils import override_settings
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from catalog.cli import PeopleCommand
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


class Command(PeopleCommand):
    help = gettext_noop(
        "Create demo sellers, products (with real small media files) and a buyer. Idempotent."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help=gettext_noop("Run even with DEBUG off (never on a real shop)."),
        )
        parser.add_argument(
            "--serve",
            nargs="?",
            const="127.0.0.1:8000",
            metavar="ADDRESS",
            help=gettext_noop(
                "Migrate first, then serve the shop (127.0.0.1:8000 unless given): "
                "the quick start in one command. Links point at ADDRESS unless SITE_URL is set."
            ),
        )
        parser.add_argument(
            "--emails",
            action="store_true",
            help=gettext_noop(
                "Send the demo's own emails (receipts, sale notices) through the email "
                "backend (the console by default) instead of only counting them."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                _("The demo creates known passwords; run it with DEBUG=true or --force.")
            )
        missing = demo_media_missing()
        if missing:
            raise CommandError(
                _("Demo media missing from %(folder)s: %(files)s")
                % {"folder": MEDIA_DIR, "files": ", ".join(missing)}
            )
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
                self.stdout.write(
                    _("Serving on %(address)s; Ctrl-C stops the server.") % {"address": serve}
                    + "\n"
                )
                # No autoreloader: it would run this whole command again in a child process.
                call_command("runserver", serve, use_reloader=False)

    def _summary(
        self, built: DemoBuilt, kept: list[mail.EmailMessage], *, site_url: str, emails_sent: bool
    ) -> None:
        product = Product.objects.select_related("seller").get(slug=SHOWCASE_PRODUCT)
        history = Seller.objects.select_related("user").get(slug=HISTORY_SELLER)
        rows = [
            (_("Open the shop"), f"{site_url}/"),
            (_("A product"), f"{site_url}{product.get_absolute_url()}"),
            (_("Log in at"), _("%(url)s as") % {"url": f"{site_url}{reverse('login')}"}),
            (
                "  " + _("the buyer"),
                f"buyer / {BUYER_PASSWORD}  "
                + _("(%(count)d products in My library)") % {"count": len(OWNED_BY_BUYER)},
            ),
            (
                "  " + _("the seller"),
                f"{history.user.email} / {SELLER_PASSWORD}  "
                + _("(%(days)d days of sales: %(url)s)")
                % {"days": HISTORY_DAYS, "url": f"{site_url}/sell/stats/"},
            ),
            ("  " + _("the admin"), f"admin / {ADMIN_PASSWORD}  ({site_url}/admin/)"),
            (
                _("Embed"),
                f"{site_url}{reverse('seo:embed', args=[FOLLOWED_SELLER, EMBEDDED_PRODUCT])}  "
                + _("(oEmbed, Atom feeds and %(url)s too)") % {"url": f"{site_url}/sitemap.xml"},
            ),
            (
                _("Followers"),
                _("%(count)d follow %(url)s (publishing there mails them)")
                % {"count": len(FOLLOWERS), "url": f"{site_url}/@{FOLLOWED_SELLER}/"},
            ),
            (
                _("Background"),
                f"{site_url}/admin/outbox/outboxtask/  "
                + _("(each receipt and notice, sent or waiting)"),
            ),
            (_("Health"), f"{site_url}/readyz  " + _("(database, cache, storage, task queue)")),
            (
                _("Search"),
                f"{site_url}/search/?q=trains  "
                + _("(filters, sorts; tag pages like %(url)s)")
                % {"url": f"{site_url}/tags/ambient/"},
            ),
            (
                "En français",
                f"{site_url}/fr/  " + _("(or the language switcher at the foot of a page)"),
            ),
            (
                _("Seller API"),
                f"{site_url}/api/v1/docs  "
                + _("(tokens at %(url)s as the seller)") % {"url": f"{site_url}/sell/api/"},
            ),
        ]
        if built.campaigns:
            rows.append(
                (
                    _("Fan funding"),
                    f"{site_url}{built.campaigns[0].get_absolute_url()}  "
                    + _("(live; a funded and a missed one too: %(url)s as the seller)")
                    % {"url": f"{site_url}/sell/campaigns/"},
                )
            )
        if built.library_link:
            rows.append(
                (
                    _("Library link"),
                    f"{built.library_link}  "
                    + _("(%(email)s, no password; shown once)") % {"email": BUYER_EMAIL},
                )
            )
        if kept:
            rows.append(
                (
                    _("Emails"),
                    _("%(count)d written by the demo, not printed (--emails prints them)")
                    % {"count": len(kept)},
                )
            )
        elif emails_sent:
            rows.append((_("Emails"), _("the demo's own emails went to the email backend, above")))
        if settings.EMAIL_BACKEND == CONSOLE_EMAIL:
            rows.append(("", _("the emails the shop sends from now on print in this console")))
        width = max(len(label) for label, _text in rows) + 2
        products = sum(len(s.products) for s in SELLERS)
        self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS(
                _("Demo ready: %(sellers)d sellers, %(products)d products (%(new)d new).")
                % {"sellers": len(SELLERS), "products": products, "new": built.created}
            )
        )
        for label, text in rows:
            self.stdout.write(f"  {label:<{width}}{text}")
        self.stdout.write("")
